// ONNX Runtime's contrib ops that qwac reads and writes (domain "com.microsoft", opset version 1).
//
// QuantizeLinear / DequantizeLinear: the default-domain ops with opset-13 semantics (per-tensor or per-axis with
// `axis`) and 16-bit types as well (int16 / uint16 zero points). Before opset 21 the default domain has no 16-bit
// Q/DQ, and ONNX 1.12 (Debian's) knows no opset 21, so 16-bit quantizers (the precision ladder's INT16 rung, GNA's
// activations) are written in this domain, as ONNX Runtime's own quantization tool does for opsets < 21.
#pragma once

#include <string_view>

namespace qwac::ir {

inline constexpr std::string_view kMicrosoftDomain = "com.microsoft";
inline constexpr int64_t kMicrosoftOpsetVersion = 1;
inline constexpr int64_t kContribQdqSemanticsOpset = 13;  // the default-domain opset whose Q/DQ they behave as

// True for QuantizeLinear / DequantizeLinear nodes of the default domain or of com.microsoft.
inline bool is_qdq_domain(std::string_view domain) {
  return domain.empty() || domain == "ai.onnx" || domain == kMicrosoftDomain;
}

}  // namespace qwac::ir
