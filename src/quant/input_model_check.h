// What quantization requires of its input model, checked at the start of every quantization entry (quantize,
// accuracy control, sensitivity) before any calibration or validation runs.
#pragma once

namespace qwac::ir {
struct Model;
}  // namespace qwac::ir

namespace qwac::quant {

// InvalidModel when the model is already quantized: it holds quantize/dequantize or integer ops (QuantizeLinear,
// DequantizeLinear, QLinearConv, ConvInteger, ... in any domain). Quantizing it again would wrap its float ops in a
// second Q/DQ layer over the first one, which no runtime fuses; the message names the ops and says to quantize
// the FP32 original. Also InvalidModel when a Conv, ConvTranspose, Gemm or MatMul has an empty constant weight.
void check_quantizable_input(const ir::Model& model);

}  // namespace qwac::quant
