#include "data/npy_dataset.h"

#include <cstring>
#include <filesystem>

#include "data/npy.h"
#include "data/sample_check.h"
#include "qwac/error.h"

namespace qwac::data {

NpyDataset::NpyDataset(NpyDatasetOptions options) : options_(std::move(options)) {
  if (options_.inputs.empty()) throw InvalidArgument("npy dataset: no inputs mapped to arrays");
  std::map<std::string, Tensor> npz;
  if (!options_.npz_path.empty()) npz = read_npz(options_.npz_path);
  const std::string where = options_.npz_path.empty() ? std::string() : " in '" + options_.npz_path + "'";
  auto load = [&](const std::string& source) -> Tensor {
    if (options_.npz_path.empty()) return read_npy(source);
    auto it = npz.find(source);
    if (it == npz.end()) {
      std::string present;
      for (const auto& [k, v] : npz) present += (present.empty() ? "" : ", ") + k;
      throw DataError("array '" + source + "' not found" + where + " (arrays: " + present + ")");
    }
    return it->second;
  };
  if (options_.name.empty()) {
    options_.name = std::filesystem::path(options_.npz_path.empty() ? options_.inputs[0].source : options_.npz_path)
                        .filename()
                        .string();
  }
  std::string first_source;
  for (const NpyInput& in : options_.inputs) {
    if (in.input_name.empty()) throw InvalidArgument("npy dataset: an input mapping has an empty input name");
    Tensor t = load(in.source);
    if (t.rank() < 1)
      throw DataError("array '" + in.source + "'" + where + " is a scalar; it needs a sample dimension");
    if (arrays_.empty()) {
      count_ = t.dim(0);
      first_source = in.source;
    } else if (t.dim(0) != count_) {
      throw DataError("array '" + in.source + "'" + where + " has " + std::to_string(t.dim(0)) + " samples, array '" +
                      first_source + "' has " + std::to_string(count_));
    }
    if (!arrays_.emplace(in.input_name, std::move(t)).second) {
      throw InvalidArgument("npy dataset: input '" + in.input_name + "' is mapped twice");
    }
  }
  if (!options_.labels_source.empty()) {
    const Tensor l = load(options_.labels_source);
    if (l.rank() != 1 || l.dim(0) != count_) {
      throw DataError("labels array '" + options_.labels_source + "'" + where + " is " + l.describe() +
                      ", expected 1-D with " + std::to_string(count_) + " entries");
    }
    labels_.resize(static_cast<size_t>(count_));
    auto copy = [&](auto tag) {
      using T = decltype(tag);
      const T* p = l.data<T>();
      for (int64_t i = 0; i < count_; ++i) labels_[static_cast<size_t>(i)] = static_cast<int64_t>(p[i]);
    };
    // Integer label types only: a float label array is a user mistake worth naming.
    if (dtype_traits(l.dtype()).is_float || l.dtype() == DType::kBool) {
      throw DataError("labels array '" + options_.labels_source + "'" + where + " has dtype " +
                      std::string(dtype_name(l.dtype())) + "; expected an integer type");
    }
    dispatch_dtype(l.dtype(), copy);
  }
}

Sample NpyDataset::get(int64_t index) const {
  check_index(index, count_, describe());
  Sample s;
  for (const auto& [name, t] : arrays_) {
    Shape shape = t.shape();
    shape[0] = 1;
    Tensor slice(t.dtype(), shape);
    const size_t bytes = slice.nbytes();
    std::memcpy(slice.raw(), static_cast<const std::byte*>(t.raw()) + static_cast<size_t>(index) * bytes, bytes);
    s.inputs.emplace(name, std::move(slice));
  }
  if (!labels_.empty()) s.annotation.label = labels_[static_cast<size_t>(index)];
  s.metadata["index"] = std::to_string(index);
  s.metadata["id"] = std::to_string(index);
  check_sample_finite(s, describe(), index);
  return s;
}

std::string NpyDataset::describe() const {
  return "numpy arrays " + options_.name + " (" + std::to_string(count_) + " samples)";
}

}  // namespace qwac::data
