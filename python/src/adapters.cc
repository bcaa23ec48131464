#include "adapters.h"

#include <pybind11/stl.h>

#include <utility>

#include "arrays.h"
#include "qwac/error.h"

namespace qwac::python {
namespace {

class PyDataset final : public Dataset {
 public:
  PyDataset(py::object provider, CallContextPtr ctx) : provider_(std::move(provider)), ctx_(std::move(ctx)) {
    size_ = py::len(provider_);
    describe_ = py::hasattr(provider_, "describe") ? py::str(provider_.attr("describe")()).cast<std::string>()
                                                    : "Python dataset (" + std::to_string(size_) + " samples)";
  }
  ~PyDataset() override {
    py::gil_scoped_acquire gil;  // the adapter may be released by the library with the GIL free
    provider_ = py::object();
  }

  int64_t size() const override { return size_; }
  std::string describe() const override { return describe_; }

  Sample get(int64_t index) const override {
    if (index < 0 || index >= size_) {
      throw DataError(describe_ + ": sample index " + std::to_string(index) + " is outside [0, " +
                      std::to_string(size_) + ")");
    }
    return ctx_->call([&] {
      const py::tuple r = provider_.attr("sample")(index).cast<py::tuple>();
      if (r.size() != 4) throw DataError(describe_ + ": sample() must return (inputs, label, text, metadata)");
      Sample s;
      s.inputs = to_tensors(r[0].cast<py::dict>(), describe_ + " sample " + std::to_string(index));
      if (!r[1].is_none()) s.annotation.label = r[1].cast<int64_t>();
      if (!r[2].is_none()) s.annotation.text = r[2].cast<std::string>();
      if (!r[3].is_none()) s.metadata = r[3].cast<std::map<std::string, std::string>>();
      s.index = index;
      return s;
    });
  }

 private:
  py::object provider_;
  CallContextPtr ctx_;
  int64_t size_ = 0;
  std::string describe_;
};

class PyMetric final : public Metric {
 public:
  PyMetric(py::object adapter, CallContextPtr ctx) : adapter_(std::move(adapter)), ctx_(std::move(ctx)) {
    name_ = adapter_.attr("name").cast<std::string>();
    higher_better_ = adapter_.attr("higher_better").cast<bool>();
    type_ = adapter_.attr("type").cast<std::string>();
  }
  ~PyMetric() override {
    py::gil_scoped_acquire gil;
    adapter_ = py::object();
  }

  std::string name() const override { return name_; }
  bool higher_better() const override { return higher_better_; }
  std::map<std::string, std::string> attributes() const override {
    return {{"direction", higher_better_ ? "higher-better" : "higher-worse"}, {"type", type_}};
  }

  void update(const ModelOutputs& outputs, const std::vector<Annotation>&,
              const std::vector<SampleInfo>& samples) override {
    ctx_->call([&] {
      py::list arrays, indices, metadata;
      for (const Tensor& t : outputs.tensors) arrays.append(to_numpy(t));
      for (const SampleInfo& s : samples) {
        indices.append(s.index);
        metadata.append(py::cast(s.metadata));
      }
      adapter_.attr("update")(arrays, indices, metadata);
    });
  }
  double value() const override { return ctx_->call([&] { return adapter_.attr("value")().cast<double>(); }); }
  double avg_value() const override {
    return ctx_->call([&] { return adapter_.attr("avg_value")().cast<double>(); });
  }
  void reset() override {
    ctx_->call([&] { adapter_.attr("reset")(); });
  }
  std::vector<double> per_sample_values() const override {
    return ctx_->call([&] {
      const py::object v = adapter_.attr("per_sample_values")();
      return v.is_none() ? std::vector<double>{} : v.cast<std::vector<double>>();
    });
  }

