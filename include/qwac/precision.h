// qwac public API: a rung of the accuracy search's precision ladder (see AccuracyControlParams::precision_ladder).
#pragma once

#include <string>

namespace qwac {

// What a harmful group becomes before it goes back to float, e.g. {"INT16", 16, 0}: 16-bit weights, activations
// unchanged (GNA's ladder). Bits 0 = that kind keeps the preset's bits.
struct PrecisionRung {
  std::string name;
  int weight_bits = 0;
  int activation_bits = 0;
  bool operator==(const PrecisionRung&) const = default;
};

}  // namespace qwac
