// NumPy arrays <-> qwac::Tensor. To a Tensor: a copy into qwac's aligned storage (the array may be discarded by
// Python at once). To NumPy: no copy; the array keeps the Tensor's storage alive.
#pragma once

#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>

#include <map>
#include <string>

#include "qwac/tensor.h"

namespace qwac::python {

namespace py = pybind11;

// DataError naming `what` for dtypes qwac has no tensor type for (object, complex, strings...).
Tensor to_tensor(const py::array& array, const std::string& what);
py::array to_numpy(const Tensor& tensor);
// {name: array} -> {name: Tensor}; `what` names the callback for messages.
std::map<std::string, Tensor> to_tensors(const py::dict& arrays, const std::string& what);

}  // namespace qwac::python
