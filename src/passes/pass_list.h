// The ordered pass lists, readable top to bottom in pass_list.cc.
#pragma once

#include <memory>
#include <vector>

#include "passes/pass.h"

namespace qwac::passes {

// Run by the engine on its private copy of the model when EngineOptions::fuse is set: rewrites into qwac's fused
// ops (domain com.qwac) that the kernels implement in one primitive.
std::vector<std::unique_ptr<Pass>> engine_fusion_passes();

}  // namespace qwac::passes
