// FP32 reference outputs for label-free metrics (nmse, cosine, psnr: Metric::needs_reference_outputs): they compare
// a model's outputs with the FP32 model's for the same sample, read from Annotation::reference_outputs. Only an ONNX
// test set (output_K.pb) brings them; for every other dataset they are computed here, once, by running the FP32
// model over the samples, and attached to the samples by a dataset wrapper. `qwac evaluate`, `quantize --evaluate`
// and the accuracy search all go through with_reference_outputs, so a label-free metric means the same everywhere.
#pragma once

#include <vector>

#include "ir/graph.h"
#include "qwac/dataset.h"
#include "qwac/metric.h"
#include "runtime/evaluation.h"

namespace qwac::runtime {

// True when one of `metrics` compares with FP32 reference outputs.
bool needs_reference_outputs(const std::vector<MetricPtr>& metrics);

// `dataset` whose samples carry `fp32`'s outputs (every output, in graph output order) as reference outputs. They
// are computed here by one evaluation pass with `options` (threads, batch, limit: samples past the limit get none)
// and kept in memory, so the memory is the samples times the model's output size. A dataset whose first sample
// already carries reference outputs is returned as it is.
DatasetPtr with_reference_outputs(DatasetPtr dataset, const ir::Model& fp32, EvaluationOptions options);

}  // namespace qwac::runtime
