// Placement: which tensors of a canonical model get a quantizer, per the target-device config and preset; then
// groups (QuantizerSet::build_groups). See quantizer_set.h for the source/edge model.
//
// For every node whose op type the config lists as quantizable (and that the ignored scope does not exclude), each
// listed input is traced up through quantize-agnostic ops to its sources (outputs of non-agnostic ops, graph
// inputs or constants). Float tensors only (Value::type.dtype must be set: canonicalize fills it). A constant
// weight input becomes a weight quantizer (per-channel along the op's output-channel axis when allowed); everything
// else an activation quantizer. Sources that meet in one Concat/agnostic op share one quantizer (unified scales).
// Ops that qualify but get no quantizer are listed in QuantizerSet::float_ops with the reason.
//
// Fusions (HwConfig::fusions, filtered by the export profile): an activation pattern (Relu, x*HardSigmoid(x)...)
// that the runtime executes fused with the op producing its input gets no quantizer inside; its ops are not
// quantized as ops of their own (listed in float_ops as fused).
//
// Export profile (options.profile, nullptr = the device's own semantics): its op list replaces the device's, and with
// output_quantizers every quantized op whose QuantizableOp::output asks for it also gets a quantizer on its output
// (after an honoured activation fusion, e.g. after Conv+Relu), read by every consumer (through agnostic ops): ONNX
// Runtime fuses an op only as DequantizeLinear -> op -> QuantizeLinear. Such a quantizer records its producer
// (Quantizer::producer) and joins the producer's group when no quantized op reads it.
#pragma once

#include "ir/graph.h"
#include "quant/hw_config.h"
#include "quant/ignored_scope.h"
#include "quant/model_type.h"
#include "quant/quantizer_set.h"

namespace qwac::quant {

struct PlacementOptions {
  Preset preset = Preset::kPerformance;
  Granularity weight_granularity = Granularity::kPerChannel;  // falls back to per-tensor if the device forbids it
  IgnoredScope ignored_scope;
  const ExportProfile* profile = nullptr;  // the exported file's runtime (not owned); nullptr = device semantics
  // The network family's rules (quant/model_type.h; not owned; nullptr = none): op types kept in float, symmetric
  // quantizers on both inputs of a MatMul of two computed tensors.
  const ModelTypeConfig* model_type = nullptr;
  // Overrides of the preset's specs (from the config's "weights"/"activations" sections), when set.
  std::optional<int> weight_bits, activation_bits;
  std::optional<QuantMode> weight_mode, activation_mode;
};

QuantizerSet place_quantizers(const ir::Model& canonical, const HwConfig& hw, const PlacementOptions& options);

}  // namespace qwac::quant
