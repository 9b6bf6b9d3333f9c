// A C++17 program on loci's header-first core and its C ABI, linked against
// loci::loci_static: a Q8_0 round trip, Status, and the C/C++ agreement on
// status names.
#include <loci.h>

#include <cmath>
#include <cstdio>
#include <string>
#include <vector>

#include <loci/dtype.h>
#include <loci/quant.h>
#include <loci/status.h>
#include <loci/tensor.h>

#ifdef LOCI_BUILDING
#error "loci's private compile definitions leaked into a consumer"
#endif

namespace {

int fail(const std::string& what) {
  std::fprintf(stderr, "FAIL: %s\n", what.c_str());
  return 1;
}

// Q8_0 keeps each value within half a step of its block's scale (amax/127),
// plus the rounding of that scale to f16: one full step bounds both.
int check_q8_0_round_trip(double* max_error) {
  const size_t n = 4 * loci::kQK;
  std::vector<float> x(n), y(n, 0.0f);
  for (size_t i = 0; i < n; ++i) x[i] = std::sin(0.37f * float(i)) * float(1 + i % 5);

  auto t = loci::Tensor::create(loci::DType::Q8_0, {int64_t(n)});
  if (!t) return fail("Tensor::create(Q8_0): " + t.status().to_string());
  if (auto s = loci::quantize_row(loci::DType::Q8_0, x.data(), t->data(), n); !s)
    return fail("quantize_row: " + s.to_string());
  if (auto s = loci::dequantize_row(loci::DType::Q8_0, t->data(), y.data(), n); !s)
    return fail("dequantize_row: " + s.to_string());

  *max_error = 0;
  for (size_t b = 0; b < n / loci::kQK; ++b) {
    double amax = 0;
    for (size_t i = b * loci::kQK; i < (b + 1) * loci::kQK; ++i) amax = std::fmax(amax, std::fabs(x[i]));
    const double bound = amax / 127.0;
    for (size_t i = b * loci::kQK; i < (b + 1) * loci::kQK; ++i) {
      const double e = std::fabs(double(x[i]) - double(y[i]));
      *max_error = std::fmax(*max_error, e);
      if (!(e <= bound)) return fail("Q8_0 value " + std::to_string(i) + " came back off by " + std::to_string(e));
    }
  }
  // A row that is not whole blocks must be refused, not truncated.
  if (auto bad = loci::Tensor::create(loci::DType::Q8_0, {int64_t(loci::kQK + 1)}); bad)
    return fail("Tensor::create accepted a Q8_0 row of 33 values");
  return 0;
}

int check_status_names() {
  const loci::Status s = loci::invalid_argument("probe");
  if (s.is_ok() || s.code() != loci::StatusCode::kInvalidArgument) return fail("invalid_argument() is not an error");
  const std::string from_c = std::string(loci_status_string(int32_t(s.code()))) + ": probe";
  if (s.to_string() != from_c) return fail("C++ says \"" + s.to_string() + "\", C says \"" + from_c + "\"");
  return 0;
}

}  // namespace

int main() {
  if (loci_version_number() != LOCI_VERSION_NUMBER) return fail("library and header versions differ");
  double max_error = -1;
  if (check_q8_0_round_trip(&max_error) != 0 || check_status_names() != 0) return 1;
  std::printf("C++ consumer: loci %s, Q8_0 round trip max error %.5f, host isa %s\n", loci_version_string(),
              max_error, loci_isa_name(loci_isa_host()));
  return 0;
}
