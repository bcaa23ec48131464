#include "quant/quantized_weight_cache.h"

#include <cstring>

#include "quant/quant_params.h"

namespace qwac::quant {
namespace {

template <typename T>
void append_bytes(std::string& k, const std::vector<T>& v) {
  k += std::to_string(v.size()) + ":";
  k.append(reinterpret_cast<const char*>(v.data()), v.size() * sizeof(T));
}

// Everything quantize_tensor reads: the weight's identity and layout and the parameters bit for bit.
std::string key_of(const Tensor& w, const QuantParams& p) {
  std::string k;
  const auto address = reinterpret_cast<uintptr_t>(w.raw());
  k.append(reinterpret_cast<const char*>(&address), sizeof address);
  k += std::string(dtype_name(w.dtype())) + shape_to_string(w.shape()) + "|" + std::string(dtype_name(p.dtype)) + "|" +
       std::to_string(p.axis) + "|" + std::to_string(p.qmin) + "|" + std::to_string(p.qmax) + "|";
  append_bytes(k, p.scale);
  append_bytes(k, p.zero_point);
  return k;
}

}  // namespace

Tensor QuantizedWeightCache::quantize(const Tensor& weight, const QuantParams& p) {
  if (weight.raw() == nullptr || !weight.owns_storage()) return quantize_tensor(weight, p);  // a view: no identity
  const std::string k = key_of(weight, p);
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (auto it = entries_.find(k); it != entries_.end()) {
      ++hits_;
      return it->second.quantized;
    }
  }
  Tensor q = quantize_tensor(weight, p);  // outside the lock: builds run on several threads
  std::lock_guard<std::mutex> lock(mutex_);
  auto [it, inserted] = entries_.try_emplace(k, Entry{weight, q});
  if (!inserted) ++hits_;
  return it->second.quantized;
}

size_t QuantizedWeightCache::size() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return entries_.size();
}

int64_t QuantizedWeightCache::hits() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return hits_;
}

}  // namespace qwac::quant
