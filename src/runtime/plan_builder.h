// Engine::compile in stages. A PlanBuilder turns the engine's private graph (after engine passes) into a Plan for
// concrete input shapes:
//   1. slots      (plan_builder.cc)   a value slot for every graph input and constant;
//   2. inference  (plan_builder.cc)   per node in topological order: output dtypes and shapes (ir::infer_node);
//   3. folding    (compile_fold.cc)   a node whose inputs are all known is computed now (reference kernels);
//   4. selection  (compile_select.cc) otherwise the registry's first accepting kernel, from the kernel cache when
//                                     the same node in the same context was compiled before;
//   5. layouts    (compile_select.cc) conversions to plain layout where a kernel cannot read a blocked input, and
//                                     for graph outputs; taps;
//   6. memory     (compile_memory.cc) in-place concat, lifetimes, arena offsets (liveness-based reuse).
// Private to the runtime.
#pragma once

#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "runtime/engine.h"
#include "runtime/plan.h"

namespace qwac::runtime {

class PlanBuilder {
 public:
  PlanBuilder(const ir::Model& model, const EngineOptions& options);
  std::unique_ptr<Plan> build(const std::map<std::string, Shape>& input_shapes);

 private:
  // 1. slots
  int new_slot(const std::string& name);
  void add_input_and_constant_slots(const std::map<std::string, Shape>& input_shapes);
  // 2-5, per node
  void add_node(const ir::Node& n);
  bool try_fold(const ir::Node& n, int64_t opset, const std::vector<int>& in_ids,
                const std::vector<ir::TensorInfo>& infos, const std::vector<ir::OutputInfo>& outs,
                const std::vector<int>& out_ids);
  void select_kernel(const ir::Node& n, int64_t opset, const std::vector<int>& in_ids,
                     const std::vector<ir::TensorInfo>& infos, const std::vector<ir::OutputInfo>& outs,
                     const std::vector<int>& out_ids);
  int plain_slot(int id);
  ir::TensorInfo info_of(int id) const;
  PlannedNode planned_node(const ir::Node& n, const std::vector<int>& in_ids, const std::vector<int>& out_ids,
                           std::string impl, std::vector<std::string> declines) const;
  void add_outputs_and_taps();
  // 6. memory
  void plan_memory();

  const ir::Model& model_;
  const EngineOptions& options_;
  std::unique_ptr<Plan> plan_;
  std::set<std::string> tap_names_;
  std::set<const ir::Value*> graph_outputs_;
  std::vector<std::string> unsupported_;
};

}  // namespace qwac::runtime
