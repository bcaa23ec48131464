#include "quant/calibration.h"

#include <algorithm>
#include <exception>
#include <set>
#include <utility>

#include "qwac/error.h"
#include "runtime/evaluation.h"

namespace qwac::quant {
namespace {

// Running element-wise sum of a tensor over samples (dim 0), in double so long runs stay exact enough.
struct MeanAccumulator {
  std::vector<double> sum;
  Shape sample_shape;
  int64_t count = 0;

  void add(const std::string& name, const Tensor& batch) {
    if (batch.dtype() != DType::kFloat32 || batch.rank() < 1) {
      throw InternalError("bias correction input '" + name + "' is not a batched float tensor: " + batch.describe());
    }
    const int64_t b = batch.dim(0), per = batch.numel() / std::max<int64_t>(1, b);
    if (sum.empty()) {
      sum.assign(static_cast<size_t>(per), 0.0);
      sample_shape = batch.shape();
      sample_shape[0] = 1;
    }
    detail::accumulate_sample_sums(batch.data<float>(), b, per, sum.data());
    count += b;
  }

  Tensor mean() const {
    Tensor t(DType::kFloat32, sample_shape);
    float* d = t.data<float>();
    for (size_t i = 0; i < sum.size(); ++i) d[i] = static_cast<float>(sum[i] / static_cast<double>(count));
    return t;
  }
};

}  // namespace

namespace detail {

void accumulate_sample_sums_reference(const float* values, int64_t batch, int64_t per, double* sum) {
  for (int64_t i = 0; i < per; ++i) {
    double s = 0;
    for (int64_t k = 0; k < batch; ++k) s += values[k * per + i];
    sum[i] += s;
  }
}

void accumulate_sample_sums(const float* values, int64_t batch, int64_t per, double* sum) {
  constexpr int64_t kBlock = 512;
  double s[kBlock];
  for (int64_t start = 0; start < per; start += kBlock) {
    const int64_t m = std::min(kBlock, per - start);
    for (int64_t i = 0; i < m; ++i) s[i] = 0.0;
    for (int64_t k = 0; k < batch; ++k) {
      const float* row = values + k * per + start;
      for (int64_t i = 0; i < m; ++i) s[i] += row[i];
    }
    for (int64_t i = 0; i < m; ++i) sum[start + i] += s[i];
  }
}

}  // namespace detail

CalibrationStatistics collect_statistics(const ir::Model& canonical, const Dataset& calibration,
                                         const std::vector<ActivationStatsRequest>& requests,
                                         const std::vector<std::string>& mean_tensors, const RunOptions& options) {
  CalibrationStatistics out;
  std::set<std::string> taps(mean_tensors.begin(), mean_tensors.end());
  for (const ActivationStatsRequest& r : requests) {
    taps.insert(r.sources.begin(), r.sources.end());
    out.activations.emplace(r.quantizer, TensorStatistics(r.sources.front(), r.needs));
  }
  std::map<std::string, MeanAccumulator> means;
  for (const std::string& t : mean_tensors) means[t];

  runtime::EvaluationOptions eo;
  eo.batch_size = options.batch_size;
  eo.threads = options.threads;
  eo.use_dnnl = options.use_dnnl;
  eo.logger = options.logger;
  eo.progress = options.progress;
  eo.phase = "statistics";
  eo.taps.assign(taps.begin(), taps.end());
  // One parallel region per batch, one task per collector: the streams keep the cores busy with inference, and
  // dozens of small parallel regions per batch (one per tensor and statistic) would leave the OpenMP workers
  // spin-waiting between them. Collectors own their state, so the results do not depend on the scheduling; inside
  // the region each collector runs its serial kernels (they check omp_in_parallel()). Errors are rethrown in
  // collector order, as a serial loop would have thrown the first one.
  std::vector<std::pair<const std::string*, MeanAccumulator*>> mean_jobs;
  for (auto& [name, acc] : means) mean_jobs.emplace_back(&name, &acc);
  eo.on_batch = [&](int64_t, const std::map<std::string, Tensor>& tapped) {
    const int64_t jobs = static_cast<int64_t>(requests.size() + mean_jobs.size());
    std::vector<std::exception_ptr> errors(static_cast<size_t>(jobs));
#pragma omp parallel for schedule(dynamic, 1) if (jobs > 1)
    for (int64_t j = 0; j < jobs; ++j) {
      try {
        if (j < static_cast<int64_t>(requests.size())) {
          const ActivationStatsRequest& r = requests[static_cast<size_t>(j)];
          std::vector<const Tensor*> sources;
          for (const std::string& s : r.sources) sources.push_back(&tapped.at(s));
          out.activations.at(r.quantizer).update(sources);
        } else {
          const auto& [name, acc] = mean_jobs[static_cast<size_t>(j) - requests.size()];
          acc->add(*name, tapped.at(*name));
        }
      } catch (...) {
        errors[static_cast<size_t>(j)] = std::current_exception();
      }
    }
    for (const std::exception_ptr& e : errors) {
      if (e) std::rethrow_exception(e);
    }
  };
  const runtime::EvaluationResult r = runtime::evaluate(canonical, calibration, {}, eo);
  for (const auto& [name, acc] : means) out.means[name] = acc.mean();
  out.samples = r.samples;
  out.batch_size = r.batch_size;
  out.seconds = r.seconds;
  return out;
}

}  // namespace qwac::quant
