// Focused checks for the x86 F32/F16/BF16/Q4_K/Q6_K kernels (avx2, avx512,
// avx512vnni), beyond what the generic parity test covers:
//  - the K-quant kernels stay exact where their int16 intermediates come
//    closest to saturating: largest quants and scales against activations of
//    -128 and 127 (values random data and the real quantizer rarely give);
//  - gemv and gemm of one candidate agree bit for bit, so a row's result does
//    not depend on how many rows were batched with it.
// On hosts without these ISAs (or other architectures) there is nothing to run.
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

bool covered(const UkernelCandidate& c) {
  const bool x86 = c.isa == Isa::kAvx2 || c.isa == Isa::kAvx512 || c.isa == Isa::kAvx512Vnni;
  const bool product = c.weight == DType::F32 || c.weight == DType::F16 || c.weight == DType::BF16 ||
                       c.weight == DType::Q4_K || c.weight == DType::Q6_K;
  return x86 && product && isa_supported(c.isa);
}

std::vector<const UkernelCandidate*> covered_candidates(DType weight) {
  size_t count = 0;
  const UkernelCandidate* all = all_ukernel_candidates(&count);
  std::vector<const UkernelCandidate*> out;
  for (size_t i = 0; i < count; ++i)
    if (all[i].weight == weight && covered(all[i])) out.push_back(&all[i]);
  return out;
}

constexpr size_t kBlocks = 2;
constexpr size_t kK = kBlocks * kQK_K;

uint8_t pick(std::mt19937_64& g, std::initializer_list<uint8_t> options) {
  return options.begin()[g() % options.size()];
}

// Q8_K rows whose codes are all -128, all 127, alternating, or a random mix of
// the two, with consistent bsums and a power-of-two scale.
std::vector<BlockQ8_K> extreme_activations(size_t rows, std::mt19937_64& g) {
  std::vector<BlockQ8_K> a(rows * kBlocks);
  for (size_t r = 0; r < rows; ++r)
    for (size_t b = 0; b < kBlocks; ++b) {
      BlockQ8_K& blk = a[r * kBlocks + b];
      blk.d = 1.0f / 64;
      for (size_t e = 0; e < kQK_K; ++e) {
        const int v = r % 4 == 0 ? -128 : r % 4 == 1 ? 127 : r % 4 == 2 ? (e % 2 ? 127 : -128) : (g() & 1 ? 127 : -128);
        blk.qs[e] = int8_t(v);
      }
      for (size_t grp = 0; grp < kQK_K / 16; ++grp) {
        int sum = 0;
        for (size_t e = 0; e < 16; ++e) sum += blk.qs[16 * grp + e];
        blk.bsums[grp] = int16_t(sum);
      }
    }
  return a;
}

// Q4_K rows with every 6-bit scale and min at 63 and codes at 15 (row 0), 0/15
// in a random mix (row 1), or random bytes (row 2); d and dmin of both signs.
std::vector<BlockQ4_K> extreme_q4_k(size_t rows, std::mt19937_64& g) {
  std::vector<BlockQ4_K> w(rows * kBlocks);
  for (size_t r = 0; r < rows; ++r)
    for (size_t b = 0; b < kBlocks; ++b) {
      BlockQ4_K& blk = w[r * kBlocks + b];
      blk.d = f32_to_fp16(r % 2 ? -1.0f / 256 : 1.0f / 256);
      blk.dmin = f32_to_fp16(1.0f / 512);
      std::memset(blk.scales, 0xFF, sizeof blk.scales);
      for (uint8_t& q : blk.qs) q = r % 3 == 0 ? 0xFF : r % 3 == 1 ? pick(g, {0x00, 0xFF, 0x0F, 0xF0}) : uint8_t(g());
    }
  return w;
}

// Q6_K rows with codes at 63 and scales at -128 (row 0), codes at 0 and scales
// at 127 (row 1), or both mixed at random between those extremes (row 2).
std::vector<BlockQ6_K> extreme_q6_k(size_t rows, std::mt19937_64& g) {
  std::vector<BlockQ6_K> w(rows * kBlocks);
  for (size_t r = 0; r < rows; ++r)
    for (size_t b = 0; b < kBlocks; ++b) {
      BlockQ6_K& blk = w[r * kBlocks + b];
      blk.d = f32_to_fp16(1.0f / 1024);
      const uint8_t code = r % 3 == 0 ? 0xFF : 0x00;
      for (uint8_t& q : blk.ql) q = r % 3 == 2 ? pick(g, {0x00, 0xFF}) : code;
      for (uint8_t& q : blk.qh) q = r % 3 == 2 ? pick(g, {0x00, 0xFF}) : code;
      for (int8_t& s : blk.scales) s = int8_t(r % 3 == 0 ? -128 : r % 3 == 1 ? 127 : pick(g, {0x80, 0x7F}));
    }
  return w;
}

