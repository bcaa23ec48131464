// Seeded random inputs of given names, shapes and dtypes: for benchmarks and smoke runs, where only the shapes
// matter. Sample i depends only on (seed, i), so get() is deterministic in any order and from any thread.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "core/tensor.h"
#include "qwac/dataset.h"

namespace qwac::data {

struct RandomInputSpec {
  std::string name;
  Shape shape;                    // full shape including the leading batch dimension (normally 1)
  DType dtype = DType::kFloat32;  // float/double: uniform in [low, high); integers: uniform in [low, high]; bool
  double low = 0.0;
  double high = 1.0;
};

class RandomDataset final : public Dataset {
 public:
  RandomDataset(std::vector<RandomInputSpec> inputs, int64_t count, uint64_t seed);

  int64_t size() const override { return count_; }
  Sample get(int64_t index) const override;
  std::string describe() const override;

 private:
  std::vector<RandomInputSpec> inputs_;
  int64_t count_;
  uint64_t seed_;
};

}  // namespace qwac::data
