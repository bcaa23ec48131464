#include "ir/op_schema.h"
namespace qwac::ir {
void register_fused_shapes(OpRegistry&) {}
}  // namespace qwac::ir
