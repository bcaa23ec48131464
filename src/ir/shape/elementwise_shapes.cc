#include "ir/op_schema.h"
namespace qwac::ir {
void register_elementwise_shapes(OpRegistry&) {}
}  // namespace qwac::ir
