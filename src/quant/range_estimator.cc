#include "quant/range_estimator.h"

#include <algorithm>
#include <cfloat>
#include <cmath>
#include <cstdio>
#include <utility>

#include "core/json_options.h"
#include "qwac/error.h"

namespace qwac::quant {

namespace {

// ---------------------------------------------------------------------------------------------------------------
// Names: JSON spellings and readable descriptions (tables, one row per enum value).

const std::vector<std::pair<std::string, RangeType>> kMinTypes = {{"min", RangeType::kMin},
                                                                  {"abs_max", RangeType::kAbsMax},
                                                                  {"quantile", RangeType::kQuantile},
                                                                  {"abs_quantile", RangeType::kAbsQuantile}};
const std::vector<std::pair<std::string, RangeType>> kMaxTypes = {{"max", RangeType::kMax},
                                                                  {"abs_max", RangeType::kAbsMax},
                                                                  {"quantile", RangeType::kQuantile},
                                                                  {"abs_quantile", RangeType::kAbsQuantile}};
const std::vector<std::pair<std::string, Aggregator>> kAggregators = {
    {"mean", Aggregator::kMean},
    {"max", Aggregator::kMax},
    {"min", Aggregator::kMin},
    {"median", Aggregator::kMedian},
    {"mean_no_outliers", Aggregator::kMeanNoOutliers},
    {"median_no_outliers", Aggregator::kMedianNoOutliers}};
const std::vector<std::string> kPresets = {"default", "quantile", "mse", "kl"};

constexpr double kQuantilePresetProb = 1e-4;
// MSE search: candidate clipping values amax * kMseRatio^k down to amax * kMseSmallest. A 2% relative step is finer
// than the flat region around any optimum and coarse enough that data without tails keeps its max.
constexpr double kMseRatio = 0.98;
constexpr double kMseSmallest = 1.0 / 1024.0;
// Smoothing of empty bins in the KL divergence (as ONNX Runtime's entropy calibrator).
constexpr double kKlEpsilon = 1e-4;

std::string format_number(double v) {
  char buf[32];
  std::snprintf(buf, sizeof(buf), "%g", v);
  return buf;
}

std::string aggregator_text(Aggregator a) {
  switch (a) {  // one readable phrase per enum value
    case Aggregator::kMean:
      return "mean";
    case Aggregator::kMax:
      return "max";
    case Aggregator::kMin:
      return "min";
    case Aggregator::kMedian:
      return "median";
    case Aggregator::kMeanNoOutliers:
      return "mean (outlier samples removed)";
    case Aggregator::kMedianNoOutliers:
      return "median (outlier samples removed)";
  }
  return "?";
}

// "abs max", "quantile(0.0001)", ... of one side (the max side reads quantiles at 1 - p).
std::string type_text(RangeType t, double p, bool max_side) {
  switch (t) {
    case RangeType::kMin:
      return "min";
    case RangeType::kMax:
      return "max";
    case RangeType::kAbsMax:
      return "abs max";
    case RangeType::kQuantile:
      return "quantile(" + format_number(max_side ? 1.0 - p : p) + ")";
    case RangeType::kAbsQuantile:
      return "abs quantile(" + format_number(1.0 - p) + ")";
  }
  return "?";
}

// "global min", "mean of per-sample abs max", ...
std::string side_text(const RangeSide& s, bool max_side) {
  const std::string type = type_text(s.type, s.outlier_prob, max_side);
  if ((s.type == RangeType::kMin && s.aggregator == Aggregator::kMin) ||
      ((s.type == RangeType::kMax || s.type == RangeType::kAbsMax) && s.aggregator == Aggregator::kMax)) {
    return "global " + type;
  }
  return aggregator_text(s.aggregator) + " of per-sample " + type;
}

// ---------------------------------------------------------------------------------------------------------------
// Small numerics.

// numpy 'linear' quantile (position q*(n-1)); reorders v.
double linear_quantile(std::vector<float>& v, double q) {
  const size_t n = v.size();
  const double pos = std::clamp(q, 0.0, 1.0) * static_cast<double>(n - 1);
  const size_t k = static_cast<size_t>(std::floor(pos));
  const double fraction = pos - static_cast<double>(k);
  std::nth_element(v.begin(), v.begin() + static_cast<std::ptrdiff_t>(k), v.end());
  const double v0 = v[k];
  if (fraction == 0.0 || k + 1 >= n) return v0;
  const double v1 = *std::min_element(v.begin() + static_cast<std::ptrdiff_t>(k + 1), v.end());
  return v0 + fraction * (v1 - v0);
}

double mean_of(const std::vector<float>& v) {
  double sum = 0.0;
  for (float x : v) sum += x;
  return sum / static_cast<double>(v.size());
}

double median_of(std::vector<float> v) {
  return linear_quantile(v, 0.5);
}

// Reduces per-sample values. The no-outliers variants keep the samples within [q(p), q(1-p)] of the per-sample
// values (numpy 'linear' quantiles, p = the side's outlier_prob), i.e. a trimmed mean/median; when that drops
// everything (2 samples) all are kept.
double aggregate(const std::vector<float>& values, Aggregator a, double p) {
  if (values.empty()) throw InternalError("range estimator: per-sample statistics were not collected");
  switch (a) {
    case Aggregator::kMean:
      return mean_of(values);
    case Aggregator::kMax:
      return *std::max_element(values.begin(), values.end());
    case Aggregator::kMin:
      return *std::min_element(values.begin(), values.end());
    case Aggregator::kMedian:
      return median_of(values);
    case Aggregator::kMeanNoOutliers:
    case Aggregator::kMedianNoOutliers: {
      std::vector<float> sorted = values;
      const double lo = linear_quantile(sorted, p);
      const double hi = linear_quantile(sorted, 1.0 - p);
      std::vector<float> kept;
      for (float x : values) {
        if (x >= lo && x <= hi) kept.push_back(x);
      }
      if (kept.empty()) kept = values;
      return a == Aggregator::kMeanNoOutliers ? mean_of(kept) : median_of(std::move(kept));
    }
  }
  throw InternalError("range estimator: unknown aggregator");
}

// The integer grid a range is mapped to (same rules as quant_params.h).
struct Grid {
  int64_t qmin = 0, qmax = 0;
  bool is_unsigned = false;
};

Grid grid_for(const QuantizerSpec& spec, bool is_unsigned) {
  Grid g;
  g.is_unsigned = is_unsigned;
  if (is_unsigned) {
    g.qmin = 0;
    g.qmax = (int64_t{1} << spec.bits) - 1;
  } else {
    g.qmax = (int64_t{1} << (spec.bits - 1)) - 1;
    g.qmin = spec.narrow_range ? -g.qmax : -g.qmax - 1;
  }
  return g;
}

std::string grid_text(const Grid& g, int bits) {
  return std::string(g.is_unsigned ? "unsigned " : "signed ") + std::to_string(bits) + "-bit grid [" +
         std::to_string(g.qmin) + ", " + std::to_string(g.qmax) + "]";
}

// ---------------------------------------------------------------------------------------------------------------
// MSE search. Values are taken uniform inside each histogram bin; the expected squared error of one bin is
// integrated exactly: clipping outside [clip_lo, clip_hi], and rounding to the grid {k * s} inside it.

// Integral of (t - s*round(t/s))^2 from -s/2 to x: each full cell adds s^3/12, the partial cell r (in cells,
// [-1/2, 1/2)) adds (r^3 + 1/8) s^3 / 3.
double rounding_error_primitive(double x, double s) {
  const double y = x / s;
  const double n = std::floor(y + 0.5);
  const double r = y - n;
  return s * s * s * (n / 12.0 + (r * r * r + 0.125) / 3.0);
}

// The non-empty bins of a histogram (lower edge, count) and the common width: built once per search, since the
// candidates only visit bins that hold values.
struct BinList {
  std::vector<double> edge, count;
  double width = 0.0;
};

BinList non_empty_bins(const Histogram& h) {
  BinList list;
  const auto& bins = h.bins();
  list.width = 2.0 * h.range() / static_cast<double>(bins.size());
  for (size_t i = 0; i < bins.size(); ++i) {
    if (bins[i] == 0) continue;
    list.edge.push_back(-static_cast<double>(h.range()) + static_cast<double>(i) * list.width);
    list.count.push_back(static_cast<double>(bins[i]));
  }
  return list;
}

// Expected total squared error over the histogram of quantizing with scale s and zero-point zp on grid g.
double expected_squared_error(const BinList& h, double s, double zp, const Grid& g) {
  const double clip_lo = (static_cast<double>(g.qmin) - zp) * s;
  const double clip_hi = (static_cast<double>(g.qmax) - zp) * s;
  const double w = h.width;
  auto cube = [](double x) { return x * x * x; };
  double total = 0.0;
  for (size_t i = 0; i < h.edge.size(); ++i) {
    const double a = h.edge[i];
    const double b = a + w;
    double e = 0.0;
    if (a < clip_lo) {
      const double top = std::min(b, clip_lo);
      e += (cube(clip_lo - a) - cube(clip_lo - top)) / 3.0;
    }
    if (b > clip_hi) {
      const double bottom = std::max(a, clip_hi);
      e += (cube(b - clip_hi) - cube(bottom - clip_hi)) / 3.0;
    }
    const double lo = std::max(a, clip_lo), hi = std::min(b, clip_hi);
    if (hi > lo) e += rounding_error_primitive(hi, s) - rounding_error_primitive(lo, s);
    total += e * h.count[i] / w;
  }
  return total;
}

// Error of the asymmetric range [lo, hi] (lo <= 0 <= hi) with quant_params.h's scale and zero-point rules.
double asymmetric_error(const BinList& h, double lo, double hi, const Grid& g) {
  const double s = (hi - lo) / static_cast<double>(g.qmax - g.qmin);
  const double zp = std::clamp(static_cast<double>(g.qmin) + std::nearbyint(-lo / s), static_cast<double>(g.qmin),
                               static_cast<double>(g.qmax));
  return expected_squared_error(h, s, zp, g);
}

// Best factor f in {ratio^k} for error(f); the first (largest) factor wins ties. The candidates are listed first
// (the same sequence of products as a serial walk), their errors computed in parallel (each error is the same
// serial sum whichever thread computes it), and the minimum picked in candidate order: the result does not depend
// on the number of threads.
template <typename ErrorFn>
double best_factor(ErrorFn error) {
  std::vector<double> factors{1.0};
  for (double f = kMseRatio; f >= kMseSmallest; f *= kMseRatio) factors.push_back(f);
  std::vector<double> errors(factors.size());
  const auto n = static_cast<int64_t>(factors.size());
#pragma omp parallel for schedule(static)
  for (int64_t k = 0; k < n; ++k) errors[static_cast<size_t>(k)] = error(factors[static_cast<size_t>(k)]);
  double best_f = factors[0], best_e = errors[0];
  for (size_t k = 1; k < factors.size(); ++k) {
    if (errors[k] < best_e) {
      best_e = errors[k];
      best_f = factors[k];
    }
  }
  return best_f;
}

// ---------------------------------------------------------------------------------------------------------------
// KL (TensorRT entropy calibration): over a one-sided histogram `bins` (bin k = [k*w, (k+1)*w)), the threshold
// i*w (i >= levels) minimizing KL(P || Q), where P is the first i bins with the mass beyond folded into bin i-1
// and Q is those i bins (without the outliers) merged into `levels` chunks and spread back over their non-empty
// bins. Returns the number of bins i; 0 when the histogram has fewer used bins than levels (no clipping helps).
int64_t kl_threshold_bins(const std::vector<int64_t>& bins, int64_t levels) {
  int64_t used = 0;
  for (size_t k = 0; k < bins.size(); ++k) {
    if (bins[k] != 0) used = static_cast<int64_t>(k) + 1;
  }
  if (used <= levels) return 0;
  std::vector<double> suffix(static_cast<size_t>(used) + 1, 0.0);  // mass of bins >= k
  for (int64_t k = used - 1; k >= 0; --k)
    suffix[static_cast<size_t>(k)] = suffix[static_cast<size_t>(k) + 1] + bins[static_cast<size_t>(k)];
  double best_kl = INFINITY;
  int64_t best_i = used;
  std::vector<double> p, q;
  for (int64_t i = levels; i <= used; ++i) {
    p.assign(bins.begin(), bins.begin() + i);
    p[static_cast<size_t>(i - 1)] += suffix[static_cast<size_t>(i)];
    q.assign(static_cast<size_t>(i), 0.0);
    for (int64_t j = 0; j < levels; ++j) {
      const int64_t start = j * i / levels, stop = (j + 1) * i / levels;
      double sum = 0.0;
      int64_t nonzero = 0;
      for (int64_t k = start; k < stop; ++k) {
        sum += static_cast<double>(bins[static_cast<size_t>(k)]);
        nonzero += bins[static_cast<size_t>(k)] != 0 ? 1 : 0;
      }
      if (nonzero == 0) continue;
      for (int64_t k = start; k < stop; ++k) {
        if (bins[static_cast<size_t>(k)] != 0) q[static_cast<size_t>(k)] = sum / static_cast<double>(nonzero);
      }
    }
    // Normalize, then smooth empty bins (eps taken evenly from the others) so that KL stays finite.
    auto normalize_smooth = [](std::vector<double>& d) {
      double total = 0.0;
      int64_t zeros = 0;
      for (double v : d) {
        total += v;
        zeros += v == 0.0 ? 1 : 0;
      }
      const int64_t nonzeros = static_cast<int64_t>(d.size()) - zeros;
      const double take = nonzeros > 0 ? kKlEpsilon * static_cast<double>(zeros) / static_cast<double>(nonzeros) : 0.0;
      for (double& v : d) v = v == 0.0 ? kKlEpsilon : v / total - take;
    };
    normalize_smooth(p);
    normalize_smooth(q);
    double kl = 0.0;
    for (size_t k = 0; k < p.size(); ++k) {
      if (p[k] > 0.0 && q[k] > 0.0) kl += p[k] * std::log(p[k] / q[k]);
    }
    if (kl < best_kl) {
      best_kl = kl;
      best_i = i;
    }
  }
  return best_i;
}

// ---------------------------------------------------------------------------------------------------------------
// Clipping estimates.

// Fraction below lo plus above hi of a distribution known only at a few points (value, cumulative fraction),
// linear in between: the estimate used when no histogram was collected.
double outside_from_points(std::vector<std::pair<double, double>> points, double lo, double hi) {
  std::sort(points.begin(), points.end());
  auto cdf = [&](double x) {
    if (x <= points.front().first) return 0.0;
    if (x >= points.back().first) return 1.0;
    for (size_t i = 0; i + 1 < points.size(); ++i) {
      const auto& [v0, f0] = points[i];
      const auto& [v1, f1] = points[i + 1];
      if (x >= v0 && x < v1) return f0 + (f1 - f0) * (x - v0) / (v1 - v0);
    }
    return 1.0;
  };
  return std::clamp(cdf(lo) + (1.0 - cdf(hi)), 0.0, 1.0);
}

// Mean over samples of the per-sample estimate from min, max and the collected quantiles.
double estimate_clipping(const TensorStatistics& stats, double lo, double hi) {
  const auto& mins = stats.sample_min();
  const auto& maxs = stats.sample_max();
  if (mins.empty()) return 0.0;
  double total = 0.0;
  for (size_t b = 0; b < mins.size(); ++b) {
    std::vector<std::pair<double, double>> points = {{mins[b], 0.0}, {maxs[b], 1.0}};
    for (double p : stats.needs().per_sample_quantiles) {
      points.emplace_back(stats.sample_quantile_low(p)[b], p);
      points.emplace_back(stats.sample_quantile_high(p)[b], 1.0 - p);
    }
    total += outside_from_points(std::move(points), lo, hi);
  }
  return total / static_cast<double>(mins.size());
}

// ---------------------------------------------------------------------------------------------------------------
// Activations.

// Per-tensor value of one side from the per-sample statistics (positive magnitude for abs types).
double activation_side_value(const RangeSide& s, const TensorStatistics& stats, bool max_side) {
  switch (s.type) {
    case RangeType::kMin:
      return s.aggregator == Aggregator::kMin ? stats.global_min()
                                              : aggregate(stats.sample_min(), s.aggregator, s.outlier_prob);
    case RangeType::kMax:
      return s.aggregator == Aggregator::kMax ? stats.global_max()
                                              : aggregate(stats.sample_max(), s.aggregator, s.outlier_prob);
    case RangeType::kAbsMax:
      return aggregate(stats.sample_abs_max(), s.aggregator, s.outlier_prob);
    case RangeType::kQuantile:
      return aggregate(
          max_side ? stats.sample_quantile_high(s.outlier_prob) : stats.sample_quantile_low(s.outlier_prob),
          s.aggregator, s.outlier_prob);
    case RangeType::kAbsQuantile:
      return aggregate(stats.sample_abs_quantile(s.outlier_prob), s.aggregator, s.outlier_prob);
  }
  throw InternalError("range estimator: unknown range type");
}

bool is_abs(RangeType t) {
  return t == RangeType::kAbsMax || t == RangeType::kAbsQuantile;
}

// Min side value: abs types give -magnitude.
double min_side_value(const RangeSide& s, const TensorStatistics& stats) {
  const double v = activation_side_value(s, stats, false);
  return is_abs(s.type) ? -v : v;
}

bool symmetric_unsigned(const QuantizerSpec& spec, double global_min) {
  return !spec.is_signed || (spec.signedness_from_range && global_min >= 0.0);
}

Range per_channel_activation_range(const RangeEstimatorConfig& cfg, const TensorStatistics& stats,
                                   const QuantizerSpec& spec) {
  const auto& cmin = stats.channel_min();
  const auto& cmax = stats.channel_max();
  if (cmin.empty()) {
    throw InternalError("range estimator for '" + stats.name() + "': per-channel statistics were not collected");
  }
  Range r;
  std::string note;
  if (cfg.search != RangeSearch::kNone) note = " (" + cfg.preset + " search is per-tensor; per-channel uses min/max)";
  const bool quantile_types = !((cfg.min.type == RangeType::kMin || cfg.min.type == RangeType::kAbsMax) &&
                                (cfg.max.type == RangeType::kMax || cfg.max.type == RangeType::kAbsMax));
  if (quantile_types) note += " (per-channel quantiles are not collected; per-channel uses min/max)";
  double clipped = 0.0;
  if (spec.mode == QuantMode::kSymmetric) {
    const bool is_unsigned = symmetric_unsigned(spec, stats.global_min());
    for (size_t c = 0; c < cmin.size(); ++c) {
      const float a = is_unsigned ? cmax[c] : std::max(std::fabs(cmin[c]), std::fabs(cmax[c]));
      r.min.push_back(is_unsigned ? 0.f : -a);
      r.max.push_back(a);
    }
    r.method = std::string("per-channel global abs max, symmetric ") + (is_unsigned ? "unsigned" : "signed") + note;
  } else {
    for (size_t c = 0; c < cmin.size(); ++c) {
      const float a = std::max(std::fabs(cmin[c]), std::fabs(cmax[c]));
      const bool abs_min = !quantile_types && cfg.min.type == RangeType::kAbsMax;
      const bool abs_max = !quantile_types && cfg.max.type == RangeType::kAbsMax;
      r.min.push_back(abs_min ? -a : cmin[c]);
      r.max.push_back(abs_max ? a : cmax[c]);
    }
    r.method = "per-channel global min / max" + note;
  }
  // Without per-channel histograms: values taken uniform between each channel's min and max.
  for (size_t c = 0; c < cmin.size(); ++c) {
    if (cmax[c] > cmin[c]) clipped += outside_from_points({{cmin[c], 0.0}, {cmax[c], 1.0}}, r.min[c], r.max[c]);
  }
  r.clipping_ratio = clipped / static_cast<double>(cmin.size());
  return r;
}

}  // namespace

// ---------------------------------------------------------------------------------------------------------------
// Configuration.

RangeEstimatorConfig default_range_estimator(QuantizerKind kind, const QuantizerSpec& spec) {
  RangeEstimatorConfig cfg;
  cfg.preset = "default";
  const bool symmetric = spec.mode == QuantMode::kSymmetric;
  if (kind == QuantizerKind::kWeight) {  // whole tensor (per channel); aggregators do not apply
    cfg.min = {symmetric ? RangeType::kAbsMax : RangeType::kMin, Aggregator::kMin, kQuantilePresetProb};
    cfg.max = {symmetric ? RangeType::kAbsMax : RangeType::kMax, Aggregator::kMax, kQuantilePresetProb};
  } else if (spec.granularity == Granularity::kPerChannel) {
    cfg.min = {RangeType::kMin, Aggregator::kMin, kQuantilePresetProb};
    cfg.max = {RangeType::kMax, Aggregator::kMax, kQuantilePresetProb};
  } else if (symmetric) {
    cfg.min = {RangeType::kMin, Aggregator::kMin, kQuantilePresetProb};
    cfg.max = {RangeType::kAbsMax, Aggregator::kMean, kQuantilePresetProb};
  } else {
    cfg.min = {RangeType::kMin, Aggregator::kMean, kQuantilePresetProb};
    cfg.max = {RangeType::kMax, Aggregator::kMean, kQuantilePresetProb};
  }
  return cfg;
}

RangeEstimatorConfig range_estimator_preset(const std::string& preset, const std::string& where, QuantizerKind kind,
                                            const QuantizerSpec& spec) {
  RangeEstimatorConfig cfg = default_range_estimator(kind, spec);
  cfg.preset = preset;
  if (preset == "default") return cfg;
  if (preset == "quantile") {
    const bool symmetric = spec.mode == QuantMode::kSymmetric;
    cfg.min = {RangeType::kQuantile, Aggregator::kMean, kQuantilePresetProb};
    cfg.max = {symmetric ? RangeType::kAbsQuantile : RangeType::kQuantile, Aggregator::kMean, kQuantilePresetProb};
    return cfg;
  }
  if (preset == "mse") {
    cfg.search = RangeSearch::kMse;
    return cfg;
  }
  if (preset == "kl") {
    cfg.search = RangeSearch::kKl;
    return cfg;
  }
  std::string allowed;
  for (const auto& p : kPresets) allowed += (allowed.empty() ? "\"" : " | \"") + p + "\"";
  throw InvalidConfig(where + ": unknown range estimator preset \"" + preset + "\"; expected one of " + allowed);
}

RangeEstimatorConfig parse_range_estimator(const nlohmann::json& j, const std::string& where, QuantizerKind kind,
                                           const QuantizerSpec& spec) {
  JsonOptions o(j, where);
  std::string preset = "default";
  o.read("preset", preset);
  RangeEstimatorConfig cfg = range_estimator_preset(preset, o.path("preset"), kind, spec);
  for (const bool max_side : {false, true}) {
    const std::string key = max_side ? "max" : "min";
    const nlohmann::json* section = o.section(key);
    if (section == nullptr) continue;
    RangeSide& side = max_side ? cfg.max : cfg.min;
    JsonOptions s(*section, o.path(key));
    s.read_choice("type", side.type, max_side ? kMaxTypes : kMinTypes);
    s.read_choice("aggregator", side.aggregator, kAggregators);
    s.read("outlier_prob", side.outlier_prob);
    if (!(side.outlier_prob >= 0.0 && side.outlier_prob < 0.5)) {
      throw InvalidConfig(s.path("outlier_prob") + ": expected a probability in [0, 0.5), got " +
                          format_number(side.outlier_prob));
    }
    s.finish();
  }
  o.finish();
  return cfg;
}

StatisticsNeeds needs_for(const RangeEstimatorConfig& cfg, const QuantizerSpec& spec) {
  StatisticsNeeds needs;
  if (spec.granularity == Granularity::kPerChannel) {
    if (spec.axis < 0) throw InternalError("range estimator: per-channel activation quantizer without an axis");
    needs.per_sample = false;
    needs.channel_axis = spec.axis;
    return needs;
  }
  needs.per_sample = true;
  for (const RangeSide* side : {&cfg.min, &cfg.max}) {
    if (side->type != RangeType::kQuantile && side->type != RangeType::kAbsQuantile) continue;
    const bool seen = std::find(needs.per_sample_quantiles.begin(), needs.per_sample_quantiles.end(),
                                side->outlier_prob) != needs.per_sample_quantiles.end();
    if (!seen) needs.per_sample_quantiles.push_back(side->outlier_prob);
  }
  needs.histogram = cfg.search != RangeSearch::kNone;
  return needs;
}

// ---------------------------------------------------------------------------------------------------------------
// Estimation.

Range estimate_activation_range(const RangeEstimatorConfig& cfg, const TensorStatistics& stats,
                                const QuantizerSpec& spec) {
  if (stats.num_samples() == 0) {
    throw InternalError("range estimator for '" + stats.name() + "': no calibration samples were collected");
  }
  if (spec.granularity == Granularity::kPerChannel) return per_channel_activation_range(cfg, stats, spec);

  const bool symmetric = spec.mode == QuantMode::kSymmetric;
  const bool is_unsigned = symmetric ? symmetric_unsigned(spec, stats.global_min()) : true;
  const Grid grid = grid_for(spec, is_unsigned);
  const Histogram* hist = stats.histogram();
  if (cfg.search != RangeSearch::kNone && (hist == nullptr || hist->count() == 0)) {
    throw InternalError("range estimator for '" + stats.name() + "': the " + cfg.preset +
                        " search needs a histogram, which was not collected");
  }
  const std::string sym_text = symmetric ? std::string(" (symmetric, ") + (is_unsigned ? "unsigned" : "signed") + ")"
                                         : std::string(" (asymmetric)");

  double lo = 0.0, hi = 0.0;
  std::string method;
  // Default sides: the estimate for POT-style configs, and the fallback of the searches.
  auto default_sides = [&]() {
    const double min_v = min_side_value(cfg.min, stats);
    const double max_v = activation_side_value(cfg.max, stats, true);
    if (symmetric) {
      const double a = std::fabs(max_v);  // POT: the max side sets the range, the min side only the signedness
      lo = is_unsigned ? 0.0 : -a;
      hi = a;
    } else {
      lo = min_v;
      hi = max_v;
    }
    return "min: " + side_text(cfg.min, false) + "; max: " + side_text(cfg.max, true);
  };

  const double gmin = stats.global_min(), gmax = stats.global_max();
  if (cfg.search == RangeSearch::kMse) {
    const BinList bins = non_empty_bins(*hist);
    const std::string what = "mse-optimal clipping over a " + std::to_string(hist->bins().size()) +
                             "-bin histogram for the " + grid_text(grid, spec.bits);
    if (symmetric) {
      const double amax = is_unsigned ? gmax : std::max(std::fabs(gmin), std::fabs(gmax));
      if (amax <= 0.0) {
        method = default_sides() + " (mse: all values are zero)";
      } else {
        const double f = best_factor([&](double f) {
          return expected_squared_error(bins, f * amax / static_cast<double>(grid.qmax), 0.0, grid);
        });
        hi = f * amax;
        lo = is_unsigned ? 0.0 : -hi;
        method = what + " (" + format_number(f) + " x global abs max)";
      }
    } else {
      const double lo0 = std::min(gmin, 0.0), hi0 = std::max(gmax, 0.0);
      if (hi0 - lo0 <= 0.0) {
        method = default_sides() + " (mse: all values are zero)";
      } else {
        // Joint shrink first, then each side with the other fixed.
        const double f = best_factor([&](double f) { return asymmetric_error(bins, f * lo0, f * hi0, grid); });
        double fl = f, fh = f;
        if (hi0 > 0.0) fh = best_factor([&](double g) { return asymmetric_error(bins, fl * lo0, g * hi0, grid); });
        if (lo0 < 0.0) fl = best_factor([&](double g) { return asymmetric_error(bins, g * lo0, fh * hi0, grid); });
        lo = fl * lo0;
        hi = fh * hi0;
        method = what + " (min " + (lo0 < 0.0 ? format_number(fl) + " x global min" : std::string("0")) + ", max " +
                 (hi0 > 0.0 ? format_number(fh) + " x global max" : std::string("0")) + ")";
      }
    }
  } else if (cfg.search == RangeSearch::kKl) {
    // One-sided histogram: |x| for symmetric signed grids, x >= 0 otherwise (unsigned grids have no negatives; for
    // asymmetric the search sets only the max).
    const auto& bins = hist->bins();
    const size_t half = bins.size() / 2;
    std::vector<int64_t> side(half);
    const bool fold = symmetric && !is_unsigned;
    for (size_t k = 0; k < half; ++k) side[k] = bins[half + k] + (fold ? bins[half - 1 - k] : 0);
    const int64_t levels = symmetric ? grid.qmax + 1 : (int64_t{1} << (spec.bits - 1));
    const int64_t i = hist->range() > 0.f ? kl_threshold_bins(side, levels) : 0;
    const double w = 2.0 * hist->range() / static_cast<double>(bins.size());
    default_sides();  // asymmetric: the min comes from the default min side
    const double limit = symmetric ? (is_unsigned ? gmax : std::max(std::fabs(gmin), std::fabs(gmax))) : gmax;
    if (i == 0) {
      // Fewer used bins than grid levels (16-bit grids, tiny ranges): nothing to clip at this resolution.
      hi = limit;
      lo = symmetric ? (is_unsigned ? 0.0 : -hi) : lo;
      method = (symmetric ? std::string("") : "min: " + side_text(cfg.min, false) + "; ") + "max: global " +
               (symmetric && !is_unsigned ? "abs max" : "max") + " (kl: the histogram has fewer used bins than the " +
               std::to_string(levels) + " grid levels)";
    } else {
      hi = std::min(static_cast<double>(i) * w, limit);
      if (symmetric) lo = is_unsigned ? 0.0 : -hi;
      method = (symmetric ? std::string("") : "min: " + side_text(cfg.min, false) + "; ") +
               "max: kl-optimal threshold (TensorRT entropy calibration, " + std::to_string(levels) +
               " levels) over the " + (fold ? "|x|" : "x >= 0") + " histogram";
    }
  } else {
    method = default_sides();
  }
  method += sym_text;

  Range r;
  r.min = {static_cast<float>(lo)};
  r.max = {static_cast<float>(hi)};
  r.method = method;
  // A range covering every value seen clips nothing; otherwise the histogram (uniform inside bins) or the per-sample
  // min/max/quantiles give an estimate.
  if (lo <= gmin && hi >= gmax) {
    r.clipping_ratio = 0.0;
  } else {
    r.clipping_ratio = hist != nullptr ? hist->fraction_outside(lo, hi) : estimate_clipping(stats, lo, hi);
  }
  return r;
}

Range estimate_weight_range(const RangeEstimatorConfig& cfg, const Tensor& weight, const QuantizerSpec& spec) {
  if (weight.dtype() != DType::kFloat32) {
    throw InternalError("range estimator: weight " + weight.describe() + " is not float32");
  }
  if (weight.numel() == 0) throw InternalError("range estimator: weight " + weight.describe() + " is empty");
  const bool per_channel = spec.granularity == Granularity::kPerChannel;
  const int64_t axis = per_channel ? spec.axis : -1;
  if (per_channel && (axis < 0 || axis >= weight.rank())) {
    throw InternalError("range estimator: per-channel axis " + std::to_string(spec.axis) + " is out of range for " +
                        weight.describe());
  }
  // The searches tune activation ranges from histograms; weights keep their POT default (abs max / min-max).
  RangeEstimatorConfig used = cfg;
  std::string note;
  if (cfg.search != RangeSearch::kNone) {
    used = default_range_estimator(QuantizerKind::kWeight, spec);
    note = " (the " + cfg.preset + " search applies to activations; weights use the default)";
  }
  const bool symmetric = spec.mode == QuantMode::kSymmetric;
  int64_t channels = 1, outer = 1, inner = 1;
  if (per_channel) {
    channels = weight.dim(axis);
    for (int64_t d = 0; d < axis; ++d) outer *= weight.dim(d);
    for (int64_t d = axis + 1; d < weight.rank(); ++d) inner *= weight.dim(d);
  } else {
    inner = weight.numel();
  }
  const float* data = weight.data<float>();
  Range r;
  r.min.resize(static_cast<size_t>(channels));
  r.max.resize(static_cast<size_t>(channels));
  std::vector<int64_t> outside(static_cast<size_t>(channels), 0);
  std::vector<int> bad(static_cast<size_t>(channels), 0);
#pragma omp parallel for if (channels > 1 && weight.numel() >= (1 << 16)) schedule(dynamic)
  for (int64_t c = 0; c < channels; ++c) {
    std::vector<float> v;
    v.reserve(static_cast<size_t>(outer * inner));
    for (int64_t o = 0; o < outer; ++o) {
      const float* src = data + (o * channels + c) * inner;
      v.insert(v.end(), src, src + inner);
    }
    float mn = INFINITY, mx = -INFINITY;
    for (float x : v) {
      if (!(std::fabs(x) <= FLT_MAX)) bad[static_cast<size_t>(c)] = 1;
      mn = std::min(mn, x);
      mx = std::max(mx, x);
    }
    if (bad[static_cast<size_t>(c)] != 0) continue;
    const double amax = std::max(std::fabs(mn), std::fabs(mx));
    std::vector<float> work;
    auto side_value = [&](const RangeSide& s, bool max_side) -> double {
      switch (s.type) {
        case RangeType::kMin:
          return mn;
        case RangeType::kMax:
          return mx;
        case RangeType::kAbsMax:
          return max_side ? amax : -amax;
        case RangeType::kQuantile:
          work = v;
          return linear_quantile(work, max_side ? 1.0 - s.outlier_prob : s.outlier_prob);
        case RangeType::kAbsQuantile: {
          work.resize(v.size());
          std::transform(v.begin(), v.end(), work.begin(), [](float x) { return std::fabs(x); });
          const double q = linear_quantile(work, 1.0 - s.outlier_prob);
          return max_side ? q : -q;
        }
      }
      return 0.0;
    };
    double lo = 0.0, hi = 0.0;
    if (symmetric) {  // weights are signed: [-a, a] from the max side
      hi = std::fabs(side_value(used.max, true));
      lo = -hi;
    } else {
      lo = side_value(used.min, false);
      hi = side_value(used.max, true);
    }
    r.min[static_cast<size_t>(c)] = static_cast<float>(lo);
    r.max[static_cast<size_t>(c)] = static_cast<float>(hi);
    int64_t n_out = 0;
    for (float x : v) n_out += (x < r.min[static_cast<size_t>(c)] || x > r.max[static_cast<size_t>(c)]) ? 1 : 0;
    outside[static_cast<size_t>(c)] = n_out;
  }
  for (int64_t c = 0; c < channels; ++c) {
    if (bad[static_cast<size_t>(c)] != 0) {
      throw DataError("weight " + weight.describe() + " contains NaN or Inf" +
                      (per_channel ? " in channel " + std::to_string(c) + " of axis " + std::to_string(axis) : ""));
    }
  }
  int64_t total_outside = 0;
  for (int64_t n : outside) total_outside += n;
  r.clipping_ratio = static_cast<double>(total_outside) / static_cast<double>(weight.numel());
  auto whole = [](const RangeSide& s, bool max_side) { return type_text(s.type, s.outlier_prob, max_side); };
  const std::string scope = per_channel ? "per-channel " : "";
  if (symmetric) {
    r.method = scope + whole(used.max, true) + " (symmetric)" + note;
  } else {
    r.method = scope + "min: " + whole(used.min, false) + "; max: " + whole(used.max, true) + note;
  }
  return r;
}

}  // namespace qwac::quant
