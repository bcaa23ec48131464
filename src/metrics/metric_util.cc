#include "metrics/metric_util.h"

#include <numeric>

namespace qwac::metrics {

std::string OutputRef::describe() const {
  return name.empty() ? "output #" + std::to_string(index) : "output '" + name + "'";
}

size_t resolve_output(const ModelOutputs& outputs, const OutputRef& ref, const std::string& metric_name) {
  if (outputs.names.size() != outputs.tensors.size())
    throw InternalError(metric_name + ": model outputs have " + std::to_string(outputs.names.size()) + " names but " +
                        std::to_string(outputs.tensors.size()) + " tensors");
  if (!ref.name.empty()) {
    for (size_t i = 0; i < outputs.names.size(); ++i)
      if (outputs.names[i] == ref.name) return i;
    outputs.by_name(ref.name);  // throws the DataError listing the available outputs
  }
  if (ref.index < 0 || static_cast<size_t>(ref.index) >= outputs.tensors.size())
    throw DataError(metric_name + ": " + ref.describe() + " does not exist; the model has " +
                    std::to_string(outputs.tensors.size()) + " output(s)");
  return static_cast<size_t>(ref.index);
}

void check_batch_dim(const Tensor& t, size_t batch, const std::string& metric_name, const std::string& what) {
  if (t.rank() < 1 || t.dim(0) != static_cast<int64_t>(batch))
    throw DataError(metric_name + ": " + what + " is " + t.describe() + " but the batch has " + std::to_string(batch) +
                    " annotation(s); expected a leading batch dimension of " + std::to_string(batch));
}

void check_nonempty_batch(size_t batch, const std::string& metric_name) {
  if (batch == 0) throw DataError(metric_name + ": update() called with an empty batch (no annotations)");
}

std::vector<double> tensor_values(const Tensor& t, const std::string& what) {
  std::vector<double> out(static_cast<size_t>(t.numel()));
  visit_elements(t, what, [&](const auto* data) {
    for (size_t i = 0; i < out.size(); ++i) out[i] = static_cast<double>(data[i]);
  });
  return out;
}

std::map<std::string, std::string> metric_attributes(bool higher_better, const std::string& type) {
  return {{"direction", higher_better ? "higher-better" : "higher-worse"}, {"type", type}};
}

void throw_no_samples(const std::string& metric_name) {
  throw DataError(metric_name + ": no samples since reset(); call update() first");
}

double SampleValues::last_batch_mean(const std::string& metric_name) const {
  if (last_begin_ >= values_.size()) throw_no_samples(metric_name);
  double sum = std::accumulate(values_.begin() + static_cast<std::ptrdiff_t>(last_begin_), values_.end(), 0.0);
  return sum / static_cast<double>(values_.size() - last_begin_);
}

double SampleValues::mean(const std::string& metric_name) const {
  if (values_.empty()) throw_no_samples(metric_name);
  return std::accumulate(values_.begin(), values_.end(), 0.0) / static_cast<double>(values_.size());
}

}  // namespace qwac::metrics
