// The metric types a JSON config can name, each with a factory that reads its options strictly (unknown key or wrong
// JSON type -> InvalidConfig naming the JSON path). The config layer (src/config/) looks types up here; adding a
// metric means adding one row to the table in metric_registry.cc.
#pragma once

#include <functional>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "qwac/metric.h"

namespace qwac::metrics {

// `options` is the metric's options object (null = defaults); `where` its JSON path for messages
// ("metrics[0].options"; empty -> "<type> options").
using MetricFactory = std::function<MetricPtr(const nlohmann::json& options, const std::string& where)>;

struct MetricType {
  std::string type;     // "accuracy"
  std::string summary;  // one line for --help and docs
  MetricFactory make;
};

// The table, in a fixed order: accuracy, map, mean_iou, nmse, cosine, psnr, f1.
const std::vector<MetricType>& metric_types();

// nullptr when `type` is not registered.
const MetricType* find_metric_type(const std::string& type);

// "accuracy, map, mean_iou, ..." for "unknown metric type" messages.
std::string metric_type_names();

}  // namespace qwac::metrics
