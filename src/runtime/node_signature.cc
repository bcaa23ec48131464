#include "runtime/node_signature.h"

#include <cstring>
#include <type_traits>
#include <variant>

namespace qwac::runtime {
namespace {

uint64_t mix(uint64_t h, uint64_t w) {
  h ^= w * 0x9E3779B97F4A7C15ull;
  h = (h << 31) | (h >> 33);
  return h * 0xC2B2AE3D27D4EB4Full;
}

// Four independent lanes over 32-byte blocks, then the rest word by word: the lanes' multiply chains overlap, so a
// candidate's compile hashes its weights (every constant input, for the kernel cache's keys) about 3x faster than
// with one chain. The digests are in-process keys only (never stored).
uint64_t hash_bytes(const void* data, size_t n) {
  const auto* p = static_cast<const unsigned char*>(data);
  uint64_t lanes[4] = {0x243F6A8885A308D3ull ^ n, 0x13198A2E03707344ull, 0xA4093822299F31D0ull, 0x082EFA98EC4E6C89ull};
  size_t i = 0;
  for (; i + 32 <= n; i += 32) {
    uint64_t w[4];
    std::memcpy(w, p + i, 32);
    for (int l = 0; l < 4; ++l) lanes[l] = mix(lanes[l], w[l]);
  }
  uint64_t h = mix(mix(mix(lanes[0], lanes[1]), lanes[2]), lanes[3]);
  for (; i + 8 <= n; i += 8) {
    uint64_t w;
    std::memcpy(&w, p + i, 8);
    h = mix(h, w);
  }
  uint64_t tail = 0;
  std::memcpy(&tail, p + i, n - i);
  h = mix(h, tail);
  return h ^ (h >> 29);
}

std::string float_bits(float f) {
  uint32_t bits;
  std::memcpy(&bits, &f, sizeof bits);
  return std::to_string(bits);
}

std::string attribute_text(const ir::AttributeValue& v) {
  return std::visit(
      [](const auto& x) -> std::string {
        using T = std::decay_t<decltype(x)>;
        if constexpr (std::is_same_v<T, int64_t>) {
          return "i" + std::to_string(x);
        } else if constexpr (std::is_same_v<T, float>) {
          return "f" + float_bits(x);
        } else if constexpr (std::is_same_v<T, std::string>) {
          return "s" + std::to_string(x.size()) + ":" + x;
        } else if constexpr (std::is_same_v<T, Tensor>) {
          return "t" + tensor_digest(x);
        } else {
          std::string s = "[";
          for (const auto& e : x) {
            if constexpr (std::is_same_v<std::decay_t<decltype(e)>, std::string>) {
              s += std::to_string(e.size()) + ":" + e + ",";
            } else if constexpr (std::is_same_v<std::decay_t<decltype(e)>, float>) {
              s += float_bits(e) + ",";
            } else {
              s += std::to_string(e) + ",";
            }
          }
          return s + "]";
        }
      },
      v);
}

}  // namespace

std::string tensor_digest(const Tensor& t) {
  const uint64_t h = t.raw() == nullptr ? 0 : hash_bytes(t.raw(), t.nbytes());
  return std::string(dtype_name(t.dtype())) + shape_to_string(t.shape()) + "#" + std::to_string(h);
}

std::string node_signature(const ir::Node& n) {
  std::string s = n.domain() + "::" + n.op_type() + "(";
  for (const ir::Value* v : n.inputs()) {
    if (v == nullptr) {
      s += "-,";
    } else if (v->is_constant()) {
      s += v->name() + "=" + tensor_digest(*v->constant) + ",";
    } else {
      s += v->name() + ",";
    }
  }
  s += ")->(";
  for (const ir::Value* v : n.outputs()) s += (v == nullptr ? std::string("-") : v->name()) + ",";
  s += "){";
  for (const auto& [name, value] : n.attrs.all()) s += name + "=" + attribute_text(value) + ";";
  return s + "}";
}

}  // namespace qwac::runtime
