// The common start of every accuracy-control command: which metrics are controlled and their FP32 baselines
// (per-sample values computed once), default quantization, and its full validation. The restore search
// (accuracy_aware.cc) and the sensitivity report (sensitivity.cc) continue from here.
#pragma once

#include <memory>
#include <vector>

#include <nlohmann/json.hpp>

#include "accuracy/search_context.h"
#include "accuracy/validator.h"
#include "accuracy/accuracy_control.h"
#include "quant/default_quantization.h"

namespace qwac::accuracy {

struct Session {
  std::unique_ptr<Validator> validator;
  quant::QuantizationState state;
  SearchContext ctx;         // points at `state` and `validator`: a Session never moves (held by unique_ptr)
  Candidate initial;         // the default quantization, validated
  nlohmann::json report;     // fp32 metrics, default quantization report
  nlohmann::json timings;
};

// `validator` holds the validation data and the metrics (or the user's validation function).
std::unique_ptr<Session> start_session(const ir::Model& model, const Dataset& calibration,
                                       std::unique_ptr<Validator> validator, const AccuracyControlConfig& params,
                                       const RunOptions& options);

// A validator over `validation` (not owned: it must outlive the session) with built-in metrics.
std::unique_ptr<Validator> metrics_validator(const Dataset& validation, const std::vector<MetricPtr>& metrics,
                                             const RunOptions& options);

}  // namespace qwac::accuracy
