// qwac._qwac: the pybind11 layer over include/qwac (nothing else). Parameters arrive in the config's JSON form and
// go through the same strict parser as a config file (qwac::parse_compression), so a Python keyword and a config
// key are checked by the same code and fail with the same one-line message. The user-facing shapes (NNCF's
// Dataset / quantize_with_accuracy_control, POT's pipeline) are in python/qwac/*.py.
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <map>
#include <string>
#include <utility>
#include <vector>

#include "adapters.h"
#include "arrays.h"
#include "call_context.h"
#include "qwac/qwac.h"

namespace qwac::python {
namespace {

// {"batch_size", "threads", "streams", "loader_threads", "use_dnnl", "int8", "show_progress"}: the execution
// options of one call. Unknown keys are an InvalidArgument naming them.
ExecutionOptions execution_options(const py::dict& d, const CallContextPtr& ctx) {
  ExecutionOptions o;
  bool show = true;
  for (const auto& [key, value] : d) {
    const std::string k = py::str(key);
    if (k == "batch_size") {
      o.batch_size = value.cast<int64_t>();
    } else if (k == "threads") {
      o.threads = value.cast<int>();
    } else if (k == "streams") {
      o.streams = value.cast<int>();
    } else if (k == "loader_threads") {
      o.loader_threads = value.cast<int>();
    } else if (k == "use_dnnl") {
      o.use_dnnl = value.cast<bool>();
    } else if (k == "int8") {
      o.int8 = value.cast<bool>();
    } else if (k == "show_progress") {
      show = value.cast<bool>();
    } else {
      throw InvalidArgument("execution option '" + k +
                            "' is unknown (expected batch_size, threads, streams, loader_threads, use_dnnl, int8, "
                            "show_progress)");
    }
  }
  if (o.batch_size < 1) throw InvalidArgument("batch_size must be >= 1, got " + std::to_string(o.batch_size));
  if (o.threads < 0 || o.streams < 0 || o.loader_threads < 0 || o.threads > kMaxThreads ||
      o.streams > kMaxThreads || o.loader_threads > kMaxThreads) {
    throw InvalidArgument("threads, streams and loader_threads must be in 0.." + std::to_string(kMaxThreads) +
                          " (0 = automatic)");
  }
  o.progress = make_py_progress(show, ctx);
  o.logger = make_stderr_logger(show ? LogLevel::kInfo : LogLevel::kWarning);
  return o;
}

std::vector<MetricPtr> py_metrics(const py::list& adapters, const CallContextPtr& ctx) {
  std::vector<MetricPtr> metrics;
  for (const py::handle& a : adapters) metrics.push_back(make_py_metric(py::reinterpret_borrow<py::object>(a), ctx));
  return metrics;
}

// A compression section as JSON text -> typed settings, with the checkpoint settings only the API sets.
CompressionSettings settings_from(const std::string& compression_json, const std::string& checkpoint_path,
                                  bool resume) {
  CompressionSettings s = parse_compression(compression_json);
  s.accuracy_control.checkpoint_path = checkpoint_path;
  s.accuracy_control.checkpoint_identity = checkpoint_path.empty() ? "" : compression_json;
  s.accuracy_control.resume = resume;
  return s;
}

py::tuple accuracy_result(AccuracyControlResult r, const AccuracyControlParams& params) {
  return py::make_tuple(std::move(r.model), report_to_json(r.report, -1), r.reached,
                        r.reached ? std::string() : accuracy_not_reached_message(params));
}

// Registers qwac::Error and its kinds as Python exceptions (qwac.Error derives from RuntimeError; each kind carries
// `exit_code`, the CLI's). The message is the library's one line.
void register_errors(py::module_& m) {
  // Exception classes live as long as the interpreter: held by the module and by these leaked references (a static
  // py::object would be released after Python has finalized).
  PyObject* base = PyErr_NewException("qwac.Error", PyExc_RuntimeError, nullptr);
  m.attr("Error") = py::reinterpret_borrow<py::object>(base);
  py::reinterpret_borrow<py::object>(base).attr("exit_code") = 1;
  struct Kind {
    const char* name;
    ErrorKind kind;
  };
  static const Kind kKinds[] = {{"InternalError", ErrorKind::kInternal},
                                {"InvalidArgument", ErrorKind::kInvalidArgument},
                                {"IoError", ErrorKind::kIoError},
                                {"InvalidModel", ErrorKind::kInvalidModel},
                                {"UnsupportedOp", ErrorKind::kUnsupportedOp},
                                {"InvalidConfig", ErrorKind::kInvalidConfig},
                                {"DataError", ErrorKind::kDataError},
                                {"AccuracyNotReached", ErrorKind::kAccuracyNotReached}};
  static auto* by_kind = new std::map<ErrorKind, PyObject*>();
  static PyObject* base_class = base;
  for (const Kind& k : kKinds) {
    PyObject* cls = PyErr_NewException((std::string("qwac.") + k.name).c_str(), base, nullptr);
    py::reinterpret_borrow<py::object>(cls).attr("exit_code") = static_cast<int>(k.kind);
    m.attr(k.name) = py::reinterpret_borrow<py::object>(cls);
    (*by_kind)[k.kind] = cls;  // the reference PyErr_NewException returned is kept for good
  }
  py::register_exception_translator([](std::exception_ptr p) {
    try {
      if (p) std::rethrow_exception(p);
    } catch (const Error& e) {
      const auto it = by_kind->find(e.kind());
      PyErr_SetString(it == by_kind->end() ? base_class : it->second, e.what());
    } catch (const CallbackFailed& e) {
      PyErr_SetString(by_kind->at(ErrorKind::kInternal), e.what());  // only if the kept exception was lost
    }
  });
}

}  // namespace
}  // namespace qwac::python

