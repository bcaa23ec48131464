#include "arrays.h"

#include <cstring>
#include <utility>

#include "qwac/error.h"

namespace qwac::python {
namespace {

struct DTypePair {
  DType qwac;
  char kind;  // numpy dtype kind: 'f' float, 'i' signed, 'u' unsigned, 'b' bool
  int itemsize;
};

constexpr DTypePair kPairs[] = {
    {DType::kFloat32, 'f', 4}, {DType::kFloat64, 'f', 8}, {DType::kFloat16, 'f', 2}, {DType::kInt8, 'i', 1},
    {DType::kInt16, 'i', 2},   {DType::kInt32, 'i', 4},   {DType::kInt64, 'i', 8},   {DType::kUInt8, 'u', 1},
    {DType::kUInt16, 'u', 2},  {DType::kUInt32, 'u', 4},  {DType::kUInt64, 'u', 8},  {DType::kBool, 'b', 1},
};

py::dtype numpy_dtype(DType t) {
  for (const DTypePair& p : kPairs) {
    if (p.qwac != t) continue;
    if (p.kind == 'b') return py::dtype::of<bool>();
    const char* base = p.kind == 'f' ? "float" : p.kind == 'i' ? "int" : "uint";
    return py::dtype::from_args(py::str(std::string(base) + std::to_string(8 * p.itemsize)));
  }
  throw InternalError("no NumPy dtype for tensor type " + std::string(dtype_name(t)));
}

}  // namespace

Tensor to_tensor(const py::array& input, const std::string& what) {
  const py::dtype dt = input.dtype();
  DType type = DType::kUndefined;
  for (const DTypePair& p : kPairs) {
    if (dt.kind() == p.kind && dt.itemsize() == p.itemsize) type = p.qwac;
  }
  if (type == DType::kUndefined) {
    throw DataError(what + ": NumPy dtype '" + dt.attr("name").cast<std::string>() +
                    "' has no tensor type (give float32, float64, integer or bool arrays)");
  }
  const auto array = py::array::ensure(input, py::array::c_style);
  Shape shape(static_cast<size_t>(array.ndim()));
  for (py::ssize_t i = 0; i < array.ndim(); ++i) shape[static_cast<size_t>(i)] = array.shape(i);
  Tensor t(type, shape);
  if (t.nbytes() > 0) std::memcpy(t.raw(), array.data(), t.nbytes());
  return t;
}

py::array to_numpy(const Tensor& tensor) {
  auto* owner = new Tensor(tensor);  // shares the storage; freed with the array
  py::capsule keep(owner, [](void* p) { delete static_cast<Tensor*>(p); });
  std::vector<py::ssize_t> shape(tensor.shape().begin(), tensor.shape().end());
  return py::array(numpy_dtype(tensor.dtype()), shape, owner->raw(), keep);
}

std::map<std::string, Tensor> to_tensors(const py::dict& arrays, const std::string& what) {
  std::map<std::string, Tensor> out;
  for (const auto& [key, value] : arrays) {
    const std::string name = py::str(key);
    const py::array array = py::array::ensure(value);
    if (!array) {
      PyErr_Clear();
      throw DataError(what + " input '" + name + "': expected a NumPy array (or what numpy.asarray accepts), got " +
                      py::str(py::type::of(value).attr("__name__")).cast<std::string>());
    }
    out.emplace(name, to_tensor(array, what + " input '" + name + "'"));
  }
  return out;
}

}  // namespace qwac::python
