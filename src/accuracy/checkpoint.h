// Checkpoint of an accuracy-aware run: every validation result, keyed by what was validated (which quantizers are
// enabled, on which samples). The search is deterministic, so resuming an interrupted run means running it again
// with the recorded results answering the validations already done: it reaches the same decisions, instantly up to
// the interruption point, and the same final model. Written atomically after every validation.
#pragma once

#include <map>
#include <memory>
#include <optional>
#include <string>

#include "accuracy/validator.h"

namespace qwac::accuracy {

class Checkpoint {
 public:
  // `identity` fingerprints the inputs (config, model); `resume` loads an existing file with the same identity
  // (InvalidArgument when it belongs to another run); otherwise any existing file is replaced.
  Checkpoint(std::string path, std::string identity, bool resume);

  std::optional<ValidationResult> find(const std::string& key) const;
  void store(const std::string& key, const ValidationResult& r);
  size_t resumed_entries() const { return resumed_; }
  const std::string& path() const { return path_; }

 private:
  void write() const;
  std::string path_, identity_;
  std::map<std::string, ValidationResult> entries_;
  size_t resumed_ = 0;
};

}  // namespace qwac::accuracy
