// A tiny seeded generator whose output is fixed by its definition (splitmix64), so sample selection and random
// datasets give the same numbers on every platform and standard library (std:: distributions do not).
#pragma once

#include <cstdint>

namespace qwac::data {

class SplitMix64 {
 public:
  explicit SplitMix64(uint64_t seed) : state_(seed) {}

  uint64_t next() {
    uint64_t z = (state_ += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
  }

  // Uniform in [0, bound) without modulo bias (rejection of the short tail); bound must be > 0.
  uint64_t below(uint64_t bound) {
    const uint64_t threshold = (0 - bound) % bound;  // = 2^64 mod bound
    for (;;) {
      const uint64_t r = next();
      if (r >= threshold) return r % bound;
    }
  }

  // Uniform double in [0, 1) from the top 53 bits.
  double uniform() { return static_cast<double>(next() >> 11) * 0x1.0p-53; }

 private:
  uint64_t state_;
};

// Mixes a dataset seed with a sample index so sample i's randomness does not depend on which samples came before
// (random access from several threads stays deterministic).
inline uint64_t mix_seed(uint64_t seed, uint64_t index) {
  SplitMix64 g(seed ^ (index * 0xD1B54A32D192ED03ull));
  return g.next();
}

}  // namespace qwac::data
