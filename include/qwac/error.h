// qwac public error types.
//
// Every failure a user can hit is reported as a qwac::Error subclass that names the offending object (node,
// tensor, file, JSON path) and what was expected. Errors are thrown inside the library and caught only at the
// boundaries (the CLI's main, the Python module), which turn them into one line and an exit code.
#pragma once

#include <stdexcept>
#include <string>

namespace qwac {

// Exit codes the CLI maps each error kind to (stable: scripts rely on them).
enum class ErrorKind : int {
  kInternal = 1,
  kInvalidArgument = 2,  // bad flag or option value
  kIoError = 3,          // missing/unreadable/unwritable file
  kInvalidModel = 4,     // malformed ONNX, inconsistent graph
  kUnsupportedOp = 5,    // ops the engine cannot run
  kInvalidConfig = 6,    // bad JSON config value or unknown key
  kDataError = 7,        // dataset / sample problems
  kAccuracyNotReached = 8,
};

class Error : public std::runtime_error {
 public:
  Error(ErrorKind kind, const std::string& message) : std::runtime_error(message), kind_(kind) {}
  ErrorKind kind() const noexcept { return kind_; }
  int exit_code() const noexcept { return static_cast<int>(kind_); }

 private:
  ErrorKind kind_;
};

#define QWAC_DEFINE_ERROR(ClassName, Kind)                                                 \
  class ClassName : public Error {                                                          \
   public:                                                                                  \
    explicit ClassName(const std::string& message) : Error(ErrorKind::Kind, message) {}     \
  };

QWAC_DEFINE_ERROR(InternalError, kInternal)
QWAC_DEFINE_ERROR(InvalidArgument, kInvalidArgument)
QWAC_DEFINE_ERROR(IoError, kIoError)
QWAC_DEFINE_ERROR(InvalidModel, kInvalidModel)
QWAC_DEFINE_ERROR(UnsupportedOp, kUnsupportedOp)
QWAC_DEFINE_ERROR(InvalidConfig, kInvalidConfig)
QWAC_DEFINE_ERROR(DataError, kDataError)
QWAC_DEFINE_ERROR(AccuracyNotReached, kAccuracyNotReached)

#undef QWAC_DEFINE_ERROR

// Short name of an error kind for messages ("InvalidModel").
const char* error_kind_name(ErrorKind kind) noexcept;

}  // namespace qwac
