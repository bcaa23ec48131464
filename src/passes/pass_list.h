// The named pipelines of graph rewrites, readable top to bottom in pass_list.cc.
#pragma once

#include <memory>
#include <vector>

#include "passes/pass.h"

namespace qwac::passes {

// "recognize": run by canonicalization before placement (quant/canonicalize.cc): decompositions of single ops
// rewritten into those ops where ONNX has them at the model's opset (hard-sigmoid / hard-swish forms, GELU), so
// that placement, export and the engine see one op.
std::vector<std::unique_ptr<Pass>> recognize_passes();

// "engine-int8": run by the engine on its private copy of the model when EngineOptions::int8 is set: rewrites QDQ
// patterns into qwac's integer ops (QConv, ...), which the int8 kernels execute on 8-bit tensors.
std::vector<std::unique_ptr<Pass>> engine_int8_passes();

// "engine-fusion": run by the engine on its private copy (after engine-int8) when EngineOptions::fuse is set:
// rewrites into qwac's fused ops (domain com.qwac) that the kernels implement in one primitive.
std::vector<std::unique_ptr<Pass>> engine_fusion_passes();

// Runs `passes` in order; returns whether any changed the model. Appends their notes to `notes` when given.
bool run_passes(const std::vector<std::unique_ptr<Pass>>& passes, ir::Model& model,
                std::vector<PassNote>* notes = nullptr);

}  // namespace qwac::passes
