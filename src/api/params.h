// The public, typed parameters (qwac/quantize.h, qwac/accuracy_control.h) <-> the config form the algorithms read
// (quant/quantize.h, accuracy/accuracy_control.h: strings and JSON as configs spell them). One table per enum
// (params.cc) serves to_string/from_string, both conversions and the Python module.
#pragma once

#include <string>

#include "accuracy/accuracy_control.h"
#include "quant/quantize.h"
#include "qwac/accuracy_control.h"
#include "qwac/quantize.h"

namespace qwac::api {

QuantizationConfig to_config(const QuantizationParams& params);
AccuracyControlConfig to_config(const AccuracyControlParams& params);

// `where` is the JSON path of the params object, for InvalidConfig messages about range estimators and ignored
// scopes that only the typed form rejects (unknown keys, wrong types).
QuantizationParams from_config(const QuantizationConfig& config, const std::string& where);
AccuracyControlParams from_config(const AccuracyControlConfig& config, const std::string& where);

}  // namespace qwac::api
