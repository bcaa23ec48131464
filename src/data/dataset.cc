// Dataset helpers declared in include/qwac/dataset.h: subsets, seeded index selection, batching.
#include "qwac/dataset.h"

#include <algorithm>
#include <cstring>
#include <unordered_set>

#include "data/prng.h"
#include "qwac/error.h"

namespace qwac {
namespace {

class SubsetDataset final : public Dataset {
 public:
  SubsetDataset(DatasetPtr base, std::vector<int64_t> indices) : base_(std::move(base)), indices_(std::move(indices)) {
    if (!base_) throw InvalidArgument("make_subset: base dataset is null");
    const int64_t n = base_->size();
    for (size_t i = 0; i < indices_.size(); ++i) {
      if (indices_[i] < 0 || indices_[i] >= n) {
        throw DataError("subset of " + base_->describe() + ": index " + std::to_string(indices_[i]) + " (entry " +
                        std::to_string(i) + ") is outside [0, " + std::to_string(n) + ")");
      }
    }
  }
  int64_t size() const override { return static_cast<int64_t>(indices_.size()); }
  Sample get(int64_t index) const override {
    if (index < 0 || index >= size()) {
      throw DataError("subset of " + base_->describe() + ": sample index " + std::to_string(index) +
                      " is outside [0, " + std::to_string(size()) + ")");
    }
    Sample s = base_->get(indices_[static_cast<size_t>(index)]);
    if (s.index < 0) s.index = base_->source_index(indices_[static_cast<size_t>(index)]);
    return s;
  }
  int64_t source_index(int64_t index) const override {
    if (index < 0 || index >= size()) {
      throw DataError("subset of " + base_->describe() + ": sample index " + std::to_string(index) +
                      " is outside [0, " + std::to_string(size()) + ")");
    }
    return base_->source_index(indices_[static_cast<size_t>(index)]);
  }
  std::string describe() const override {
    return "subset (" + std::to_string(indices_.size()) + " samples) of " + base_->describe();
  }

 private:
  DatasetPtr base_;
  std::vector<int64_t> indices_;
};

}  // namespace

DatasetPtr make_subset(DatasetPtr base, std::vector<int64_t> indices) {
  return std::make_shared<SubsetDataset>(std::move(base), std::move(indices));
}

std::vector<int64_t> sample_indices(int64_t n, int64_t count, uint64_t seed) {
  if (n < 0 || count < 0 || count > n) {
    throw InvalidArgument("sample_indices: cannot choose " + std::to_string(count) + " distinct indices of [0, " +
                          std::to_string(n) + ")");
  }
  // Floyd's algorithm: exactly `count` draws, O(count) memory, so a handful of samples out of millions is cheap.
  data::SplitMix64 rng(seed);
  std::unordered_set<int64_t> chosen;
  chosen.reserve(static_cast<size_t>(count) * 2);
  std::vector<int64_t> result;
  result.reserve(static_cast<size_t>(count));
  for (int64_t j = n - count; j < n; ++j) {
    const int64_t t = static_cast<int64_t>(rng.below(static_cast<uint64_t>(j) + 1));
    const int64_t pick = chosen.count(t) ? j : t;
    chosen.insert(pick);
    result.push_back(pick);
  }
  std::sort(result.begin(), result.end());
  return result;
}

std::vector<int64_t> shuffled_indices(int64_t n, uint64_t seed) {
  if (n < 0) throw InvalidArgument("shuffled_indices: negative count " + std::to_string(n));
  std::vector<int64_t> p(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) p[static_cast<size_t>(i)] = i;
  data::SplitMix64 rng(seed);
  for (int64_t i = n - 1; i > 0; --i) {  // Fisher-Yates
    const auto j = static_cast<size_t>(rng.below(static_cast<uint64_t>(i) + 1));
    std::swap(p[static_cast<size_t>(i)], p[j]);
  }
  return p;
}

std::map<std::string, Tensor> stack_inputs(const std::vector<Sample>& samples) {
  std::map<std::string, Tensor> out;
  if (samples.empty()) return out;
  const Sample& first = samples.front();
  for (size_t s = 1; s < samples.size(); ++s) {
    if (samples[s].inputs.size() != first.inputs.size()) {
      throw DataError("stack_inputs: sample " + std::to_string(s) + " has " + std::to_string(samples[s].inputs.size()) +
                      " inputs, sample 0 has " + std::to_string(first.inputs.size()));
    }
  }
  for (const auto& [name, t0] : first.inputs) {
    if (t0.rank() < 1) throw DataError("stack_inputs: input '" + name + "' is a scalar; it has no batch dimension");
    Shape trailing(t0.shape().begin() + 1, t0.shape().end());
    int64_t rows = 0;
    for (size_t s = 0; s < samples.size(); ++s) {
      auto it = samples[s].inputs.find(name);
      if (it == samples[s].inputs.end()) {
        throw DataError("stack_inputs: sample " + std::to_string(s) + " has no input '" + name + "'");
      }
      const Tensor& t = it->second;
      if (t.dtype() != t0.dtype() || t.rank() != t0.rank() ||
          !std::equal(trailing.begin(), trailing.end(), t.shape().begin() + 1)) {
        throw DataError("stack_inputs: input '" + name + "' of sample " + std::to_string(s) + " is " + t.describe() +
                        ", sample 0 has " + t0.describe() + " (dtype and trailing dimensions must match)");
      }
      rows += t.dim(0);
    }
    Shape shape = t0.shape();
    shape[0] = rows;
    Tensor dst(t0.dtype(), shape);
    auto* p = static_cast<std::byte*>(dst.raw());
    for (const Sample& sample : samples) {
      const Tensor& t = sample.inputs.at(name);
      std::memcpy(p, t.raw(), t.nbytes());
      p += t.nbytes();
    }
    out.emplace(name, std::move(dst));
  }
  return out;
}

}  // namespace qwac
