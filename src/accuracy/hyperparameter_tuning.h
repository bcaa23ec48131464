// `tune_hyperparams`: before any group is reverted, look for default-quantization settings that lose less
// (NNCF's HyperparameterTuner, POT's ParamsGridSearch): coordinate descent over
//   preset (performance, mixed) -> activation range estimator (POT's min/max, quantiles 1e-4 and 1e-3, MSE)
//   -> bias correction (fast, full, none),
// each value tried with the others fixed at the best so far, scored on the ranking subset (the samples the default
// quantization hurts most) by the estimated full-set drop. The best combination is validated on the full set and
// kept only if it satisfies the bound or beats the untuned drop, as the peers do.
#pragma once

#include "accuracy/session.h"

namespace qwac::accuracy {

// Replaces session.state / session.initial when tuning wins; records what was tried in session.report
// ["tune_hyperparams"]. Returns whether the tuned settings were kept.
bool tune_hyperparameters(Session& session, const ir::Model& model, const Dataset& calibration,
                          const AccuracyControlConfig& params, const RunOptions& options);

}  // namespace qwac::accuracy
