// Checks made on a ModelProto before ONNX's shape inference or qwac's import read it, and initializer sizes checked
// against their bytes before allocating.
#include "onnx/model_check.h"

#include <gtest/gtest.h>
#include <onnx/onnx_pb.h>

#include <string>

#include "core/resource_limits.h"
#include "onnx/model_io.h"
#include "onnx/opset_upgrade.h"
#include "qwac/error.h"

namespace qwac::onnxio {
namespace {

// x [1,1,8,8] -> Conv(w [2,1,3,3], strides) -> y, at `opset`.
onnx::ModelProto conv_model(int64_t opset, int64_t stride) {
  onnx::ModelProto m;
  m.set_ir_version(opset < 7 ? 3 : 7);
  auto* imp = m.add_opset_import();
  imp->set_domain("");
  imp->set_version(opset);
  onnx::GraphProto* g = m.mutable_graph();
  g->set_name("g");
  auto add_value = [](onnx::ValueInfoProto* v, const char* name, std::initializer_list<int64_t> dims) {
    v->set_name(name);
    auto* t = v->mutable_type()->mutable_tensor_type();
    t->set_elem_type(onnx::TensorProto::FLOAT);
    for (int64_t d : dims) t->mutable_shape()->add_dim()->set_dim_value(d);
  };
  add_value(g->add_input(), "x", {1, 1, 8, 8});
  add_value(g->add_output(), "y", {1, 2, 8, 8});
  onnx::TensorProto* w = g->add_initializer();
  w->set_name("w");
  w->set_data_type(onnx::TensorProto::FLOAT);
  for (int64_t d : {2, 1, 3, 3}) w->add_dims(d);
  w->set_raw_data(std::string(2 * 9 * 4, '\0'));
  onnx::NodeProto* n = g->add_node();
  n->set_op_type("Conv");
  n->set_name("conv");
  n->add_input("x");
  n->add_input("w");
  n->add_output("y");
  onnx::AttributeProto* a = n->add_attribute();
  a->set_name("strides");
  a->set_type(onnx::AttributeProto::INTS);
  a->add_ints(stride);
  a->add_ints(stride);
  return m;
}

template <typename F>
std::string invalid_model(F&& f) {
  try {
    f();
  } catch (const InvalidModel& e) {
    return e.what();
  }
  ADD_FAILURE() << "no InvalidModel";
  return "";
}

// ONNX's shape inference divides by the stride (SIGFPE); qwac refuses the model at import, before ONNX's converter
// runs for opsets < 7. The quantize path's opset upgrade uses qwac's own adapters, which never call ONNX's shape
// inference: it leaves attributes it does not adapt untouched instead of crashing on them.
TEST(ModelCheck, ZeroStridesAreRefusedBeforeOnnxShapeInference) {
  for (int64_t opset : {13, 11, 6}) {
    const std::string msg = invalid_model([&] { model_from_proto(conv_model(opset, 0), ""); });
    EXPECT_NE(msg.find("Conv 'conv' attribute 'strides' holds 0; expected values >= 1"), std::string::npos) << msg;
  }
  ir::Model bad = model_from_proto(conv_model(11, 1), "");
  for (ir::Node* n : bad.graph->nodes()) n->attrs.set("strides", std::vector<int64_t>{0, 0});
  upgrade_opset(bad, 13);
  ASSERT_EQ(bad.opset(""), 13);
  for (const ir::Node* n : bad.graph->nodes()) {
    EXPECT_EQ(n->attrs.get_ints("strides"), (std::vector<int64_t>{0, 0}));
  }
}

TEST(ModelCheck, DuplicateOpsetImportsAndMissingOutputsAreRefused) {
  onnx::ModelProto dup = conv_model(13, 1);
  auto* imp = dup.add_opset_import();
  imp->set_domain("ai.onnx");
  imp->set_version(11);
  EXPECT_NE(invalid_model([&] { check_model_proto(dup); }).find("twice in opset_import (versions 13 and 11)"),
            std::string::npos);
  onnx::ModelProto none = conv_model(13, 1);
  none.mutable_graph()->clear_output();
  EXPECT_NE(invalid_model([&] { check_model_proto(none); }).find("declares no outputs"), std::string::npos);
}

// Found by the libFuzzer campaign: ONNX's version converter (run on opsets < 7 at import) dereferences a null value
// for a graph output that nothing defines.
TEST(ModelCheck, UndefinedTensorsAreRefusedBeforeTheVersionConverter) {
  onnx::ModelProto m = conv_model(6, 1);
  m.mutable_graph()->mutable_output(0)->set_name("\t");
  std::string msg = invalid_model([&] { model_from_proto(m, ""); });
  EXPECT_NE(msg.find("graph output '\t' is neither a graph input"), std::string::npos) << msg;
  m = conv_model(6, 1);
  m.mutable_graph()->mutable_node(0)->set_input(1, "nowhere");
  msg = invalid_model([&] { model_from_proto(m, ""); });
  EXPECT_NE(msg.find("Conv 'conv' input 'nowhere'"), std::string::npos) << msg;
}

// An initializer declaring 2^40 elements over a few bytes is refused from its header, not by trying to allocate.
TEST(ModelCheck, InitializerSizesAreCheckedAgainstTheirBytesBeforeAllocating) {
  onnx::ModelProto m = conv_model(13, 1);
  onnx::TensorProto* w = m.mutable_graph()->mutable_initializer(0);
  w->set_dims(0, int64_t{1} << 40);
  std::string msg = invalid_model([&] { model_from_proto(m, ""); });
  EXPECT_NE(msg.find("but its raw_data holds 72 bytes"), std::string::npos) << msg;
  w->clear_raw_data();
  msg = invalid_model([&] { model_from_proto(m, ""); });
  EXPECT_NE(msg.find("typed data field holds 0 values"), std::string::npos) << msg;
  // Consistent but beyond the memory budget.
  w->set_dims(0, 2);
  w->set_raw_data(std::string(72, '\0'));
  set_memory_budget(64);
  msg = invalid_model([&] { model_from_proto(m, ""); });
  set_memory_budget(0);
  EXPECT_NE(msg.find("memory budget"), std::string::npos) << msg;
}

}  // namespace
}  // namespace qwac::onnxio
