// In-place concat, a memory-planning rewrite of a compiled plan.
#pragma once

#include "runtime/plan.h"

namespace qwac::runtime {

// In-place concat: when a Concat's inputs are used only by it and their bytes, laid one after another, are exactly
// the concatenated tensor (batch 1, channel axis, compatible layouts), the producers write straight into the
// Concat's output buffer and the Concat step disappears. Saves a copy of every concatenated activation.
// Marks the aliased slots (ValueSlot::alias_of/alias_offset), removes the Concat steps and reports them as
// "in-place" in the planned nodes. Run before lifetimes are computed.
void alias_concat_inputs(Plan& plan);

}  // namespace qwac::runtime
