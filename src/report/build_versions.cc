// Report::versions: what a run was built with, so a report says which qwac and libraries produced its numbers.
#include <google/protobuf/stubs/common.h>
#include <onnx/common/version.h>

#include <oneapi/dnnl/dnnl.hpp>
#include <string>

#include "qwac/report.h"
#include "qwac/version.h"

namespace qwac {

std::map<std::string, std::string> build_versions() {
  std::map<std::string, std::string> v;
  v["qwac"] = version();
  const dnnl_version_t* d = dnnl::version();
  v["oneDNN"] = std::to_string(d->major) + "." + std::to_string(d->minor) + "." + std::to_string(d->patch);
  v["ONNX"] = ONNX_NAMESPACE::LAST_RELEASE_VERSION;
  v["protobuf"] = google::protobuf::internal::VersionString(GOOGLE_PROTOBUF_VERSION);
#if defined(__clang__)
  v["compiler"] = std::string("clang ") + __clang_version__;
#elif defined(__GNUC__)
  v["compiler"] = std::string("gcc ") + __VERSION__;
#endif
  return v;
}

}  // namespace qwac