 private:
  py::object adapter_;
  CallContextPtr ctx_;
  std::string name_, type_;
  bool higher_better_ = true;
};

// Console progress plus a Ctrl-C check at every tick (ticks come from the thread that called qwac: Python's main
// thread in the usual case, where signals are delivered).
class PyProgress final : public Progress {
 public:
  PyProgress(std::shared_ptr<Progress> inner, CallContextPtr ctx) : inner_(std::move(inner)), ctx_(std::move(ctx)) {}
  void begin(std::string_view phase, int64_t total) override {
    check();
    inner_->begin(phase, total);
  }
  void advance(int64_t done) override {
    check();
    inner_->advance(done);
  }
  void end() override { inner_->end(); }

 private:
  void check() {
    ctx_->call([] {});
  }
  std::shared_ptr<Progress> inner_;
  CallContextPtr ctx_;
};

}  // namespace

DatasetPtr make_py_dataset(py::object provider, CallContextPtr ctx) {
  return std::make_shared<PyDataset>(std::move(provider), std::move(ctx));
}

MetricPtr make_py_metric(py::object adapter, CallContextPtr ctx) {
  return std::make_shared<PyMetric>(std::move(adapter), std::move(ctx));
}

std::shared_ptr<Progress> make_py_progress(bool show, CallContextPtr ctx) {
  return std::make_shared<PyProgress>(make_console_progress(!show), std::move(ctx));
}

ValidationFunction make_py_validation_function(py::object fn, std::string name, bool higher_better,
                                               CallContextPtr ctx) {
  // The Python function is shared by the copies std::function makes; it is released with the GIL held.
  auto holder = std::shared_ptr<py::object>(new py::object(std::move(fn)), [](py::object* p) {
    py::gil_scoped_acquire gil;
    delete p;
  });
  ValidationFunction v;
  v.name = std::move(name);
  v.higher_better = higher_better;
  v.fn = [holder, ctx](CompiledModel& model, const Dataset& data) {
    std::vector<int64_t> indices;
    for (int64_t i = 0; i < data.size(); ++i) indices.push_back(data.source_index(i));
    return ctx->call([&] {
      auto compiled = std::make_shared<PyCompiledModel>(&model, ctx);
      struct Invalidate {
        PyCompiledModel& m;
        ~Invalidate() { m.invalidate(); }  // the engine is gone after the call, whatever the user kept
      } invalidate{*compiled};
      const py::object r = (*holder)(py::cast(compiled), py::cast(indices));
      ValidationOutput out;
      const py::tuple t = r.cast<py::tuple>();
      if (t.size() != 2) throw DataError("validation function adapter must return (value, per_sample)");
      out.value = t[0].cast<double>();
      if (!t[1].is_none()) out.per_sample = t[1].cast<std::vector<double>>();
      return out;
    });
  };
  return v;
}

CompiledModel& PyCompiledModel::model() const {
  if (model_ == nullptr) {
    throw InvalidArgument("this compiled model was valid only during the validation_fn call it was given to");
  }
  return *model_;
}

py::list PyCompiledModel::infer(const py::dict& inputs) {
  CompiledModel& m = model();
  const std::map<std::string, Tensor> tensors = to_tensors(inputs, "compiled_model");
  ModelOutputs out;
  {
    py::gil_scoped_release release;
    out = m.infer(tensors);
  }
  py::list result;
  for (const Tensor& t : out.tensors) result.append(to_numpy(t));
  return result;
}

namespace {
py::list specs(const std::vector<IoSpec>& v) {
  py::list out;
  for (const IoSpec& s : v) out.append(py::make_tuple(s.name, std::string(dtype_name(s.dtype)), s.shape));
  return out;
}
}  // namespace

std::vector<std::string> PyCompiledModel::input_names() const {
  std::vector<std::string> names;
  for (const IoSpec& s : model().inputs()) names.push_back(s.name);
  return names;
}

std::vector<std::string> PyCompiledModel::output_names() const {
  std::vector<std::string> names;
  for (const IoSpec& s : model().outputs()) names.push_back(s.name);
  return names;
}

py::list PyCompiledModel::inputs() const { return specs(model().inputs()); }
py::list PyCompiledModel::outputs() const { return specs(model().outputs()); }

}  // namespace qwac::python
