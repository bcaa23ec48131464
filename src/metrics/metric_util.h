// Helpers every metric implementation shares: choosing an output, checking batch sizes, reading a tensor of any
// numeric dtype without copying, and keeping per-sample values with the "last batch" / "since reset" split.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "core/dtype.h"
#include "core/tensor.h"
#include "qwac/error.h"
#include "qwac/metric.h"

namespace qwac::metrics {

// Which model output a metric reads: by name when `name` is set, else by position `index` (0 = first output).
struct OutputRef {
  std::string name;
  int64_t index = 0;
  std::string describe() const;  // "output 'prob'" or "output #0"
};

// Position of `ref` in `outputs`; DataError naming the metric, the output and the available outputs.
size_t resolve_output(const ModelOutputs& outputs, const OutputRef& ref, const std::string& metric_name);

// DataError unless `t` has rank >= 1 and dim 0 == batch.
void check_batch_dim(const Tensor& t, size_t batch, const std::string& metric_name, const std::string& what);

// DataError naming the metric when the batch is empty (value() of an empty batch is undefined).
void check_nonempty_batch(size_t batch, const std::string& metric_name);

// Calls fn(const T* data) with the tensor's elements typed by its dtype; DataError for dtypes metrics cannot read
// (string, float16 — the engine produces float32 outputs, so float16 here means a caller bug).
template <typename Fn>
void visit_elements(const Tensor& t, const std::string& what, Fn&& fn) {
  if (t.empty() || dtype_size(t.dtype()) == 0 || t.dtype() == DType::kFloat16)
    throw DataError(what + ": cannot read elements of dtype '" + std::string(dtype_name(t.dtype())) +
                    "' (expected a numeric tensor)");
  dispatch_dtype(t.dtype(), [&](auto tag) {
    using T = decltype(tag);
    fn(t.data<T>());
  });
}

// All elements of `t` converted to double (for the small tensors of detection/F1 outputs).
std::vector<double> tensor_values(const Tensor& t, const std::string& what);

// {"direction": "higher-better" | "higher-worse", "type": type}: the POT attributes.
std::map<std::string, std::string> metric_attributes(bool higher_better, const std::string& type);

// Per-sample values in update order, remembering where the last batch starts.
class SampleValues {
 public:
  void begin_batch() { last_begin_ = values_.size(); }
  void add(double v) { values_.push_back(v); }
  void reset() {
    values_.clear();
    last_begin_ = 0;
  }
  // Means; DataError naming the metric when there is no sample.
  double last_batch_mean(const std::string& metric_name) const;
  double mean(const std::string& metric_name) const;
  const std::vector<double>& values() const { return values_; }
  size_t last_begin() const { return last_begin_; }

 private:
  std::vector<double> values_;
  size_t last_begin_ = 0;
};

// DataError "<metric>: no samples since reset()" (shared wording for value()/avg_value() on nothing).
[[noreturn]] void throw_no_samples(const std::string& metric_name);

}  // namespace qwac::metrics
