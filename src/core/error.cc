#include "qwac/error.h"

namespace qwac {

const char* error_kind_name(ErrorKind kind) noexcept {
  switch (kind) {
    case ErrorKind::kInternal: return "InternalError";
    case ErrorKind::kInvalidArgument: return "InvalidArgument";
    case ErrorKind::kIoError: return "IoError";
    case ErrorKind::kInvalidModel: return "InvalidModel";
    case ErrorKind::kUnsupportedOp: return "UnsupportedOp";
    case ErrorKind::kInvalidConfig: return "InvalidConfig";
    case ErrorKind::kDataError: return "DataError";
    case ErrorKind::kAccuracyNotReached: return "AccuracyNotReached";
  }
  return "Error";
}

}  // namespace qwac
