#include "quant/precision_ladder.h"

#include "core/json_options.h"
#include "quant/quant_params.h"
#include "qwac/error.h"

namespace qwac::quant {
namespace {

void check_bits(int bits, const std::string& path) {
  if (bits != 0 && bits != 8 && bits != 16) {
    throw InvalidConfig(path + ": " + std::to_string(bits) + " bits (expected 8 or 16; 0 = unchanged)");
  }
}

}  // namespace

std::vector<PrecisionRung> parse_precision_ladder(const nlohmann::json& j, const std::string& where) {
  if (!j.is_array()) {
    throw InvalidConfig(where + ": expected an array of {\"name\", \"weights_bits\", \"activations_bits\"}");
  }
  std::vector<PrecisionRung> ladder;
  for (size_t i = 0; i < j.size(); ++i) {
    const std::string at = where + "[" + std::to_string(i) + "]";
    JsonOptions o(j[i], at);
    PrecisionRung r;
    o.require("name", r.name);
    o.read("weights_bits", r.weight_bits);
    o.read("activations_bits", r.activation_bits);
    o.finish();
    check_bits(r.weight_bits, o.path("weights_bits"));
    check_bits(r.activation_bits, o.path("activations_bits"));
    if (r.weight_bits == 0 && r.activation_bits == 0) {
      throw InvalidConfig(at + ": rung \"" + r.name + "\" changes nothing (give weights_bits and/or activations_bits)");
    }
    for (const PrecisionRung& other : ladder) {
      if (other.name == r.name) throw InvalidConfig(at + ": rung name \"" + r.name + "\" is used twice");
    }
    ladder.push_back(std::move(r));
  }
  return ladder;
}

void attach_precision_ladder(QuantizerSet& set, const std::vector<PrecisionRung>& ladder) {
  for (Quantizer& q : set.quantizers) {
    q.rungs.clear();
    q.rung = 0;
    if (!q.params || ladder.empty()) continue;
    q.rungs.push_back({q.spec, *q.params});
    for (const PrecisionRung& r : ladder) {
      const int bits = q.kind == QuantizerKind::kWeight ? r.weight_bits : r.activation_bits;
      QuantizerRung rung{q.spec, *q.params};
      if (bits != 0 && bits != q.spec.bits) {
        rung.spec.bits = bits;
        rung.params = compute_quant_params(rung.spec, q.params->range_min, q.params->range_max, q.name);
      }
      q.rungs.push_back(std::move(rung));
    }
  }
}

}  // namespace qwac::quant
