// What decides a node's computation, as text: the basis of the kernel cache (a node compiled once is not compiled
// again by another plan) and of partial re-execution (a variant model re-runs only the nodes whose signature differs
// from the base model's).
#pragma once

#include <cstdint>
#include <string>

#include "core/tensor.h"
#include "ir/graph.h"

namespace qwac::runtime {

// A 64-bit hash of a tensor's bytes (words mixed 8 bytes at a time; a weight of several MB hashes in about a
// millisecond), with its dtype and shape: "float32[64,3,3,3]#<hash>".
std::string tensor_digest(const Tensor& t);

// The node's domain, op, attributes, input value names (constant inputs with their digest) and output value names.
// Two nodes with the same signature compute the same outputs from the same input values. The node's own name is
// not part of it.
std::string node_signature(const ir::Node& n);

}  // namespace qwac::runtime
