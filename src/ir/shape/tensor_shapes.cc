#include "ir/op_schema.h"
namespace qwac::ir {
void register_tensor_shapes(OpRegistry&) {}
}  // namespace qwac::ir
