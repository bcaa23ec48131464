// The ordered pass lists, readable top to bottom in pass_list.cc.
#pragma once

#include <memory>
#include <vector>

#include "passes/pass.h"

namespace qwac::passes {

// Run by the engine on its private copy of the model when EngineOptions::fuse is set: rewrites into qwac's fused
// ops (domain com.qwac) that the kernels implement in one primitive.
std::vector<std::unique_ptr<Pass>> engine_fusion_passes();

// Run by the engine before engine_fusion_passes when EngineOptions::int8 is set: rewrites QDQ patterns into qwac's
// integer ops (QConv, ...), which the int8 kernels execute on 8-bit tensors.
std::vector<std::unique_ptr<Pass>> engine_int8_passes();

}  // namespace qwac::passes
