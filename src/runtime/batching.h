// Batches of samples for the engines: stacking shapes, the real samples of a padded batch, and the checks that a
// sample fits the model (shared by every pass over a dataset).
#pragma once

#include <map>
#include <string>
#include <vector>

#include "core/tensor.h"
#include "ir/graph.h"
#include "qwac/dataset.h"
#include "runtime/engine.h"

namespace qwac::runtime {

// The model's input shapes for a batch, taken from the first sample's tensors.
std::map<std::string, Shape> batch_shapes(const Sample& first, int64_t batch);
// The first `count` samples of a batched tensor `t` (shared when count == batch).
Tensor first_samples(const Tensor& t, int64_t count, int64_t batch);
// Sample k of a batched output tensor, as its own tensor with batch dim 1.
Tensor slice_sample(const Tensor& t, int64_t k, int64_t batch);
// DataError when sample `index` lacks an input of `specs`, has another per-sample shape or dtype, or has extra inputs.
void check_inputs_match(const Sample& s, const std::vector<IoSpec>& specs, int64_t index);
// DataError when sample 0 does not match the shapes and dtypes the model declares (batch dimension exempt).
void check_against_declared_inputs(const Sample& s, const ir::Graph& graph);

}  // namespace qwac::runtime
