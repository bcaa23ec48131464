// Value conversions used by Cast/CastLike (and by anything else that must round like ONNX Cast does).
#pragma once

namespace qwac::kernels::ref {

// The float16 value nearest to `x` (round half to even; overflow to +-inf; NaN and inf kept), returned as float.
// qwac computes in float32, so a Cast to FLOAT16 yields float32 tensors holding exactly representable float16
// values: the same numbers a float16 tensor would hold.
float round_to_float16(float x);

}  // namespace qwac::kernels::ref
