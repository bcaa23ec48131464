// Strict reading of a metric's JSON options: the generic reader of core/json_options.h, plus the one option kind
// only metrics have, an output reference (a name or an index).
#pragma once

#include <string>

#include "core/json_options.h"
#include "metrics/metric_util.h"

namespace qwac::metrics {

class JsonOptions : public qwac::JsonOptions {
 public:
  using qwac::JsonOptions::JsonOptions;
  using qwac::JsonOptions::read;
  // A string = output name, an integer >= 0 = output index.
  void read(const std::string& key, OutputRef& value);
};

}  // namespace qwac::metrics
