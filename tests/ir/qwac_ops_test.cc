// The definitions of qwac's own ops (ir/qwac_ops.h): every op is registered once with its shape inference, and the
// generic checks the definitions imply name the node, the input and what was expected.
#include "ir/qwac_ops.h"

#include <gtest/gtest.h>

#include "ir/fused_ops.h"
#include "qwac/error.h"

namespace qwac::ir {
namespace {

TEST(QwacOps, EveryDefinitionIsRegisteredInTheQwacDomain) {
  ASSERT_FALSE(qwac_op_defs().empty());
  for (const QwacOpDef& def : qwac_op_defs()) {
    EXPECT_NE(builtin_op_registry().find(std::string(def.op_type), std::string(kQwacDomain)), nullptr) << def.op_type;
    EXPECT_EQ(find_qwac_op_def(def.op_type), &def);
    EXPECT_FALSE(def.doc.empty()) << def.op_type;
    for (const QwacInputDef& in : def.inputs) EXPECT_FALSE(in.types.empty()) << def.op_type << " " << in.name;
  }
  EXPECT_EQ(find_qwac_op_def("NoSuchOp"), nullptr);
  for (std::string_view op :
       {kFusedConvOp, kQConvOp, kQGemmOp, kQAddOp, kQLinearPoolOp, kFakeQuantizeOp, kActivationOp}) {
    EXPECT_NE(find_qwac_op_def(op), nullptr) << op;
  }
}

std::string infer_error(const std::string& op, std::vector<TensorInfo> inputs, const Attributes& attrs = {}) {
  Graph g;
  std::vector<Value*> values;
  for (size_t i = 0; i < inputs.size(); ++i)
    values.push_back(inputs[i].present() ? g.add_value("in" + std::to_string(i)) : nullptr);
  Node* n = g.add_node(op, values, {g.add_value("y")}, "n", std::string(kQwacDomain));
  n->attrs = attrs;
  try {
    infer_node(*n, 13, std::move(inputs));
  } catch (const InvalidModel& e) {
    return e.what();
  }
  return "";
}

TEST(QwacOps, GenericChecksNameTheInputAndTheAllowedTypes) {
  const TensorInfo f{DType::kFloat32, {1, 2, 3, 3}};
  const TensorInfo w_float{DType::kFloat32, {2, 2, 1, 1}};
  const TensorInfo scalar{DType::kFloat32, {}};
  const std::string e = infer_error(std::string(kQConvOp), {f, scalar, {}, w_float, scalar});
  EXPECT_NE(e.find("input W is float, expected int8"), std::string::npos) << e;
  const std::string missing = infer_error(std::string(kQAddOp), {{DType::kUInt8, {2}}});
  EXPECT_NE(missing.find("required input a_scale is missing"), std::string::npos) << missing;
  Attributes bad;
  bad.set("activation", std::string("Softplus"));
  const std::string act = infer_error(std::string(kActivationOp), {f}, bad);
  EXPECT_NE(act.find("activation 'Softplus'"), std::string::npos) << act;
  const std::string extra = infer_error(std::string(kActivationOp), {f, f}, bad);
  EXPECT_NE(extra.find("takes at most 1"), std::string::npos) << extra;
}

}  // namespace
}  // namespace qwac::ir
