// The library's interfaces (Dataset, Metric, ValidationFunction, Progress) implemented by Python objects. Each
// callback goes through the call's CallContext (GIL, kept exceptions, Ctrl-C). Adapters hold Python references:
// create and destroy them with the GIL held (around CallContext::run, never inside it).
//
// The Python side (python/qwac/_adapters.py) gives them these small protocols, so the user-facing shapes (NNCF's
// Dataset + transform_fn, POT's DataLoader and Metric) stay in Python:
//   sample provider:  len(p); p.sample(i) -> (inputs: {name: ndarray}, label: int|None, text: str|None,
//                                             metadata: {str: str}|None); p.describe() -> str
//   metric adapter:   .name, .higher_better, .type; update(outputs: [ndarray], indices: [int], metadata: [dict]);
//                     value() -> float; avg_value() -> float; reset(); per_sample_values() -> [float] | None
//   validation fn:    fn(compiled_model: _qwac.CompiledModel, indices: [int]) -> (float, [float] | None)
#pragma once

#include <pybind11/pybind11.h>

#include <memory>
#include <string>
#include <vector>

#include "call_context.h"
#include "qwac/accuracy_control.h"
#include "qwac/dataset.h"
#include "qwac/logger.h"
#include "qwac/metric.h"

namespace qwac::python {

DatasetPtr make_py_dataset(py::object provider, CallContextPtr ctx);
MetricPtr make_py_metric(py::object adapter, CallContextPtr ctx);
ValidationFunction make_py_validation_function(py::object fn, std::string name, bool higher_better,
                                               CallContextPtr ctx);
// The console progress (as the CLI shows it, or none when `show` is false) with a Ctrl-C check at every tick.
std::shared_ptr<Progress> make_py_progress(bool show, CallContextPtr ctx);

// What a validation function receives: qwac's engine for the candidate being validated, valid during the call.
class PyCompiledModel {
 public:
  explicit PyCompiledModel(CompiledModel* model, CallContextPtr ctx) : model_(model), ctx_(std::move(ctx)) {}
  // {name: array} -> outputs in graph order; releases the GIL while the engine runs.
  py::list infer(const py::dict& inputs);
  std::vector<std::string> input_names() const;
  std::vector<std::string> output_names() const;
  py::list inputs() const;   // [(name, dtype name, shape)]
  py::list outputs() const;
  void invalidate() { model_ = nullptr; }

 private:
  CompiledModel& model() const;
  CompiledModel* model_;
  CallContextPtr ctx_;
};

}  // namespace qwac::python
