// The aarch64 NEON, dotprod and i8mm kernels beyond what the parity test
// checks: they all combine each output's exact integer sums with the scales in
// the same float operations (F16: the same f32 fma sequence), so gemv, gemm and
// the three ISA levels must agree bit for bit (results do not change with the
// batch size or the CPU level); and extreme codes, scales and activations must
// not overflow their integer sums (NEON sums some products in int16 lanes).
// Kernels the host cannot run are skipped (under qemu, `-cpu max` runs all).
#include <catch2/catch.hpp>

#include <cmath>
#include <cstring>
#include <string>
#include <utility>
#include <vector>

#include "kernels/kernel_test_data.h"
#include "kernels/ukernel.h"
#include "support/test_support.h"

using namespace loci;

namespace {

// Products with int8 kernels on aarch64, and all products with arm kernels.
constexpr DType kInt8Products[] = {DType::Q4_0, DType::Q8_0, DType::Q4_K, DType::Q6_K};
constexpr DType kArmProducts[] = {DType::Q4_0, DType::Q8_0, DType::Q4_K, DType::Q6_K, DType::F16};

struct NamedKernel {
  loci_gemm_ukernel_fn fn;
  std::string name;
};

bool is_arm_isa(Isa isa) { return isa == Isa::kNeon || isa == Isa::kDotprod || isa == Isa::kI8mm; }

// The runnable NEON, dotprod and i8mm kernels of one product, gemv and gemm, each once.
std::vector<NamedKernel> arm_kernels(DType weight) {
  size_t count = 0;
  const UkernelCandidate* all = all_ukernel_candidates(&count);
  std::vector<NamedKernel> out;
  auto add = [&out](loci_gemm_ukernel_fn fn, const char* name) {
    for (const NamedKernel& k : out)
      if (k.fn == fn) return;
    out.push_back({fn, name});
  };
  for (size_t i = 0; i < count; ++i) {
    const UkernelCandidate& c = all[i];
    if (c.weight != weight || !is_arm_isa(c.isa) || !isa_supported(c.isa)) continue;
    add(c.gemv, c.gemv_name);
    add(c.gemm, c.gemm_name);
  }
  return out;
}

// Inputs for an m x n x k product, rows `slack` bytes further apart than needed.
struct Inputs {
  DType weight, act;
  size_t m, n, k, a_stride, w_stride;
  std::vector<uint8_t> a, w;

  Inputs(DType weight_, size_t m_, size_t n_, size_t k_, size_t slack)
      : weight(weight_),
        act(matmul_activation_dtype(weight_)),
        m(m_),
        n(n_),
        k(k_),
        a_stride(test::row_bytes(act, k_) + slack),
        w_stride(test::row_bytes(weight_, k_) + slack),
        a(m_ * a_stride + kKernelPadding),
        w(n_ * w_stride + kKernelPadding) {}

  std::vector<float> run(loci_gemm_ukernel_fn fn) const {
    std::vector<float> c(m * n);
    fn(m, n, k, a.data(), a_stride, w.data(), w_stride, c.data(), n * sizeof(float));
    return c;
  }
};

size_t bit_mismatches(const std::vector<float>& x, const std::vector<float>& y) {
  size_t bad = 0;
  for (size_t o = 0; o < x.size(); ++o) bad += std::memcmp(&x[o], &y[o], sizeof(float)) != 0;
  return bad;
}

// Byte offsets of the fp16 scales in a block of the products tested here.
std::vector<size_t> fp16_scale_offsets(DType w) {
  switch (w) {
    case DType::Q4_0: return {offsetof(BlockQ4_0, d)};
    case DType::Q8_0: return {offsetof(BlockQ8_0, d)};
    case DType::Q4_K: return {offsetof(BlockQ4_K, d), offsetof(BlockQ4_K, dmin)};
    case DType::Q6_K: return {offsetof(BlockQ6_K, d)};
    default: return {};
  }
}

// Weight blocks at the extremes of their codes and scales: Q4_0 codes all 0
// (q - 8 = -8), Q8_0 codes all -128, Q4_K codes 15 with every 6-bit scale and
// min 63, Q6_K codes 0 (q - 32 = -32) with scales -128. The fp16 scales stay sane.
void fill_extreme_weights(DType w, size_t rows, size_t k, uint8_t* dst, size_t stride, std::mt19937_64& g) {
  const DTypeInfo& info = *dtype_info(w);
  const uint8_t fill = w == DType::Q8_0 ? 0x80 : w == DType::Q4_K ? 0xFF : 0x00;
  for (size_t r = 0; r < rows; ++r) {
    for (size_t blk = 0; blk < k / info.block_elems; ++blk) {
      uint8_t* b = dst + r * stride + blk * info.block_bytes;
      std::memset(b, fill, info.block_bytes);
      if (w == DType::Q6_K) std::memset(b + offsetof(BlockQ6_K, scales), 0x80, sizeof(BlockQ6_K::scales));
      for (size_t off : fp16_scale_offsets(w)) {
        const uint16_t h = test::random_scale(g);
        std::memcpy(b + off, &h, sizeof h);
      }
    }
  }
}

}  // namespace

