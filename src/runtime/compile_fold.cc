// Stage 3 of the plan builder: constant folding. Everything known at compile time is computed once, with the
// reference kernels, and becomes a constant slot (dequantized weights, shape arithmetic, ...).
#include <algorithm>

#include "qwac/error.h"
#include "runtime/kernel_cache.h"
#include "runtime/plan_builder.h"

namespace qwac::runtime {
namespace {

bool is_default_domain(const std::string& d) { return d.empty() || d == "ai.onnx"; }

// Ops whose outputs depend only on input shapes, so they fold at compile time even when their input is data.
bool depends_only_on_shape(const ir::Node& n) {
  return is_default_domain(n.domain()) && (n.op_type() == "Shape" || n.op_type() == "Size");
}

}  // namespace

bool PlanBuilder::try_fold(const ir::Node& n, int64_t opset, const std::vector<int>& in_ids,
                           const std::vector<ir::TensorInfo>& infos, const std::vector<ir::OutputInfo>& outs,
                           const std::vector<int>& out_ids) {
  const bool all_known = std::all_of(in_ids.begin(), in_ids.end(), [&](int id) {
    return id < 0 || plan_->slots[id].storage == SlotStorage::kConstant;
  });
  const bool shape_only = depends_only_on_shape(n);
  if (!all_known && !shape_only) return false;

  // A Shape/Size of data reads no bytes, so its key (shapes only) is exact as well.
  std::string key;
  std::optional<std::vector<Tensor>> results;
  if (options_.kernel_cache) {
    key = "fold|" + KernelCache::key(n, opset, infos, {}, 1, false);
    results = options_.kernel_cache->find_folded(key);
  }
  if (!results) {
    const auto& folder = kernels::reference_kernel_registry();
    auto make_ctx = [&](const kernels::KernelDef&) {
      return kernels::KernelContext{n, opset, infos, outs, std::vector<kernels::BlockedFormatPtr>(in_ids.size()), 1};
    };
    kernels::KernelSelection sel = folder.select(n.op_type(), n.domain(), opset, make_ctx);
    if (!sel.kernel) {
      throw UnsupportedOp(n.describe() + ": cannot be computed at compile time: " +
                          (sel.declines.empty() ? "no kernel" : sel.declines.front()));
    }
    std::vector<Tensor> ins;
    for (int id : in_ids) {
      if (id < 0) {
        ins.emplace_back();
      } else if (plan_->slots[id].storage == SlotStorage::kConstant) {
        ins.push_back(plan_->slots[id].constant);
      } else {
        // Shape/Size read only the shape: a view without data.
        ins.push_back(Tensor::view(plan_->slots[id].dtype, plan_->slots[id].shape, nullptr));
      }
    }
    results.emplace();
    try {
      for (int id : out_ids) {
        results->push_back(id < 0 ? Tensor() : Tensor(plan_->slots[id].dtype, plan_->slots[id].shape));
      }
    } catch (const InvalidArgument& e) {  // beyond the memory budget: the model's constants ask for it
      throw InvalidModel(n.describe() + " computes a constant too large to hold: " + e.what());
    }
    sel.kernel->run(ins, *results);
    if (options_.kernel_cache) options_.kernel_cache->add_folded(key, *results);
  }
  for (size_t i = 0; i < out_ids.size(); ++i) {
    if (out_ids[i] < 0) continue;
    plan_->slots[out_ids[i]].storage = SlotStorage::kConstant;
    plan_->slots[out_ids[i]].constant = (*results)[i];
  }
  plan_->planned_nodes.push_back(planned_node(n, in_ids, out_ids, "folded", {}));
  return true;
}

}  // namespace qwac::runtime