PYBIND11_MODULE(_qwac, m) {
  using namespace qwac;          // NOLINT: the module's body names the public API throughout
  using namespace qwac::python;  // NOLINT
  m.doc() = "qwac's C++ library (include/qwac) for the qwac Python package; use `import qwac`.";
  m.attr("__version__") = version();
  register_errors(m);

  py::class_<Model>(m, "Model", "An ONNX model held by qwac (immutable).")
      .def_static("load", &Model::load, py::arg("path"), "Reads an ONNX file.")
      .def_static(
          "from_bytes",
          [](const py::bytes& b, const std::string& base_dir) { return Model::from_bytes(std::string(b), base_dir); },
          py::arg("data"), py::arg("base_dir") = "", "A serialized ModelProto (ModelProto.SerializeToString()).")
      .def("to_bytes", [](const Model& self) { return py::bytes(self.to_bytes()); },
           "The serialized ModelProto, exactly the bytes save() writes.")
      .def("save", &Model::save, py::arg("path"), "Writes the model atomically (never a partial file).")
      .def("with_batch", &Model::with_batch, py::arg("batch"))
      .def("describe", [](const Model& self) {
        const ModelInfo info = self.describe();
        auto values = [](const std::vector<ValueInfo>& v) {
          py::list out;
          for (const ValueInfo& i : v) {
            py::object shape = py::none();
            if (i.shape) {
              py::list dims;
              for (const Dim& d : *i.shape) {
                dims.append(d.size >= 0 ? py::object(py::int_(d.size))
                                        : (d.param.empty() ? py::object(py::none()) : py::object(py::str(d.param))));
              }
              shape = dims;
            }
            out.append(py::dict(py::arg("name") = i.name, py::arg("dtype") = std::string(dtype_name(i.dtype)),
                                py::arg("shape") = shape, py::arg("type") = i.describe()));
          }
          return out;
        };
        py::dict d;
        d["ir_version"] = info.ir_version;
        d["producer"] = info.producer_name + " " + info.producer_version;
        py::dict opsets;
        for (const OpsetInfo& o : info.opsets) opsets[py::str(o.domain.empty() ? "ai.onnx" : o.domain)] = o.version;
        d["opsets"] = opsets;
        d["inputs"] = values(info.inputs);
        d["outputs"] = values(info.outputs);
        d["node_count"] = info.node_count;
        d["op_counts"] = info.op_counts;
        d["parameters"] = info.parameters;
        d["unsupported_ops"] = info.unsupported_ops;
        return d;
      });

  py::class_<PyCompiledModel, std::shared_ptr<PyCompiledModel>>(
      m, "CompiledModel", "qwac's engine running the candidate a validation function is asked to measure.")
      .def("infer", &PyCompiledModel::infer, py::arg("inputs"),
           "{input name: array} -> list of output arrays in graph order (any batch size).")
      .def_property_readonly("input_names", &PyCompiledModel::input_names)
      .def_property_readonly("output_names", &PyCompiledModel::output_names)
      .def_property_readonly("input_specs", &PyCompiledModel::inputs)
      .def_property_readonly("output_specs", &PyCompiledModel::outputs);

  // The guards the CLI runs before work (qwac/file.h, qwac/resources.h).
  m.def(
      "check_output_paths",
      [](const std::vector<std::pair<std::string, std::string>>& inputs,
         const std::vector<std::pair<std::string, std::string>>& outputs) {
        auto named = [](const std::vector<std::pair<std::string, std::string>>& v) {
          std::vector<NamedPath> out;
          for (const auto& [what, path] : v) out.push_back({what, path});
          return out;
        };
        check_output_paths(named(inputs), named(outputs));
      },
      py::arg("inputs"), py::arg("outputs"),
      "[(what, path)] inputs and outputs: IoError / InvalidArgument when an output's folder is missing or not "
      "writable, or when an output is the same file as an input or another output.");
  m.def(
      "write_file_atomically",
      [](const std::string& path, const py::bytes& data) {
        std::string bytes(data);
        py::gil_scoped_release release;
        write_file_atomically(path, bytes);
      },
      py::arg("path"), py::arg("data"), "Writes `data` to a temp file beside `path`, then renames it over `path`.");
  m.def("memory_budget", &memory_budget, "The memory budget in bytes (QWAC_MEMORY_LIMIT or the machine's).");
  m.def("set_memory_budget", &set_memory_budget, py::arg("bytes"),
        "Overrides the memory budget for the process; 0 restores the default.");
  m.def("parse_byte_size", &parse_byte_size, py::arg("text"), "'4G', '512M', '1000000' -> bytes (None if malformed).");
  m.def("describe_bytes", &describe_bytes, py::arg("bytes"));

  m.def(
      "parse_compression",
      [](const std::string& json) {
        const CompressionSettings s = parse_compression(json);
        return s.algorithm == CompressionAlgorithm::kAccuracyAwareQuantization ? "AccuracyAwareQuantization"
                                                                              : "DefaultQuantization";
      },
      py::arg("compression_json"),
      "Checks a compression section ({\"algorithms\": [...]}) as a config file's; returns the algorithm name.");

  m.def(
      "quantize",
      [](const Model& model, const py::object& calibration, const std::string& compression_json,
         const py::dict& execution) {
        auto ctx = std::make_shared<CallContext>();
        const CompressionSettings s = settings_from(compression_json, "", false);
        const DatasetPtr calib = make_py_dataset(calibration, ctx);
        const ExecutionOptions options = execution_options(execution, ctx);
        QuantizeResult r = ctx->run([&] { return quantize(model, *calib, s.default_quantization, options); });
        return py::make_tuple(std::move(r.model), report_to_json(r.report, -1));
      },
      py::arg("model"), py::arg("calibration"), py::arg("compression_json"), py::arg("execution"));

  m.def(
      "quantize_with_accuracy_control",
      [](const Model& model, const py::object& calibration, const py::object& validation,
         const py::object& validation_fn, const std::string& fn_name, bool higher_better, const py::list& metrics,
         const std::string& compression_json, const std::string& checkpoint_path, bool resume,
         const py::dict& execution) {
        auto ctx = std::make_shared<CallContext>();
        const CompressionSettings s = settings_from(compression_json, checkpoint_path, resume);
        const DatasetPtr calib = make_py_dataset(calibration, ctx);
        const DatasetPtr val = validation.is(calibration) ? calib : make_py_dataset(validation, ctx);
        const ExecutionOptions options = execution_options(execution, ctx);
        const AccuracyControlParams& params = s.accuracy_control;
        if (!validation_fn.is_none()) {
          const ValidationFunction fn = make_py_validation_function(validation_fn, fn_name, higher_better, ctx);
          AccuracyControlResult r =
              ctx->run([&] { return quantize_with_accuracy_control(model, *calib, *val, fn, params, options); });
          return accuracy_result(std::move(r), params);
        }
        const std::vector<MetricPtr> ms = py_metrics(metrics, ctx);
        AccuracyControlResult r =
            ctx->run([&] { return quantize_with_accuracy_control(model, *calib, *val, ms, params, options); });
        return accuracy_result(std::move(r), params);
      },
      py::arg("model"), py::arg("calibration"), py::arg("validation"), py::arg("validation_fn"), py::arg("fn_name"),
      py::arg("higher_better"), py::arg("metrics"), py::arg("compression_json"), py::arg("checkpoint_path"),
      py::arg("resume"), py::arg("execution"));

  m.def(
      "evaluate",
      [](const Model& model, const py::object& data, const py::list& metrics, const py::dict& execution) {
        auto ctx = std::make_shared<CallContext>();
        const DatasetPtr d = make_py_dataset(data, ctx);
        const std::vector<MetricPtr> ms = py_metrics(metrics, ctx);
        const ExecutionOptions options = execution_options(execution, ctx);
        const EvaluationResult r = ctx->run([&] { return evaluate(model, *d, ms, options); });
        py::dict out;
        out["metrics"] = r.metrics;
        out["samples"] = r.samples;
        out["seconds"] = r.seconds;
        out["inference_seconds"] = r.inference_seconds;
        out["batch_size"] = r.batch_size;
        return out;
      },
      py::arg("model"), py::arg("data"), py::arg("metrics"), py::arg("execution"));

  m.def(
      "run",
      [](const Model& model, const py::dict& inputs, const py::dict& execution) {
        auto ctx = std::make_shared<CallContext>();
        ExecutionOptions options = execution_options(execution, ctx);
        const std::map<std::string, Tensor> tensors = to_tensors(inputs, "run");
        std::map<std::string, Shape> shapes;
        for (const auto& [name, t] : tensors) shapes[name] = t.shape();
        std::vector<Tensor> out = ctx->run([&] { return InferenceSession(model, options, shapes).run(tensors); });
        py::list result;
        for (const Tensor& t : out) result.append(to_numpy(t));
        return result;
      },
      py::arg("model"), py::arg("inputs"), py::arg("execution"),
      "Runs the model once on qwac's engine: {input name: array} -> outputs in graph order.");
}
