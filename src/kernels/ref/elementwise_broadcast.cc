#include "kernels/ref/elementwise_broadcast.h"

#include "qwac/error.h"

namespace qwac::kernels::ref {

BroadcastPlan::BroadcastPlan(const Shape& output, const std::vector<Shape>& inputs) {
  numel_ = shape_numel(output);
  const size_t rank = output.size();
  const size_t n_in = inputs.size();

  // Per kept output dim: its size and, per input, whether the input is present (true) or broadcast along it.
  struct MergedDim {
    int64_t size;
    std::vector<bool> present;
  };
  std::vector<MergedDim> dims;
  for (size_t d = 0; d < rank; ++d) {
    if (output[d] == 1) continue;  // contributes nothing to any offset
    MergedDim md{output[d], std::vector<bool>(n_in)};
    for (size_t i = 0; i < n_in; ++i) {
      const Shape& s = inputs[i];
      if (s.size() > rank) throw InternalError("BroadcastPlan: input rank exceeds output rank");
      const size_t lead = rank - s.size();
      const int64_t in_dim = d < lead ? 1 : s[d - lead];
      if (in_dim != output[d] && in_dim != 1) {
        throw InternalError("BroadcastPlan: input shape " + shape_to_string(s) + " does not broadcast to " +
                            shape_to_string(output));
      }
      md.present[i] = in_dim == output[d];
    }
    if (!dims.empty() && dims.back().present == md.present) {
      dims.back().size *= md.size;
    } else {
      dims.push_back(std::move(md));
    }
  }
  if (dims.empty()) dims.push_back(MergedDim{1, std::vector<bool>(n_in, true)});

  // Input strides: an input's memory holds only its present dims, row-major.
  std::vector<std::vector<int64_t>> strides(n_in, std::vector<int64_t>(dims.size(), 0));
  for (size_t i = 0; i < n_in; ++i) {
    int64_t stride = 1;
    for (size_t d = dims.size(); d-- > 0;) {
      if (dims[d].present[i]) {
        strides[i][d] = stride;
        stride *= dims[d].size;
      }
    }
  }

  inner_ = dims.back().size;
  inner_strides_.resize(n_in);
  outer_strides_.assign(n_in, {});
  for (size_t i = 0; i < n_in; ++i) {
    inner_strides_[i] = strides[i].back();
    outer_strides_[i].assign(strides[i].begin(), strides[i].end() - 1);
  }
  for (size_t d = 0; d + 1 < dims.size(); ++d) outer_dims_.push_back(dims[d].size);
  if (inner_ == 0) numel_ = 0;
}

}  // namespace qwac::kernels::ref
