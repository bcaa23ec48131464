#include "test_util.h"

#include <cmath>
#include <filesystem>
#include <fstream>
#include <sstream>

namespace qwac::testing {

std::string shared_dir() {
#ifdef QWAC_SHARED_DIR
  return QWAC_SHARED_DIR;
#else
  return "../shared";
#endif
}

std::string shared_path(const std::string& relative) { return shared_dir() + "/" + relative; }

bool shared_available() { return std::filesystem::exists(shared_path("assets/MANIFEST.md")); }

Tensor random_tensor(const Shape& shape, std::mt19937& rng, float lo, float hi) {
  Tensor t(DType::kFloat32, shape);
  std::uniform_real_distribution<float> dist(lo, hi);
  float* p = t.data<float>();
  for (int64_t i = 0; i < t.numel(); ++i) p[i] = dist(rng);
  return t;
}

namespace {
template <typename T>
double element_as_double(const Tensor& t, int64_t i) {
  return static_cast<double>(t.data<T>()[i]);
}
}  // namespace

std::string compare_tensors(const Tensor& actual, const Tensor& expected, double rtol, double atol) {
  if (actual.dtype() != expected.dtype()) {
    return "dtype " + std::string(dtype_name(actual.dtype())) + " != expected " +
           std::string(dtype_name(expected.dtype()));
  }
  if (actual.shape() != expected.shape()) {
    return "shape " + shape_to_string(actual.shape()) + " != expected " + shape_to_string(expected.shape());
  }
  double worst = 0;
  int64_t worst_i = -1;
  double worst_a = 0, worst_e = 0;
  for (int64_t i = 0; i < actual.numel(); ++i) {
    double a = 0, e = 0;
    dispatch_dtype(actual.dtype(), [&](auto tag) {
      using T = decltype(tag);
      a = element_as_double<T>(actual, i);
      e = element_as_double<T>(expected, i);
    });
    if (a == e || (std::isnan(a) && std::isnan(e))) continue;
    if (std::isinf(a) && std::isinf(e) && (a > 0) == (e > 0)) continue;
    const double err = std::abs(a - e) / (atol + rtol * std::abs(e));
    if (!(err <= worst) || std::isnan(err)) {
      worst = std::isnan(err) ? INFINITY : err;
      worst_i = i;
      worst_a = a;
      worst_e = e;
    }
  }
  if (worst <= 1.0) return "";
  std::ostringstream os;
  os << "element " << worst_i << ": got " << worst_a << ", expected " << worst_e << " (rtol " << rtol << ", atol "
     << atol << ")";
  return os.str();
}

std::string read_file_bytes(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  std::ostringstream os;
  os << f.rdbuf();
  return os.str();
}

}  // namespace qwac::testing
