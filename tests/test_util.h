// Helpers shared by the test suites.
#pragma once

#include <gtest/gtest.h>

#include <cstdint>
#include <random>
#include <string>

#include "core/tensor.h"

namespace qwac::testing {

// Path of ../shared (set by CMake) and of a file below it.
std::string shared_dir();
std::string shared_path(const std::string& relative);
bool shared_available();

// Skips the current test with a clear message when ../shared is absent.
#define QWAC_REQUIRE_SHARED()                                                                          \
  do {                                                                                                 \
    if (!::qwac::testing::shared_available())                                                          \
      GTEST_SKIP() << "../shared is absent (" << ::qwac::testing::shared_dir()                         \
                   << "): end-to-end data not available, skipping";                                    \
  } while (0)

// Seeded uniform random float tensor in [lo, hi).
Tensor random_tensor(const Shape& shape, std::mt19937& rng, float lo = -1.f, float hi = 1.f);

// Max |a-b| / (atol + rtol*|b|) style comparison; returns "" when close, else a description of the worst element.
std::string compare_tensors(const Tensor& actual, const Tensor& expected, double rtol, double atol);

// Reads a whole file as bytes.
std::string read_file_bytes(const std::string& path);

}  // namespace qwac::testing
