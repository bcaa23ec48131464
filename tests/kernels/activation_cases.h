// Every activation kind of ir/activation.h with parameters, for the kernel tests that take a fused activation
// (FusedConv, QConv, QGemm, QAdd, the standalone Activation op): a kind added to the table is tested by all of them.
//
// Header-only: tests/CMakeLists.txt links only *_test.cc and test_util.cc.
#pragma once

#include <random>
#include <vector>

#include "ir/activation.h"

namespace qwac::testing {

// One activation per kind (kNone excluded), with non-default parameters where the kind takes some.
inline std::vector<ir::Activation> all_activations() {
  using K = ir::ActivationKind;
  std::vector<ir::Activation> out;
  for (size_t k = 1; k < ir::kActivationKindCount; ++k) {
    ir::Activation a{static_cast<K>(k), 0.f, 0.f};
    switch (a.kind) {
      case K::kLeakyRelu:
        a.alpha = 0.13f;
        break;
      case K::kClip:
        a = {K::kClip, -0.4f, 0.7f};
        break;
      case K::kHardSigmoid:
        a = {K::kHardSigmoid, 0.3f, 0.4f};
        break;
      case K::kSwish:
        a.alpha = 1.f;
        break;
      case K::kElu:
        a.alpha = 0.7f;
        break;
      default:
        break;
    }
    out.push_back(a);
  }
  return out;
}

// A random activation (kNone included), for random kernel problems.
inline ir::Activation random_activation(std::mt19937& rng) {
  const std::vector<ir::Activation> all = all_activations();
  const size_t pick = std::uniform_int_distribution<size_t>(0, all.size())(rng);
  return pick == all.size() ? ir::Activation{} : all[pick];
}

}  // namespace qwac::testing
