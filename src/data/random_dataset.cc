#include "data/random_dataset.h"

#include <cmath>
#include <type_traits>

#include "data/prng.h"
#include "data/sample_check.h"
#include "qwac/error.h"

namespace qwac::data {

RandomDataset::RandomDataset(std::vector<RandomInputSpec> inputs, int64_t count, uint64_t seed)
    : inputs_(std::move(inputs)), count_(count), seed_(seed) {
  if (inputs_.empty()) throw InvalidArgument("random dataset: no inputs");
  if (count_ < 0) throw InvalidArgument("random dataset: negative sample count " + std::to_string(count_));
  for (const RandomInputSpec& in : inputs_) {
    const std::string what = "random dataset input '" + in.name + "'";
    if (in.name.empty()) throw InvalidArgument("random dataset: an input has an empty name");
    for (int64_t d : in.shape) {
      if (d < 0) throw InvalidArgument(what + ": negative dimension in " + shape_to_string(in.shape));
    }
    if (in.dtype == DType::kString || in.dtype == DType::kFloat16 || in.dtype == DType::kUndefined) {
      throw InvalidArgument(what + ": unsupported dtype " + std::string(dtype_name(in.dtype)));
    }
    if (!std::isfinite(in.low) || !std::isfinite(in.high) || in.low > in.high) {
      throw InvalidArgument(what + ": bad range [" + std::to_string(in.low) + ", " + std::to_string(in.high) + "]");
    }
    const bool integral = !dtype_traits(in.dtype).is_float && in.dtype != DType::kBool;
    if (integral && std::ceil(in.low) > std::floor(in.high)) {
      throw InvalidArgument(what + ": range [" + std::to_string(in.low) + ", " + std::to_string(in.high) +
                            "] holds no integer");
    }
  }
}

Sample RandomDataset::get(int64_t index) const {
  check_index(index, count_, describe());
  Sample s;
  for (size_t k = 0; k < inputs_.size(); ++k) {
    const RandomInputSpec& in = inputs_[k];
    SplitMix64 rng(mix_seed(mix_seed(seed_, static_cast<uint64_t>(index)), k));
    Tensor t(in.dtype, in.shape);
    const int64_t n = t.numel();
    dispatch_dtype(in.dtype, [&](auto tag) {
      using T = decltype(tag);
      T* p = t.data<T>();
      if constexpr (std::is_same_v<T, bool>) {
        for (int64_t i = 0; i < n; ++i) p[i] = (rng.next() >> 63) != 0;
      } else if constexpr (std::is_floating_point_v<T>) {
        for (int64_t i = 0; i < n; ++i) p[i] = static_cast<T>(in.low + (in.high - in.low) * rng.uniform());
      } else {
        const auto lo = static_cast<int64_t>(std::ceil(in.low));
        const auto hi = static_cast<int64_t>(std::floor(in.high));
        const uint64_t span = static_cast<uint64_t>(hi - lo) + 1;
        for (int64_t i = 0; i < n; ++i) p[i] = static_cast<T>(lo + static_cast<int64_t>(rng.below(span)));
      }
    });
    s.inputs.emplace(in.name, std::move(t));
  }
  s.metadata["index"] = std::to_string(index);
  s.metadata["id"] = std::to_string(index);
  check_sample_finite(s, describe(), index);
  return s;
}

std::string RandomDataset::describe() const {
  return "random inputs (" + std::to_string(count_) + " samples, seed " + std::to_string(seed_) + ")";
}

}  // namespace qwac::data
