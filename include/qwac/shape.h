// qwac public API: concrete tensor shapes.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace qwac {

using Shape = std::vector<int64_t>;

int64_t shape_numel(const Shape& shape);          // 1 for a scalar (rank 0)
std::string shape_to_string(const Shape& shape);  // "[1,3,224,224]"

}  // namespace qwac
