// Quantized weights shared between the models built from one quantization state. The accuracy search builds a
// QDQ model per candidate (dozens per ranking round), and every candidate quantizes the same weights with the same
// parameters except in the few groups it reverts: quantizing them again cost ~6 % of a mobilenetv3s search and each
// copy stayed resident as long as its model (40 MB of a 190 MB heap peak). With a cache the candidates share one
// integer tensor per (weight, parameters), and the kernel cache's digests see the same bytes.
#pragma once

#include <cstdint>
#include <map>
#include <mutex>
#include <string>

#include "qwac/tensor.h"
#include "quant/quantizer_set.h"

namespace qwac::quant {

class QuantizedWeightCache {
 public:
  // quantize_tensor(weight, p), computed once per (weight storage, parameters). Thread-safe. The cache keeps a
  // reference to `weight` (its storage cannot be freed and reused by another tensor while the cache lives), so
  // it is keyed by address; `weight` must not be modified afterwards (model constants are immutable).
  Tensor quantize(const Tensor& weight, const QuantParams& p);
  size_t size() const;
  int64_t hits() const;

 private:
  struct Entry {
    Tensor source;     // keeps the address unique
    Tensor quantized;
  };
  mutable std::mutex mutex_;
  std::map<std::string, Entry> entries_;
  int64_t hits_ = 0;
};

}  // namespace qwac::quant
