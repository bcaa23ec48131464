// Bias correction: quantizing a layer's weights shifts the mean of its outputs; the bias absorbs that shift so the
// next layer sees the same mean as in FP32 (the seeds' FastBiasCorrection / BiasCorrection).
//
// Fast (default): per output channel, shift = mean over positions of op(W - dequant(quant(W)), E[x]), where E[x] is
// the element-wise mean of the layer's FP32 input over the calibration samples (collected in the statistics pass).
// Conv, ConvTranspose and Gemm are linear in x (zero padding included), so this is exactly the expected output
// change caused by the weight error for FP32 inputs; NNCF/POT instead run the quantized layer on a per-channel mean
// blob and threshold the result because it is noisy. Layers without a bias get one.
//
// Full: layer by layer in topological order, shift = E_fp32[y] - E_quantized[y] measured on real samples with the
// quantized model (every quantizer active, earlier layers already corrected), so it also absorbs the mean error of
// activation quantization and of everything upstream. It costs one pass over its subset per corrected layer.
#pragma once

#include <functional>
#include <map>
#include <string>
#include <vector>

#include "core/logger.h"
#include "core/tensor.h"
#include "ir/graph.h"
#include "qwac/dataset.h"
#include "quant/quantize.h"
#include "quant/quantizer_set.h"

namespace qwac::quant {

struct BiasTarget {
  std::string node;       // Conv / ConvTranspose / Gemm with a quantized (enabled) weight
  std::string input;      // its data input (value name): the tensor whose mean fast correction needs
  std::string output;     // its output (value name)
  int weight_quantizer = -1;
};

// Ops whose bias is corrected: weight quantized with parameters, float data input and output.
std::vector<BiasTarget> bias_targets(const ir::Model& canonical, const QuantizerSet& set);

// New bias per target node (original + shift; created when the op had none).
std::map<std::string, Tensor> fast_bias_correction(const ir::Model& canonical, const QuantizerSet& set,
                                                   const std::vector<BiasTarget>& targets,
                                                   const std::map<std::string, Tensor>& input_means,
                                                   bool use_dnnl, Logger& logger);

// `build_quantized(biases)` materializes the quantized model with the given corrected biases.
std::map<std::string, Tensor> full_bias_correction(
    const ir::Model& canonical, const std::vector<BiasTarget>& targets, const Dataset& subset,
    const std::function<ir::Model(const std::map<std::string, Tensor>&)>& build_quantized, const RunOptions& options);

// Copy of `canonical` with the biases replaced (a missing bias input is added).
ir::Model with_biases(const ir::Model& canonical, const std::map<std::string, Tensor>& biases);

}  // namespace qwac::quant