// Runs every covered candidate's gemv and gemm on m x n outputs and checks
// them against the reference within the parity test's integer tolerance.
void check_against_reference(DType weight, const void* w, size_t m, size_t n, const std::vector<BlockQ8_K>& a) {
  const size_t w_stride = *dtype_row_bytes(weight, kK), a_stride = sizeof(BlockQ8_K) * kBlocks;
  const auto* wb = static_cast<const uint8_t*>(w);
  const auto* ab = reinterpret_cast<const uint8_t*>(a.data());
  const auto wf = test::dequantized_rows(weight, wb, n, kK, w_stride);
  const auto wo = test::offset_rows(weight, wb, n, kK, w_stride);
  const auto af = test::dequantized_rows(DType::Q8_K, ab, m, kK, a_stride);
  std::vector<float> want(m * n);
  reference_ukernel(weight)->gemm(m, n, kK, ab, a_stride, wb, w_stride, want.data(), n * sizeof(float));

  for (const UkernelCandidate* c : covered_candidates(weight)) {
    for (auto [fn, name] : {std::pair{c->gemv, c->gemv_name}, std::pair{c->gemm, c->gemm_name}}) {
      std::vector<float> got(m * n, NAN);
      fn(m, n, kK, ab, a_stride, wb, w_stride, got.data(), n * sizeof(float));
      for (size_t i = 0; i < m; ++i)
        for (size_t j = 0; j < n; ++j) {
          const double scale = test::error_scale(wf[j], wo[j], af[i]);
          INFO(name << " output " << i << "," << j << ": got " << got[i * n + j] << ", reference " << want[i * n + j]
                    << ", scale " << scale);
          CHECK(std::fabs(double(got[i * n + j]) - double(want[i * n + j])) <= 5e-6 * scale);
        }
    }
  }
}

}  // namespace

TEST_CASE("x86 K-quant kernels are exact at the int16 extremes", "[kernels][x86]") {
  std::mt19937_64 g = test::rng(0x6b71);
  const size_t m = 5, n = 3;
  const std::vector<BlockQ8_K> a = extreme_activations(m, g);
  SECTION("q4_k") {
    const std::vector<BlockQ4_K> w = extreme_q4_k(n, g);
    check_against_reference(DType::Q4_K, w.data(), m, n, a);
  }
  SECTION("q6_k") {
    const std::vector<BlockQ6_K> w = extreme_q6_k(n, g);
    check_against_reference(DType::Q6_K, w.data(), m, n, a);
  }
}

TEST_CASE("x86 float and K-quant kernels give gemv and gemm the same bits", "[kernels][x86]") {
  std::mt19937_64 g = test::rng(0x6b72);
  for (DType weight : {DType::F32, DType::F16, DType::BF16, DType::Q4_K, DType::Q6_K}) {
    const DType act = matmul_activation_dtype(weight);
    const size_t m = 7, n = 19, k = test::k_block(weight) == 1 ? 77 : 2 * kQK_K;
    const size_t a_stride = test::row_bytes(act, k), w_stride = test::row_bytes(weight, k);
    std::vector<uint8_t> a(m * a_stride), w(n * w_stride);
    test::fill_random_activations(act, m, k, a.data(), a_stride, g);
    test::fill_random_weights(weight, n, k, w.data(), w_stride, g);
    for (const UkernelCandidate* c : covered_candidates(weight)) {
      INFO(c->gemv_name << " vs " << c->gemm_name);
      std::vector<float> by_gemv(m * n), by_gemm(m * n);
      c->gemv(m, n, k, a.data(), a_stride, w.data(), w_stride, by_gemv.data(), n * sizeof(float));
      c->gemm(m, n, k, a.data(), a_stride, w.data(), w_stride, by_gemm.data(), n * sizeof(float));
      CHECK(std::memcmp(by_gemv.data(), by_gemm.data(), by_gemv.size() * sizeof(float)) == 0);
    }
  }
}
