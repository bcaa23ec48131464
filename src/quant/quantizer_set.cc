#include "quant/quantizer_set.h"

#include <algorithm>
#include <map>
#include <numeric>
#include <set>

#include "qwac/error.h"

namespace qwac::quant {

void Quantizer::set_rung(int r) {
  if (r == rung) return;
  if (r < 0 || static_cast<size_t>(r) >= rungs.size()) {
    throw InternalError("quantizer '" + name + "' has " + std::to_string(rungs.size()) + " precision rungs, rung " +
                        std::to_string(r) + " requested");
  }
  spec = rungs[static_cast<size_t>(r)].spec;
  params = rungs[static_cast<size_t>(r)].params;
  rung = r;
}

void QuantizerSet::set_group_enabled(int group, bool enabled) {
  for (int q : groups.at(static_cast<size_t>(group)).quantizers) at(q).enabled = enabled;
}

bool QuantizerSet::group_enabled(int group) const {
  const QuantizerGroup& g = groups.at(static_cast<size_t>(group));
  return std::all_of(g.quantizers.begin(), g.quantizers.end(), [&](int q) { return at(q).enabled; });
}

const Quantizer* QuantizerSet::find_by_source(const std::string& source) const {
  for (const Quantizer& q : quantizers) {
    if (std::find(q.sources.begin(), q.sources.end(), source) != q.sources.end()) return &q;
  }
  return nullptr;
}

int QuantizerSet::quantizer_for_edge(const QuantizedEdge& edge) const {
  for (const Quantizer& q : quantizers) {
    if (std::find(q.edges.begin(), q.edges.end(), edge) != q.edges.end()) return q.id;
  }
  return -1;
}

void QuantizerSet::build_groups(const std::vector<std::string>& topo_order) {
  std::map<std::string, size_t> rank;
  for (size_t i = 0; i < topo_order.size(); ++i) rank[topo_order[i]] = i;
  auto rank_of = [&](const std::string& node) {
    auto it = rank.find(node);
    if (it == rank.end()) throw InternalError("quantized op '" + node + "' is not in the graph's topological order");
    return it->second;
  };

  // Union-find over quantizers: two quantizers read by the same quantized op belong to one group. Edges into ops
  // that are not quantized (float readers of an output quantizer) neither join nor name groups.
  const std::set<std::string> quantized(quantized_ops.begin(), quantized_ops.end());
  auto is_quantized_op = [&](const std::string& node) { return quantized.empty() || quantized.count(node) != 0; };
  std::vector<int> parent(quantizers.size());
  std::iota(parent.begin(), parent.end(), 0);
  auto find = [&](int x) {
    while (parent[x] != x) x = parent[x] = parent[parent[x]];
    return x;
  };
  std::map<std::string, int> first_quantizer_of_op;
  for (const Quantizer& q : quantizers) {
    for (const QuantizedEdge& e : q.edges) {
      if (!is_quantized_op(e.node)) continue;
      auto [it, inserted] = first_quantizer_of_op.emplace(e.node, q.id);
      if (!inserted) parent[find(q.id)] = find(it->second);
    }
  }
  // An output quantizer that no quantized op reads goes with its producer.
  for (const Quantizer& q : quantizers) {
    const bool read = std::any_of(q.edges.begin(), q.edges.end(),
                                  [&](const QuantizedEdge& e) { return is_quantized_op(e.node); });
    if (read || q.producer.empty()) continue;
    auto it = first_quantizer_of_op.find(q.producer);
    if (it != first_quantizer_of_op.end()) parent[find(q.id)] = find(it->second);
  }

  // Collect members and ops per root; order groups by the topological position of their first op.
  std::map<int, std::vector<int>> members;
  for (const Quantizer& q : quantizers) members[find(q.id)].push_back(q.id);
  std::vector<QuantizerGroup> built;
  for (auto& [root, ids] : members) {
    QuantizerGroup g;
    g.quantizers = ids;
    std::vector<std::string> ops;
    for (int id : ids) {
      for (const QuantizedEdge& e : at(id).edges) {
        if (is_quantized_op(e.node) && std::find(ops.begin(), ops.end(), e.node) == ops.end()) ops.push_back(e.node);
      }
    }
    std::sort(ops.begin(), ops.end(), [&](const std::string& a, const std::string& b) { return rank_of(a) < rank_of(b); });
    g.ops = std::move(ops);
    built.push_back(std::move(g));
  }
  std::stable_sort(built.begin(), built.end(), [&](const QuantizerGroup& a, const QuantizerGroup& b) {
    const size_t ra = a.ops.empty() ? SIZE_MAX : rank_of(a.ops.front());
    const size_t rb = b.ops.empty() ? SIZE_MAX : rank_of(b.ops.front());
    return ra < rb;
  });
  groups = std::move(built);
  for (size_t i = 0; i < groups.size(); ++i) {
    QuantizerGroup& g = groups[i];
    g.id = static_cast<int>(i);
    g.name = g.ops.empty() ? "(no op)" : g.ops.front();
    if (g.ops.size() > 1) g.name += " (+" + std::to_string(g.ops.size() - 1) + " op" + (g.ops.size() > 2 ? "s" : "") + ")";
    for (int q : g.quantizers) at(q).group = g.id;
  }
}

}  // namespace qwac::quant
