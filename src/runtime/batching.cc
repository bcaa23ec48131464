#include "runtime/batching.h"

#include <algorithm>
#include <cstring>

#include "qwac/error.h"

namespace qwac::runtime {

// The model's input shapes for a batch, taken from the first sample's tensors.
std::map<std::string, Shape> batch_shapes(const Sample& first, int64_t batch) {
  std::map<std::string, Shape> shapes;
  for (const auto& [name, t] : first.inputs) {
    Shape s = t.shape();
    if (s.empty()) throw DataError("input '" + name + "' of sample 0 is a scalar; expected a leading batch dimension");
    s[0] = batch;
    shapes[name] = s;
  }
  return shapes;
}

// The first `count` samples of a batched tensor `t` that the caller owns.
Tensor first_samples(const Tensor& t, int64_t count, int64_t batch) {
  Shape s = t.shape();
  if (s.empty() || s[0] != batch || count == batch) return t;
  s[0] = count;
  return Tensor::view(t.dtype(), s, const_cast<void*>(t.raw())).clone();
}

// Sample k of a batched output tensor, as its own tensor with batch dim 1.
Tensor slice_sample(const Tensor& t, int64_t k, int64_t batch) {
  Shape s = t.shape();
  if (s.empty() || s[0] != batch) return t;  // an output without the batch dimension (rare): shared as is
  s[0] = 1;
  Tensor out(t.dtype(), s);
  const size_t bytes = out.nbytes();
  std::memcpy(out.raw(), static_cast<const std::byte*>(t.raw()) + k * bytes, bytes);
  return out;
}

void check_inputs_match(const Sample& s, const std::vector<runtime::IoSpec>& specs, int64_t index) {
  for (const auto& spec : specs) {
    auto it = s.inputs.find(spec.name);
    if (it == s.inputs.end()) {
      std::string have;
      for (const auto& [name, t] : s.inputs) have += (have.empty() ? "" : ", ") + name;
      throw DataError("sample " + std::to_string(index) + " has no input '" + spec.name +
                      "' that the model needs (the dataset provides: " + have + ")");
    }
    Shape expected = spec.shape;
    expected[0] = 1;
    if (it->second.shape() != expected || it->second.dtype() != spec.dtype) {
      throw DataError("sample " + std::to_string(index) + " input '" + spec.name + "' is " + it->second.describe() +
                      " but the model expects " + std::string(dtype_name(spec.dtype)) + shape_to_string(expected) +
                      " per sample; check the preprocessing (crop/size/layout)");
    }
  }
  for (const auto& [name, t] : s.inputs) {
    if (std::none_of(specs.begin(), specs.end(), [&](const runtime::IoSpec& sp) { return sp.name == name; })) {
      throw DataError("sample " + std::to_string(index) + " provides input '" + name + "', which the model lacks");
    }
  }
}

// The engine accepts any input shape it can compile (a fully convolutional model runs on 200x200 as well as on
// 224x224), so a preprocessing mistake would go unnoticed: compare the first sample with the shapes the model
// declares. The batch dimension (0) is exempt, it is overridden; symbolic dimensions accept any size.
void check_against_declared_inputs(const Sample& s, const ir::Graph& graph) {
  for (const ir::Value* in : graph.inputs()) {
    auto it = s.inputs.find(in->name());
    if (it == s.inputs.end()) continue;  // reported by check_inputs_match with the list the dataset provides
    const Tensor& t = it->second;
    if (t.dtype() != in->type.dtype) {
      throw DataError("sample 0 input '" + in->name() + "' is " + t.describe() + " but the model declares " +
                      std::string(dtype_name(in->type.dtype)) + "; check the preprocessing dtype");
    }
    if (!in->type.shape) continue;
    const ir::SymbolicShape& declared = *in->type.shape;
    bool ok = declared.size() == t.shape().size();
    for (size_t d = 1; ok && d < declared.size(); ++d) ok = declared[d].size < 0 || declared[d].size == t.shape()[d];
    if (!ok) {
      std::string want = "[";
      for (size_t d = 0; d < declared.size(); ++d) {
        want += (d ? "," : "") + (d == 0 ? std::string("1") : declared[d].size >= 0 ? std::to_string(declared[d].size)
                                                                                  : declared[d].param);
      }
      throw DataError("sample 0 input '" + in->name() + "' is " + t.describe() + " but the model expects " +
                      std::string(dtype_name(in->type.dtype)) + want + "] per sample; check the preprocessing " +
                      "(crop/resize/layout)");
    }
  }
}

}  // namespace qwac::runtime
