// QuantizerSet: the single source of truth for what is quantized in a (canonicalized) model.
//
// A quantizer stands for one set of quantization parameters applied at one or more *source* tensors and read by
// one or more quantized op inputs ("edges"). Sources are where the quantization semantically happens and where
// statistics are collected: the tensor produced by the nearest non-agnostic op (or a graph input / constant) above
// the quantized input, walking up through quantize-agnostic ops (MaxPool, Reshape, Concat...). Several sources
// share one quantizer when a Concat joins them (unified scales). Because quantizing before an agnostic op equals
// quantizing after it (the op only moves, picks or pads on-grid values), materialization may also re-insert the
// same Q/DQ after agnostic ops without changing any number; that gives runtimes the int8 patterns they fuse.
//
// Groups are the unit the accuracy search reverts: the transitive closure of quantizers and the quantized ops
// that read them, so a Conv's weight and input quantizers are one group, and every branch of a Concat joins it.
//
// Algorithms edit only this object (enable/disable, parameters); `materialize` (quant/qdq_materialize.h) turns it
// into a QDQ graph. Ids are dense indices, stable for a given model and configuration.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "core/dtype.h"
#include "qwac/precision.h"

namespace qwac::quant {

enum class QuantizerKind { kWeight, kActivation };
enum class QuantMode { kSymmetric, kAsymmetric };
enum class Granularity { kPerTensor, kPerChannel };

// One quantized input of an op: node `node` reads the quantizer's output at input `input_index`.
struct QuantizedEdge {
  std::string node;
  int input_index = 0;
  bool operator==(const QuantizedEdge&) const = default;
};

// What a quantizer must look like (from the target-device config and the preset). Resolved further by the
// statistics: a symmetric activation quantizer whose range is non-negative becomes unsigned (uint8, zero-point 0),
// as NNCF/POT do for Relu outputs.
struct QuantizerSpec {
  int bits = 8;                     // 8 or 16
  QuantMode mode = QuantMode::kSymmetric;
  Granularity granularity = Granularity::kPerTensor;
  bool narrow_range = false;        // [-127, 127] instead of [-128, 127] (signed weights)
  bool is_signed = true;            // weights: always signed; activations: decided from the range when symmetric
  bool signedness_from_range = false;  // true for symmetric activations: unsigned when the range is >= 0
  int64_t axis = -1;                // per-channel: the tensor axis that holds the channels (e.g. 0 for Conv W)
  bool operator==(const QuantizerSpec&) const = default;
};

// Final parameters, filled by the range estimation (quant/quant_params.h). Per-tensor: one scale/zero-point.
struct QuantParams {
  DType dtype = DType::kInt8;           // kInt8, kUInt8, kInt16, kUInt16
  int64_t axis = -1;                    // per-channel axis, -1 for per-tensor
  std::vector<float> scale;             // > 0, finite
  std::vector<int32_t> zero_point;      // within [qmin, qmax]
  int32_t qmin = -128, qmax = 127;      // integer range used (narrow range: -127)
  std::vector<float> range_min, range_max;  // the real range represented, per channel (after zero adjustment)
};

// The quantizer at one rung: same range, other bits (quant/precision_ladder.h).
struct QuantizerRung {
  QuantizerSpec spec;
  QuantParams params;
};

struct Quantizer {
  int id = -1;
  QuantizerKind kind = QuantizerKind::kActivation;
  std::vector<std::string> sources;     // tensors quantized (in the canonical graph); >1 = unified (Concat)
  std::vector<QuantizedEdge> edges;     // op inputs that read the quantized value (through agnostic ops or not)
  QuantizerSpec spec;
  std::optional<QuantParams> params;    // nullopt until statistics are collected
  std::string range_method;             // how the range was chosen ("mean of per-sample abs max", ...), for reports
  double clipping_ratio = 0.0;          // fraction of calibration values outside the chosen range (activations)
  bool enabled = true;                  // false = reverted to float
  // The precision ladder: rungs[0] is the preset's spec/params, rungs[r] the ladder's rung r (empty = no ladder).
  // `spec` and `params` are always those of the current rung (set_rung), so materialization reads only them.
  std::vector<QuantizerRung> rungs;
  int rung = 0;
  void set_rung(int r);
  int group = -1;
  // "Conv 'conv1' input 0" style readable name, for reports.
  std::string name;
  // Output quantizers (placement.h): the quantized op whose output this is; empty for input quantizers.
  std::string producer;
};

struct QuantizerGroup {
  int id = -1;
  std::string name;                     // readable: the quantized ops it covers, e.g. "Conv conv1 (+2 ops)"
  std::vector<int> quantizers;          // ids, ascending
  std::vector<std::string> ops;         // names of the quantized ops that go back to float when reverted
};

// A quantizable op that received no quantizers, and why (ignored scope, not in the target config, ...).
struct FloatOp {
  std::string node;
  std::string op_type;
  std::string reason;
};

class QuantizerSet {
 public:
  std::vector<Quantizer> quantizers;   // index == id
  std::vector<QuantizerGroup> groups;  // index == id
  std::vector<FloatOp> float_ops;      // quantizable ops left in float, with the reason
  std::vector<std::string> quantized_ops;  // ops with at least one quantized input (sorted by topological order)

  Quantizer& at(int id) { return quantizers.at(static_cast<size_t>(id)); }
  const Quantizer& at(int id) const { return quantizers.at(static_cast<size_t>(id)); }

  // Enables/disables every quantizer of a group (reverting a group = disabling it).
  void set_group_enabled(int group, bool enabled);
  bool group_enabled(int group) const;  // true when every quantizer of the group is enabled

  // Quantizers that read from tensor `source` (nullptr when none).
  const Quantizer* find_by_source(const std::string& source) const;
  // Quantizer id feeding `edge`, or -1.
  int quantizer_for_edge(const QuantizedEdge& edge) const;

  // Recomputes `groups` from quantizers' edges: union-find over quantizers that share a quantized op (an op of
  // `quantized_ops`; every edge's op when that list is empty); a quantizer read by no quantized op joins its
  // producer's group. Group ids follow the topological position of each group's first op; names list the ops.
  void build_groups(const std::vector<std::string>& topo_order);
};

}  // namespace qwac::quant
