// The one driver of the QDQ rule table (passes/qdq/qdq_rules.h): rewrites QDQ patterns into ops that compute on
// 8-bit tensors (QConv, QGemm, QAdd, QLinearPool, and ONNX data movement on integers), which the int8 kernels
// execute. Enabled by EngineOptions::int8 (passes::engine_int8_passes).
//
// Each rule is one sweep over the graph in topological order: its selector either returns a node group, which its
// action rewrites, or declines. A decline with a reason becomes a PassNote ("not run in int8: ..."), unless a later
// rule rewrites the node (a MaxPool requantized with other parameters is no exact data movement, but a
// QLinearPool); one note per node, the first reason. Anything not rewritten runs in float, as the QDQ graph says.
// Must run before FuseConvActivation (which would take the Convs) and FuseQuantizeDequantize (which would take the
// Q -> DQ pairs feeding them).
#pragma once

#include <string>
#include <vector>

#include "passes/pass.h"

namespace qwac::passes {

class QdqFusion : public Pass {
 public:
  // Every rule of the table.
  QdqFusion();
  // The rules of the listed families only, under another pass name (the historical passes below, for tests).
  QdqFusion(std::string name, std::vector<std::string> families);
  std::string name() const override { return name_; }
  bool run(ir::Model& model) override;

 private:
  std::string name_;
  std::vector<std::string> families_;  // empty: all
};

// One family each: data movement and pooling on integers, Conv, Add, Gemm/MatMul.
class FuseQdqInt8Ops final : public QdqFusion {
 public:
  FuseQdqInt8Ops() : QdqFusion("fuse_qdq_int8_ops", {"int8_ops"}) {}
};
class FuseQdqConv final : public QdqFusion {
 public:
  FuseQdqConv() : QdqFusion("fuse_qdq_conv", {"conv"}) {}
};
class FuseQdqAdd final : public QdqFusion {
 public:
  FuseQdqAdd() : QdqFusion("fuse_qdq_add", {"add"}) {}
};
class FuseQdqGemm final : public QdqFusion {
 public:
  FuseQdqGemm() : QdqFusion("fuse_qdq_gemm", {"gemm"}) {}
};

}  // namespace qwac::passes
