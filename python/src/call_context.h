// One call from Python into qwac: the GIL is released while the library computes, and every callback into Python
// (a dataset's sample, a metric's update, a validation function, a progress tick) re-acquires it, from whatever
// thread the library calls it. The first Python exception raised in a callback (including KeyboardInterrupt from
// Ctrl-C, checked at every callback and progress tick) is kept here and stops the run: the library unwinds (no
// output file is written) and the boundary re-raises that exception, with its traceback, instead of any error the
// library derived from it.
#pragma once

#include <pybind11/pybind11.h>

#include <atomic>
#include <exception>
#include <memory>
#include <mutex>
#include <optional>
#include <utility>

#include "qwac/error.h"

namespace qwac::python {

namespace py = pybind11;

// Thrown through the library when a callback failed; never seen by Python (the kept exception is raised instead).
class CallbackFailed final : public std::exception {
 public:
  const char* what() const noexcept override { return "a Python callback raised an exception"; }
};

class CallContext {
 public:
  // Runs `fn` with the GIL held; a Python exception (or a pending signal such as Ctrl-C) is kept and turned into
  // CallbackFailed. Once a callback failed, later ones fail at once without calling Python.
  template <typename Fn>
  auto call(Fn&& fn) -> decltype(fn()) {
    if (failed_.load()) throw CallbackFailed();
    py::gil_scoped_acquire gil;
    try {
      if (PyErr_CheckSignals() != 0) throw py::error_already_set();  // Ctrl-C (main thread only)
      return fn();
    } catch (py::error_already_set& e) {
      keep(std::move(e));
    } catch (const py::cast_error& e) {
      // A callback returned something of the wrong type: a one-line DataError naming what was expected.
      throw DataError(std::string("a Python callback returned a value of the wrong type: ") + e.what());
    }
    throw CallbackFailed();
  }

  // Runs the library call `fn` with the GIL released; re-raises a kept Python exception, if any. Called with the
  // GIL held.
  template <typename Fn>
  auto run(Fn&& fn) -> decltype(fn()) {
    std::exception_ptr library_error;
    try {
      py::gil_scoped_release release;
      return fn();
    } catch (...) {
      library_error = std::current_exception();
    }
    if (error_) {
      py::error_already_set e = std::move(*error_);
      error_.reset();
      throw e;  // pybind11 restores the original Python exception and its traceback
    }
    std::rethrow_exception(library_error);
  }

 private:
  void keep(py::error_already_set&& e) {
    std::lock_guard<std::mutex> lock(mutex_);
    if (!failed_.exchange(true)) error_.emplace(std::move(e));
  }

  std::mutex mutex_;
  std::atomic<bool> failed_{false};
  std::optional<py::error_already_set> error_;
};

using CallContextPtr = std::shared_ptr<CallContext>;

}  // namespace qwac::python
