#include "runtime/reference_outputs.h"

#include <algorithm>
#include <utility>

namespace qwac::runtime {
namespace {

class ReferenceOutputsDataset final : public Dataset {
 public:
  ReferenceOutputsDataset(DatasetPtr base, std::vector<std::vector<Tensor>> references)
      : base_(std::move(base)), references_(std::move(references)) {}
  int64_t size() const override { return base_->size(); }
  Sample get(int64_t index) const override {
    Sample s = base_->get(index);
    if (index >= 0 && index < static_cast<int64_t>(references_.size())) {
      s.annotation.reference_outputs = references_[static_cast<size_t>(index)];
    }
    return s;
  }
  std::string describe() const override { return base_->describe(); }

 private:
  DatasetPtr base_;
  std::vector<std::vector<Tensor>> references_;  // per sample, shared (read-only) by every get()
};

}  // namespace

bool needs_reference_outputs(const std::vector<MetricPtr>& metrics) {
  return std::any_of(metrics.begin(), metrics.end(), [](const MetricPtr& m) { return m->needs_reference_outputs(); });
}

DatasetPtr with_reference_outputs(DatasetPtr dataset, const ir::Model& fp32, EvaluationOptions options) {
  if (dataset->size() == 0 || !dataset->get(0).annotation.reference_outputs.empty()) return dataset;
  std::vector<std::vector<Tensor>> references;
  references.reserve(static_cast<size_t>(dataset->size()));
  options.phase = "fp32 reference";
  options.on_sample = [&](int64_t, const Sample&, const ModelOutputs& outputs) {
    std::vector<Tensor> copies;
    for (const Tensor& t : outputs.tensors) copies.push_back(t.clone());
    references.push_back(std::move(copies));
  };
  options.taps.clear();
  options.on_batch = nullptr;
  options.int8 = false;  // the reference is the float model
  evaluate(fp32, *dataset, {}, options);
  if (options.logger) {
    size_t bytes = 0;
    for (const auto& sample : references) {
      for (const Tensor& t : sample) bytes += t.nbytes();
    }
    options.logger->info("FP32 reference outputs of " + std::to_string(references.size()) + " sample(s) for " +
                         "label-free metrics: " + std::to_string(bytes / (1024 * 1024)) + " MiB in memory");
  }
  return std::make_shared<ReferenceOutputsDataset>(std::move(dataset), std::move(references));
}

}  // namespace qwac::runtime