TEST_CASE("arm kernels of a product agree bit for bit: gemv, gemm, neon, dotprod, i8mm", "[kernels][arm]") {
  std::mt19937_64 g = test::rng(0xa2d0);
  for (DType weight : kArmProducts) {
    const std::vector<NamedKernel> kernels = arm_kernels(weight);
    if (kernels.size() < 2) {
      WARN(dtype_name(weight) << ": fewer than two arm kernels runnable on this host, nothing to compare");
      continue;
    }
    // Odd m and n: every tile shape has tails, and i8mm pairs the last row and
    // column with copies of themselves. Nine blocks give F16 (one element a
    // block) both its vector loop and its k % 4 tail.
    const std::pair<size_t, size_t> shapes[] = {{7, 13}, {2, 5}};
    for (size_t blocks : {1, 3, 9}) {
      for (const auto& [m, n] : shapes) {
        Inputs in(weight, m, n, blocks * test::k_block(weight), 12);
        test::fill_random_activations(in.act, in.m, in.k, in.a.data(), in.a_stride, g);
        test::fill_random_weights(weight, in.n, in.k, in.w.data(), in.w_stride, g);
        const std::vector<float> first = in.run(kernels[0].fn);
        for (size_t i = 1; i < kernels.size(); ++i) {
          INFO(kernels[i].name << " vs " << kernels[0].name << ", m=" << m << " n=" << n << " k=" << in.k);
          CHECK(bit_mismatches(in.run(kernels[i].fn), first) == 0);
        }
      }
    }
  }
}

TEST_CASE("arm int8 kernels do not overflow on extreme codes, scales and activations", "[kernels][arm]") {
  std::mt19937_64 g = test::rng(0xa2e1);
  for (DType weight : kInt8Products) {
    const std::vector<NamedKernel> kernels = arm_kernels(weight);
    if (kernels.empty()) {
      WARN(dtype_name(weight) << ": no arm kernel runnable on this host");
      continue;
    }
    const size_t m = 3, n = 5, k = 8 * test::k_block(weight);
    Inputs in(weight, m, n, k, 0);
    fill_extreme_weights(weight, n, k, in.w.data(), in.w_stride, g);
    // Activations all +1, all -1 (every code +-127, so every product one sign),
    // and alternating.
    for (size_t i = 0; i < m; ++i) {
      std::vector<float> x(k);
      for (size_t e = 0; e < k; ++e) x[e] = i == 0 ? 1.0f : i == 1 ? -1.0f : (e % 2 ? 1.0f : -1.0f);
      test::convert_activation_row(in.act, x.data(), in.a.data() + i * in.a_stride, k);
    }
    const auto af = test::dequantized_rows(in.act, in.a.data(), m, k, in.a_stride);
    const auto wf = test::dequantized_rows(weight, in.w.data(), n, k, in.w_stride);
    const auto wo = test::offset_rows(weight, in.w.data(), n, k, in.w_stride);
    for (const NamedKernel& kernel : kernels) {
      const std::vector<float> c = in.run(kernel.fn);
      for (size_t i = 0; i < m; ++i)
        for (size_t j = 0; j < n; ++j) {
          const double exact = test::dot(wf[j], af[i]), mag = test::error_scale(wf[j], wo[j], af[i]);
          INFO(kernel.name << " output " << i << "," << j << ": kernel " << c[i * n + j] << ", exact " << exact);
          CHECK(std::fabs(double(c[i * n + j]) - exact) <= 1e-5 * mag);
        }
    }
  }
}
