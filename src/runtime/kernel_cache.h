// Kernels kept across plans: a node compiled once (oneDNN primitive created, weights reordered) is not compiled
// again by a later plan in which it reads the same inputs. The accuracy search compiles dozens of candidate models
// that differ from each other in a few groups of nodes: with a cache, a candidate compiles only the nodes it
// changed (and their first consumers, whose input layout may differ).
//
// Sharing rule: a kernel's run() is not reentrant (it binds memory to its primitive), so one cache serves engines
// that run one at a time — the engines of one evaluation stream — never engines running concurrently on different
// threads. Constant folding results are cached too (the dequantized weights of a QDQ model in simulation).
//
// Memory: entries hold packed weights, so the cache keeps at most `capacity` kernels and drops the least recently
// used beyond that (a plan still holding a dropped kernel keeps it alive until the plan goes).
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "core/tensor.h"
#include "kernels/kernel.h"

namespace qwac::runtime {

struct CachedKernel {
  std::shared_ptr<kernels::Kernel> kernel;
  std::string impl;
  std::vector<std::string> declines;
  bool accepts_blocked_inputs = false;
};

class KernelCache {
 public:
  explicit KernelCache(size_t capacity = 4096) : capacity_(capacity) {}

  // The key of a node in context: its name and signature (runtime/node_signature.h), opset, every input's dtype,
  // shape, constant digest and memory format, the thread count and the registry (oneDNN or reference).
  static std::string key(const ir::Node& node, int64_t opset, const std::vector<ir::TensorInfo>& inputs,
                         const std::vector<kernels::BlockedFormatPtr>& formats, int num_threads, bool use_dnnl);

  std::shared_ptr<const CachedKernel> find_kernel(const std::string& key);
  void add_kernel(const std::string& key, CachedKernel entry);
  // Outputs of a node folded at compile time.
  std::optional<std::vector<Tensor>> find_folded(const std::string& key);
  void add_folded(const std::string& key, std::vector<Tensor> outputs);

  int64_t hits() const;
  int64_t misses() const;
  size_t size() const;

 private:
  template <typename T>
  struct Entry {
    T value;
    uint64_t used = 0;  // tick of the last find or add
  };
  template <typename T>
  void trim(std::map<std::string, Entry<T>>& entries);

  mutable std::mutex mutex_;
  size_t capacity_;
  uint64_t tick_ = 0;
  std::map<std::string, Entry<std::shared_ptr<const CachedKernel>>> kernels_;
  std::map<std::string, Entry<std::vector<Tensor>>> folded_;
  int64_t hits_ = 0, misses_ = 0;
};

}  // namespace qwac::runtime
