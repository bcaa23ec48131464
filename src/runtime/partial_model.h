// Partial re-execution: a variant of a base model (the same graph with some nodes changed, e.g. a group of
// quantizers reverted) computes exactly what the base computes upstream of its changes. So the base runs with taps
// on the tensors where the variant starts to differ (the cut), and the variant runs only its changed part, a
// sub-model whose inputs are those tensors: run_from(cut tensors).
//
// The values equal those of running the variant whole up to float rounding: a cut tensor enters the sub-model in
// plain layout, where oneDNN may choose another convolution kernel (another summation order) than after a blocked
// producer. Runs stay deterministic.
#pragma once

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/tensor.h"
#include "ir/graph.h"
#include "runtime/engine.h"

namespace qwac::runtime {

// The part of `variant` that differs from `base`: nodes whose signature (runtime/node_signature.h) differs from the
// same-named node of `base`, everything downstream of them, and the compile-time-known producers they read (shape
// arithmetic, dequantized weights: recomputed, not fed). `cut` lists the tensors the part reads from the unchanged
// part (they exist in `base` with the same values) and every graph input (the sub-model keeps them).
struct ChangedPart {
  std::vector<std::string> changed_nodes;  // topological order
  std::vector<std::string> cut;            // tensors to feed, sorted
  size_t total_nodes = 0;                  // nodes of the variant
};

// nullopt when the variant cannot be split (a graph output outside the changed part, different graph inputs).
std::optional<ChangedPart> find_changed_part(const ir::Model& base, const ir::Model& variant);

// The variant reduced to its changed part, its cut tensors as graph inputs of the given dtypes and shapes.
ir::Model changed_part_model(const ir::Model& variant, const ChangedPart& part,
                             const std::map<std::string, std::pair<DType, Shape>>& cut_types);

// A variant compiled from its cut: run_from() takes the cut tensors (as tapped from the base's run, any batch size:
// a new batch size recompiles) and returns the variant's graph outputs. The engine is compiled by compile() when
// the cut's types are known before the first run (from the base engine's plan: Engine::tap_type), so compilation
// is paid and counted where it happens; otherwise by the first run_from().
// The sub-model of a variant for given cut types, after the engine passes: immutable, shared by the PartialEngines
// of the same variant on every stream, which then only compile their own plans.
struct PreparedPart {
  std::map<std::string, std::pair<DType, Shape>> cut_types;
  std::shared_ptr<const ir::Model> sub;
  std::shared_ptr<const PreparedModel> prepared;
};

class PartialEngine {
 public:
  PartialEngine(const ir::Model& variant, ChangedPart part, EngineOptions options);
  const ChangedPart& part() const { return part_; }
  // Builds the sub-model and compiles its engine for these cut types (every cut tensor, as the base delivers it).
  // `shared`, when given for the same cut types and made with the same pass options, saves building the sub-model
  // and running the passes again.
  void compile(const std::map<std::string, std::pair<DType, Shape>>& cut_types,
               std::shared_ptr<const PreparedPart> shared = nullptr);
  // What the last compile() started from (nullptr before it).
  std::shared_ptr<const PreparedPart> prepared() const { return prepared_; }
  std::vector<Tensor> run_from(const std::map<std::string, Tensor>& cut);
  const std::vector<IoSpec>& outputs() const;

 private:
  const ir::Model& variant_;
  ChangedPart part_;
  EngineOptions options_;
  std::shared_ptr<const PreparedPart> prepared_;
  std::unique_ptr<Engine> engine_;
  std::map<std::string, Shape> shapes_;
};

}  // namespace qwac::runtime
