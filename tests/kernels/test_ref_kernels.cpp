// The reference kernels against an independent computation: both rows widened
// to float by loci::dequantize_row and dotted in double. The ref kernels are
// the ground truth every SIMD variant is held to, so they are checked here on
// random bit patterns, on weights made by the real quantizers, and one weight
// element at a time.
#include <catch2/catch.hpp>

#include <cmath>
#include <cstdio>
#include <string>
#include <vector>

#include "kernels/kernel_test_data.h"
#include "kernels/ukernel.h"
#include "support/test_support.h"

using namespace loci;

namespace {

// Allowed |kernel - exact| as a fraction of the error scale
// sum_k (|w_k| + |o_k|) * |a_k|, o_k being the part of w_k that does not
// depend on its quant code (see kernel_test_data.h). Q4_1 and Q5_1
// take their min term from the activation's s = d * sum(q), which Q8_1 stores
// as fp16 (relative error up to 2^-11), while dequantizing the activation
// gives d * q exactly; everything else is float rounding of exact products.
struct Tolerance {
  DType weight;
  double rtol;
};
constexpr Tolerance kTolerances[] = {
    {DType::F32, 2e-6},  {DType::F16, 2e-6},  {DType::BF16, 2e-6}, {DType::Q4_0, 1e-6}, {DType::Q4_1, 6e-4},
    {DType::Q5_0, 1e-6}, {DType::Q5_1, 6e-4}, {DType::Q8_0, 1e-6}, {DType::Q2_K, 1e-6}, {DType::Q3_K, 1e-6},
    {DType::Q4_K, 1e-6}, {DType::Q5_K, 1e-6}, {DType::Q6_K, 1e-6},
};

double tolerance_for(DType w) {
  for (const Tolerance& t : kTolerances)
    if (t.weight == w) return t.rtol;
  return 0.0;
}

// Weight rows: random bytes with sane scales, or floats through the real
// quantizer (quantize_row), so both every bit pattern and realistic blocks occur.
enum class WeightSource { kRandomBits, kQuantized };

void fill_weights(WeightSource src, DType w, size_t rows, size_t k, uint8_t* dst, size_t stride, std::mt19937_64& g) {
  if (src == WeightSource::kRandomBits) {
    test::fill_random_weights(w, rows, k, dst, stride, g);
    return;
  }
  for (size_t r = 0; r < rows; ++r) {
    const std::vector<float> x = test::random_floats(g, k);
    REQUIRE(quantize_row(w, x.data(), dst + r * stride, k).is_ok());
  }
}

// Runs the reference kernel on m x n rows and checks each output against the
// double dot of the dequantized rows. Returns the worst error seen, as a
// fraction of the error scale.
double check_against_dequantized(DType weight, size_t m, size_t n, size_t k, const std::vector<uint8_t>& a,
                                 const std::vector<uint8_t>& w) {
  const DType act = matmul_activation_dtype(weight);
  const size_t a_row = test::row_bytes(act, k), w_row = test::row_bytes(weight, k);
  std::vector<float> c(m * n);
  reference_ukernel(weight)->gemm(m, n, k, a.data(), a_row, w.data(), w_row, c.data(), n * sizeof(float));
  const auto af = test::dequantized_rows(act, a.data(), m, k, a_row);
  const auto wf = test::dequantized_rows(weight, w.data(), n, k, w_row);
  const auto wo = test::offset_rows(weight, w.data(), n, k, w_row);
  const double rtol = tolerance_for(weight);
  double worst = 0.0;
  for (size_t i = 0; i < m; ++i)
    for (size_t j = 0; j < n; ++j) {
      const double exact = test::dot(wf[j], af[i]), mag = test::error_scale(wf[j], wo[j], af[i]);
      const double err = std::fabs(double(c[i * n + j]) - exact);
      if (mag > 0) worst = std::max(worst, err / mag);
      INFO("output " << i << "," << j << ": kernel " << c[i * n + j] << ", exact " << exact << ", scale " << mag);
      CHECK(err <= rtol * mag);
    }
  return worst;
}

std::vector<uint8_t> padded_bytes(size_t n) { return std::vector<uint8_t>(n + kKernelPadding); }

}  // namespace

TEST_CASE("ref kernels equal the dot product of the dequantized rows", "[kernels][ref]") {
  std::mt19937_64 g = test::rng(0x4ef0);
  for (DType weight : test::kMatmulWeights) {
    REQUIRE(reference_ukernel(weight) != nullptr);
    const DType act = matmul_activation_dtype(weight);
    const size_t kb = test::k_block(weight);
    const std::vector<size_t> ks = kb == 1 ? std::vector<size_t>{1, 5, 64, 1000} : std::vector<size_t>{kb, 4 * kb};
    double worst = 0.0;
    for (WeightSource src : {WeightSource::kRandomBits, WeightSource::kQuantized}) {
      for (size_t k : ks) {
        INFO(dtype_name(weight) << " k=" << k << (src == WeightSource::kRandomBits ? " random bits" : " quantized"));
        const size_t m = 2, n = 3;
        std::vector<uint8_t> a = padded_bytes(m * test::row_bytes(act, k));
        std::vector<uint8_t> w = padded_bytes(n * test::row_bytes(weight, k));
        test::fill_random_activations(act, m, k, a.data(), test::row_bytes(act, k), g);
        fill_weights(src, weight, n, k, w.data(), test::row_bytes(weight, k), g);
        worst = std::max(worst, check_against_dequantized(weight, m, n, k, a, w));
      }
    }
    std::fprintf(stderr, "ref: %-5s worst error %.2e of the error scale (tolerance %.0e)\n", dtype_name(weight), worst,
                 tolerance_for(weight));
  }
}

TEST_CASE("ref kernels read every weight element from the right bits", "[kernels][ref]") {
  // Activation row e is one-hot at element e, so output (e, j) is weight
  // element e of row j alone: a layout mistake shows up at its exact position.
  std::mt19937_64 g = test::rng(0x0e07);
  for (DType weight : test::kMatmulWeights) {
    const DType act = matmul_activation_dtype(weight);
    const size_t k = std::max<size_t>(test::k_block(weight), 32), n = 2;
    INFO(dtype_name(weight));
    const size_t a_row = test::row_bytes(act, k);
    std::vector<uint8_t> a = padded_bytes(k * a_row);
    for (size_t e = 0; e < k; ++e) {
      std::vector<float> x(k, 0.0f);
      x[e] = 1.0f;
      test::convert_activation_row(act, x.data(), a.data() + e * a_row, k);
    }
    std::vector<uint8_t> w = padded_bytes(n * test::row_bytes(weight, k));
    test::fill_random_weights(weight, n, k, w.data(), test::row_bytes(weight, k), g);
    check_against_dequantized(weight, k, n, k, a, w);
  }
}
