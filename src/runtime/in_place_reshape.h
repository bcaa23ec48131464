// In-place reshape, a memory-planning rewrite of a compiled plan.
#pragma once

#include "runtime/plan.h"

namespace qwac::runtime {

// A Reshape / Flatten / Squeeze / Unsqueeze of a plain intermediate only relabels the dimensions of the same bytes:
// its output becomes a view of its input's buffer (ValueSlot::alias_of, offset 0) and the copy step disappears
// (reported as "in-place" in the planned nodes). Graph inputs, graph outputs and taps keep their own buffers, so
// only arena slots take part. A transformer at batch 64 copies ~20 MB per run through these otherwise.
// Run after alias_concat_inputs and before lifetimes are computed (the input's lifetime then covers the output's).
void alias_reshape_outputs(Plan& plan);

}  // namespace qwac::runtime
