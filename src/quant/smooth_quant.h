// SmoothQuant (Xiao et al. 2023; NNCF's first step for model_type TRANSFORMER): activation outliers live in a few
// input channels of a MatMul, and one per-tensor activation scale must cover them, wasting the 8-bit grid on the
// other channels. Per input channel j of the MatMul,
//     s_j = max|X_j|^alpha / max|W_j|^(1 - alpha),   X' = X / s,   W'[j, :] = s_j W[j, :]
// moves the difficulty from the activation to the weights (which are quantized per output channel, so a scaled row
// costs them little). X' W' = X W exactly in real arithmetic.
//
// NNCF inserts a Mul by 1/s before the MatMul and leaves it to OpenVINO to fuse it. In the exported ONNX file such
// a Mul would be one more element-wise pass for ONNX Runtime, so qwac only smooths where 1/s folds into the
// producer of X: a LayerNormalization's scale and bias, or the `Mul(gamma)` (-> `Add(beta)`) that ends a written-out
// LayerNorm, with per-channel [K] constants (the pre-norm transformer blocks of ViT/DeiT feed their qkv and fc1
// MatMuls that way). Every other MatMul input is left alone and listed with the reason (GELU's scalar `* 0.5` before
// the MLP's second MatMul would fold, but as a vector it would stop runtimes fusing the GELU). The rewrite is exact in float, so reverting a MatMul to
// float later (the accuracy search) needs no undo: the float model stays the FP32 model's function.
#pragma once

#include <map>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/shape.h"
#include "ir/graph.h"
#include "qwac/dataset.h"
#include "quant/quantize.h"

namespace qwac::quant {

// One activation tensor to smooth and the MatMul/Gemm nodes that read it (all its consumers).
struct SmoothQuantTarget {
  std::string activation;          // X
  std::string producer;            // the node 1/s folds into
  std::vector<std::string> nodes;  // the MatMul/Gemm consumers whose weights take s
  int64_t channels = 0;            // K, the last axis of X
  int64_t rank = 0;                // rank of X with its batch dimension
};

struct SmoothQuantSkip {
  std::string node;    // the MatMul/Gemm left alone
  std::string reason;
};

struct SmoothQuantPlan {
  std::vector<SmoothQuantTarget> targets;
  std::vector<SmoothQuantSkip> skipped;
};

// The MatMul/Gemm nodes with a constant 2-D float weight, grouped by their activation input, and which of those
// inputs can be smoothed. `model` must carry inferred types (the canonical model).
SmoothQuantPlan plan_smooth_quant(const ir::Model& model);

// Applies the plan with the per-channel absolute maxima of each target's activation (`activation_abs_max`, by
// activation name, `channels` values each) and `alpha` in [0, 1]. Returns the report section: alpha, every
// smoothed activation with its nodes and the range of its scales, every skipped node with its reason.
nlohmann::json apply_smooth_quant(ir::Model& model, const SmoothQuantPlan& plan,
                                  const std::map<std::string, std::vector<float>>& activation_abs_max, double alpha);

// The whole step: plan (on `model`'s types for one sample of `input_shapes`), one statistics pass over
// `calibration` (the calibration subset) on `model` (canonical, FP32), apply. Returns apply_smooth_quant's report.
nlohmann::json smooth_quant(ir::Model& model, const Dataset& calibration, const std::map<std::string, Shape>& input_shapes,
                            double alpha, const RunOptions& options);

}  // namespace qwac::quant
