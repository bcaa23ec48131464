// The precision ladder: parsing (every bad value names its JSON path), rungs computed from the preset's ranges,
// switching rungs, and the target devices' built-in ladders.
#include "quant/precision_ladder.h"

#include <gtest/gtest.h>

#include "quant/hw_config.h"
#include "quant/quant_params.h"
#include "qwac/error.h"

namespace qwac::quant {
namespace {

using nlohmann::json;

void expect_invalid(const json& j, const std::string& fragment) {
  try {
    parse_precision_ladder(j, "params.precision_ladder");
    ADD_FAILURE() << "accepted " << j.dump();
  } catch (const InvalidConfig& e) {
    EXPECT_NE(std::string(e.what()).find(fragment), std::string::npos) << e.what();
  }
}

TEST(PrecisionLadder, ParsesRungsInOrder) {
  const auto ladder = parse_precision_ladder(
      json::parse(R"([{"name": "INT16 activations", "activations_bits": 16}, {"name": "INT16", "weights_bits": 16,
                      "activations_bits": 16}])"),
      "p");
  ASSERT_EQ(ladder.size(), 2u);
  EXPECT_EQ(ladder[0], (PrecisionRung{"INT16 activations", 0, 16}));
  EXPECT_EQ(ladder[1], (PrecisionRung{"INT16", 16, 16}));
  EXPECT_TRUE(parse_precision_ladder(json::array(), "p").empty());
}

TEST(PrecisionLadder, RejectsBadRungs) {
  expect_invalid(json::object(), "expected an array");
  expect_invalid(json::parse(R"([{"weights_bits": 16}])"), "params.precision_ladder[0].name");
  expect_invalid(json::parse(R"([{"name": "x", "weights_bits": 4}])"), "params.precision_ladder[0].weights_bits: 4 bits");
  expect_invalid(json::parse(R"([{"name": "x"}])"), "changes nothing");
  expect_invalid(json::parse(R"([{"name": "x", "weights_bits": 16, "bits": 16}])"), "bits");
  expect_invalid(json::parse(R"([{"name": "x", "weights_bits": 16}, {"name": "x", "activations_bits": 16}])"),
                 "used twice");
}

Quantizer weight_quantizer() {
  Quantizer q;
  q.id = 0;
  q.kind = QuantizerKind::kWeight;
  q.name = "w";
  q.spec.granularity = Granularity::kPerChannel;
  q.spec.axis = 0;
  q.spec.narrow_range = true;
  q.params = compute_quant_params(q.spec, {-1.27f, -0.5f}, {0.635f, 2.54f}, "w");
  return q;
}

TEST(PrecisionLadder, RungsKeepTheRangeAndChangeTheBits) {
  QuantizerSet set;
  set.quantizers.push_back(weight_quantizer());
  Quantizer a;
  a.id = 1;
  a.kind = QuantizerKind::kActivation;
  a.spec.mode = QuantMode::kAsymmetric;
  a.params = compute_quant_params(a.spec, {-1.f}, {3.f}, "a");
  set.quantizers.push_back(a);
  attach_precision_ladder(set, {{"INT16 weights", 16, 0}, {"INT16", 16, 16}});
  const Quantizer& w = set.at(0);
  ASSERT_EQ(w.rungs.size(), 3u);
  EXPECT_EQ(w.rung, 0);
  EXPECT_EQ(w.rungs[1].params.dtype, DType::kInt16);
  EXPECT_EQ(w.rungs[1].params.qmin, -32767);
  EXPECT_FLOAT_EQ(w.rungs[1].params.scale[0], 1.27f / 32767.f);
  EXPECT_FLOAT_EQ(w.rungs[1].params.scale[1], 2.54f / 32767.f);
  EXPECT_EQ(w.rungs[1].params.axis, 0);
  // The activation keeps 8 bits on the weights-only rung and becomes uint16 (asymmetric) on the next one.
  const Quantizer& act = set.at(1);
  EXPECT_EQ(act.rungs[1].params.dtype, DType::kUInt8);
  EXPECT_EQ(act.rungs[2].params.dtype, DType::kUInt16);
  EXPECT_FLOAT_EQ(act.rungs[2].params.scale[0], 4.f / 65535.f);

  set.at(0).set_rung(2);
  EXPECT_EQ(set.at(0).params->dtype, DType::kInt16);
  EXPECT_EQ(set.at(0).spec.bits, 16);
  set.at(0).set_rung(0);
  EXPECT_EQ(set.at(0).params->dtype, DType::kInt8);
  EXPECT_EQ(set.at(0).spec.bits, 8);
  EXPECT_THROW(set.at(0).set_rung(3), InternalError);
}

TEST(PrecisionLadder, NoLadderMeansNoRungs) {
  QuantizerSet set;
  set.quantizers.push_back(weight_quantizer());
  attach_precision_ladder(set, {});
  EXPECT_TRUE(set.at(0).rungs.empty());
}

TEST(PrecisionLadder, GnaRaisesWeightsToInt16OtherDevicesGoStraightToFloat) {
  EXPECT_EQ(hw_config_for("GNA").precision_ladder, (std::vector<PrecisionRung>{{"INT16", 16, 0}}));
  for (const char* device : {"ANY", "CPU", "GPU", "NPU"}) {
    EXPECT_TRUE(hw_config_for(device).precision_ladder.empty()) << device;
  }
}

}  // namespace
}  // namespace qwac::quant
