// Quantizing an already-quantized model is refused before any work, naming its quantization ops.
#include "quant/input_model_check.h"

#include <gtest/gtest.h>

#include "ir/graph.h"
#include "qwac/error.h"

namespace qwac::quant {
namespace {

ir::Model model_with(const std::vector<std::string>& ops) {
  ir::Model m;
  m.opset_imports.push_back({"", 13});
  m.graph = std::make_unique<ir::Graph>();
  ir::Value* v = m.graph->add_value("x");
  v->type.dtype = DType::kFloat32;
  m.graph->add_input(v);
  for (size_t i = 0; i < ops.size(); ++i) {
    ir::Value* out = m.graph->add_value("v" + std::to_string(i));
    m.graph->add_node(ops[i], {v}, {out}, ops[i] + "_" + std::to_string(i), "");
    v = out;
  }
  m.graph->add_output(v);
  return m;
}

TEST(InputModelCheck, FloatModelsPass) { EXPECT_NO_THROW(check_quantizable_input(model_with({"Relu", "Sigmoid"}))); }

TEST(InputModelCheck, QdqModelsAreRefusedNamingTheirOps) {
  try {
    check_quantizable_input(model_with({"QuantizeLinear", "DequantizeLinear", "Relu", "QuantizeLinear"}));
    ADD_FAILURE() << "no exception";
  } catch (const InvalidModel& e) {
    const std::string msg = e.what();
    EXPECT_NE(msg.find("already quantized (1 DequantizeLinear, 2 QuantizeLinear; first: QuantizeLinear "
                       "'QuantizeLinear_0')"),
              std::string::npos)
        << msg;
    EXPECT_NE(msg.find("quantize the FP32 original"), std::string::npos) << msg;
  }
  EXPECT_THROW(check_quantizable_input(model_with({"ConvInteger"})), InvalidModel);
}

// A model the engine rewrote (its int8 ops handed back in, e.g. through a saved plan) is quantized too.
TEST(InputModelCheck, EveryQwacInt8OpMarksAQuantizedModel) {
  for (const char* op : {"QConv", "QGemm", "QAdd", "QMul", "QMatMul", "QLookup", "QLinearPool", "QLayerNorm", "FakeQuantize"}) {
    EXPECT_THROW(check_quantizable_input(model_with({"Relu", op})), InvalidModel) << op;
  }
}

// Found by the fuzz suite: an empty weight reached the range estimator as an internal error.
TEST(InputModelCheck, EmptyWeightsAreRefusedNamingTheNode) {
  ir::Model m = model_with({"Relu"});
  ir::Value* w = m.graph->add_constant("w", Tensor(DType::kFloat32, {16, 0}));
  ir::Value* y = m.graph->add_value("y");
  m.graph->add_node("MatMul", {m.graph->outputs()[0], w}, {y}, "mm", "");
  try {
    check_quantizable_input(m);
    ADD_FAILURE() << "no exception";
  } catch (const InvalidModel& e) {
    EXPECT_NE(std::string(e.what()).find("MatMul 'mm' has an empty weight 'w' float[16,0]"), std::string::npos)
        << e.what();
  }
}

}  // namespace
}  // namespace qwac::quant
