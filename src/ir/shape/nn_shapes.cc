#include "ir/op_schema.h"
namespace qwac::ir {
void register_nn_shapes(OpRegistry&) {}
}  // namespace qwac::ir
