// Tensor (qwac/tensor.h) with the internal dtype dispatch and shape helpers that code using tensors needs.
#pragma once

#include "core/dtype.h"
#include "core/shape.h"
#include "qwac/tensor.h"
