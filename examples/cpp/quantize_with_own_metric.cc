// Quantizes an MNIST classifier with accuracy control, using the installed qwac package only (include <qwac/...>,
// link qwac::qwac), with a metric of its own that finds its ground truth by sample index, as a text recognizer's
// CTC metric or a detector's box F1 would.
//
//   quantize_with_own_metric MODEL.onnx IMAGES.idx[.gz] LABELS.idx[.gz] OUT.onnx [REPORT.json]
//
// The dataset comes from a config-style dataset section (MNIST idx files; image folders, CIFAR, .npy work the same
// way); the metric is a user class; the result is a QDQ ONNX model and the typed report, rendered as JSON.
#include <qwac/qwac.h>

#include <cstdio>
#include <exception>
#include <memory>
#include <string>
#include <vector>

namespace {

// Top-1 accuracy computed against the metric's own table of expected digits, looked up by SampleInfo::index (the
// index in the dataset given to the library, also when the accuracy search evaluates a subset). Per-sample values
// are 0/1, so the search's mean-of-per-sample estimates are exact for it (see qwac/metric.h).
class DigitAccuracy final : public qwac::Metric {
 public:
  explicit DigitAccuracy(std::vector<int64_t> expected) : expected_(std::move(expected)) {}

  std::string name() const override { return "digit_accuracy"; }

  void update(const qwac::ModelOutputs& outputs, const std::vector<qwac::Annotation>&,
              const std::vector<qwac::SampleInfo>& samples) override {
    const qwac::Tensor& logits = outputs.tensors.at(0);  // [batch, 10]
    const int64_t classes = logits.shape().at(1);
    const float* p = logits.data<float>();
    last_.clear();
    for (size_t i = 0; i < samples.size(); ++i) {
      const float* row = p + static_cast<int64_t>(i) * classes;
      int64_t best = 0;
      for (int64_t c = 1; c < classes; ++c) best = row[c] > row[best] ? c : best;
      last_.push_back(best == expected_.at(static_cast<size_t>(samples[i].index)) ? 1.0 : 0.0);
    }
    all_.insert(all_.end(), last_.begin(), last_.end());
  }
  double value() const override { return mean(last_); }
  double avg_value() const override { return mean(all_); }
  void reset() override { last_.clear(), all_.clear(); }
  std::vector<double> per_sample_values() const override { return all_; }

 private:
  static double mean(const std::vector<double>& v) {
    double sum = 0;
    for (double x : v) sum += x;
    return v.empty() ? 0.0 : sum / static_cast<double>(v.size());
  }
  std::vector<int64_t> expected_;
  std::vector<double> last_, all_;
};

std::string json_string(const std::string& s) {
  std::string out = "\"";
  for (char c : s) out += c == '"' || c == '\\' ? std::string("\\") + c : std::string(1, c);
  return out + "\"";
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 5) {
    std::fprintf(stderr, "usage: %s MODEL.onnx IMAGES.idx LABELS.idx OUT.onnx [REPORT.json]\n", argv[0]);
    return 2;
  }
  try {
    const qwac::Model model = qwac::Model::load(argv[1]);
    const qwac::ModelInfo info = model.describe();
    std::printf("model: %s, input %s, %lld parameters (qwac %s)\n", argv[1], info.inputs.at(0).describe().c_str(),
                static_cast<long long>(info.parameters), qwac::version());

    const std::string section = "{\"type\": \"idx\", \"images\": " + json_string(argv[2]) +
                                ", \"labels\": " + json_string(argv[3]) + ", \"preprocessing\": {}}";
    const qwac::DatasetPtr data = qwac::load_dataset(section, model).dataset;
    std::vector<int64_t> expected;
    for (int64_t i = 0; i < data->size(); ++i) expected.push_back(data->get(i).annotation.label);

    qwac::AccuracyControlParams params;
    params.max_drop = 0.001;
    params.drop_type = qwac::DropType::kAbsolute;
    params.base.preset = qwac::Preset::kPerformance;
    params.base.stat_subset_size = 300;
    qwac::ExecutionOptions run;
    run.batch_size = 16;
    run.progress = qwac::make_console_progress();

    const std::vector<qwac::MetricPtr> metrics = {std::make_shared<DigitAccuracy>(expected)};
    const qwac::AccuracyControlResult r =
        qwac::quantize_with_accuracy_control(model, *data, *data, metrics, params, run);
    r.model.save(argv[4]);
    if (argc > 5) qwac::write_file_atomically(argv[5], qwac::report_to_json(r.report) + "\n");

    const qwac::AccuracyControlReport& a = *r.report.accuracy_control;
    for (const qwac::ControlledMetricReport& m : a.metrics) {
      std::printf("%s: fp32 %.4f, int8 %.4f, drop %.4f (bound %.4f)\n", m.name.c_str(), m.fp32,
                  m.final_value.value_or(0.0), m.drop, m.bound);
    }
    std::printf("%s; %lld full validations; report schema %d\n", a.summary.c_str(),
                static_cast<long long>(a.full_validations), r.report.schema_version);
    return r.reached ? 0 : static_cast<int>(qwac::ErrorKind::kAccuracyNotReached);
  } catch (const qwac::Error& e) {
    std::fprintf(stderr, "error: %s: %s\n", qwac::error_kind_name(e.kind()), e.what());
    return e.exit_code();
  }
}
