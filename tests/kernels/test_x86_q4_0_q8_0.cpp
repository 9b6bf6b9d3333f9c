// Focused checks for the x86 Q4_0 x Q8_0 and Q8_0 x Q8_0 kernels (avx2,
// avx512, avx512vnni), beyond the generic parity test:
//  - every gemv and gemm computes exactly the documented arithmetic: per
//    block an exact integer dot product, then sum = fma(float(isum),
//    d_w * d_a, sum) from 0 in block order. So they agree bit for bit with a
//    scalar model, with each other and across ISAs, whatever the batch size;
//  - that holds where the integer paths are most stressed (codes -128 and
//    127 on both sides, Q4_0 nibbles 0 and 15) and across the gemm's packed
//    k-chunks, 64-row panels and the gemv's 4-block steps;
//  - splitting the output into tiles at any offset changes no bit.
// On hosts without these ISAs (or other architectures) there is nothing to run.
#include <catch2/catch.hpp>

#include <cmath>
#include <cstring>
#include <string>
#include <vector>

#include "kernels/ukernel.h"
#include "loci/fp16.h"
#include "loci/quant.h"
#include "support/test_support.h"

using namespace loci;

namespace {

bool covered(const UkernelCandidate& c) {
  const bool x86 = c.isa == Isa::kAvx2 || c.isa == Isa::kAvx512 || c.isa == Isa::kAvx512Vnni;
  return x86 && (c.weight == DType::Q4_0 || c.weight == DType::Q8_0) && isa_supported(c.isa);
}

struct Kernel {
  loci_gemm_ukernel_fn fn;
  std::string name;
};

std::vector<Kernel> covered_kernels(DType weight) {
  size_t count = 0;
  const UkernelCandidate* all = all_ukernel_candidates(&count);
  std::vector<Kernel> out;
  for (size_t i = 0; i < count; ++i)
    if (all[i].weight == weight && covered(all[i])) {
      out.push_back({all[i].gemv, all[i].gemv_name});
      out.push_back({all[i].gemm, all[i].gemm_name});
    }
  return out;
}

size_t block_bytes(DType weight) { return weight == DType::Q4_0 ? sizeof(BlockQ4_0) : sizeof(BlockQ8_0); }

// Weight element e of a block as a signed integer.
int weight_code(DType weight, const uint8_t* blk, size_t e) {
  if (weight == DType::Q8_0) return int8_t(blk[2 + e]);
  const uint8_t q = blk[2 + e % 16];
  return int(e < 16 ? q & 0xF : q >> 4) - 8;
}

// The documented arithmetic, one output at a time.
float model_dot(DType weight, const uint8_t* w, const uint8_t* a, size_t k) {
  float sum = 0.0f;
  for (size_t b = 0; b < k / kQK; ++b) {
    const uint8_t* wb = w + b * block_bytes(weight);
    const uint8_t* ab = a + b * sizeof(BlockQ8_0);
    int32_t isum = 0;
    for (size_t e = 0; e < kQK; ++e) isum += weight_code(weight, wb, e) * int8_t(ab[2 + e]);
    uint16_t dw, da;
    std::memcpy(&dw, wb, 2);
    std::memcpy(&da, ab, 2);
    sum = std::fma(float(isum), fp16_to_f32(dw) * fp16_to_f32(da), sum);
  }
  return sum;
}

void put_scale(uint8_t* blk, float d) {
  const uint16_t h = f32_to_fp16(d);
  std::memcpy(blk, &h, 2);
}

// Rows of random codes, every fourth row extreme instead: Q8_0 codes -128 and
// 127, Q4_0 nibbles 0 and 15. Scales random in [-0.02, 0.02].
std::vector<uint8_t> make_weights(DType weight, size_t n, size_t k, size_t stride, std::mt19937_64& g) {
  std::vector<uint8_t> w = test::random_bytes(g, n * stride + kKernelPadding);
  std::uniform_real_distribution<float> scale(-0.02f, 0.02f);
  const uint8_t extremes[2] = {weight == DType::Q8_0 ? uint8_t(0x80) : uint8_t(0x00),
                               weight == DType::Q8_0 ? uint8_t(0x7f) : uint8_t(0xff)};
  for (size_t j = 0; j < n; ++j)
    for (size_t b = 0; b < k / kQK; ++b) {
      uint8_t* blk = &w[j * stride + b * block_bytes(weight)];
      put_scale(blk, scale(g));
      if (j % 4 == 3)
        for (size_t e = 2; e < block_bytes(weight); ++e) blk[e] = extremes[g() & 1];
    }
  return w;
}

// Rows from the real activation quantizer, every third row raw codes of -128
// and 127 instead (which the quantizer never makes).
std::vector<uint8_t> make_activations(size_t m, size_t k, size_t stride, std::mt19937_64& g) {
  std::vector<uint8_t> a(m * stride + kKernelPadding);
  for (size_t i = 0; i < m; ++i) {
    uint8_t* row = &a[i * stride];
    const std::vector<float> x = test::random_floats(g, k, -2.0f, 2.0f);
    quantize_row_q8_0(x.data(), reinterpret_cast<BlockQ8_0*>(row), k);
    if (i % 3 == 2)
      for (size_t b = 0; b < k / kQK; ++b)
        for (size_t e = 0; e < kQK; ++e) row[b * sizeof(BlockQ8_0) + 2 + e] = (g() & 1) ? 0x80 : 0x7f;
  }
  return a;
}

struct Problem {
  DType weight;
  size_t m, n, k, a_stride, w_stride;
  std::vector<uint8_t> a, w;

  Problem(DType weight_, size_t m_, size_t n_, size_t k_, std::mt19937_64& g)
      : weight(weight_),
        m(m_),
        n(n_),
        k(k_),
        a_stride(k_ / kQK * sizeof(BlockQ8_0) + 4),  // rows a little apart, blocks 2-byte aligned
        w_stride(k_ / kQK * block_bytes(weight_) + 2),
        a(make_activations(m_, k_, a_stride, g)),
        w(make_weights(weight_, n_, k_, w_stride, g)) {}

  std::vector<float> model() const {
    std::vector<float> c(m * n);
    for (size_t i = 0; i < m; ++i)
      for (size_t j = 0; j < n; ++j) c[i * n + j] = model_dot(weight, &w[j * w_stride], &a[i * a_stride], k);
    return c;
  }

  // Runs fn on rows [i0, i1) x columns [j0, j1) of c (m x n, dense).
  void run(loci_gemm_ukernel_fn fn, size_t i0, size_t i1, size_t j0, size_t j1, std::vector<float>& c) const {
    fn(i1 - i0, j1 - j0, k, &a[i0 * a_stride], a_stride, &w[j0 * w_stride], w_stride, &c[i0 * n + j0],
       n * sizeof(float));
  }
};

bool same_bits(float x, float y) { return std::memcmp(&x, &y, sizeof x) == 0; }

// Shapes: gemv row counts and a gemm tile, N tails around 16-row groups and
// 64-row panels, k of one block, k tails of the gemv's 4-block steps, and k
// across several of the gemm's 8-block chunks with a partial last one.
struct Shape {
  size_t m, n, k;
};
constexpr Shape kShapes[] = {{1, 1, 32},   {1, 7, 96},    {2, 17, 160},  {3, 33, 32 * 27}, {4, 64, 32 * 17},
                             {5, 65, 64},  {7, 100, 288}, {13, 48, 512}, {64, 64, 32 * 9}, {70, 3, 32 * 3}};

}  // namespace

TEST_CASE("x86 Q4_0/Q8_0 kernels compute the documented arithmetic bit for bit", "[kernels][x86]") {
  std::mt19937_64 g = test::rng(0x40080);
  for (DType weight : {DType::Q4_0, DType::Q8_0}) {
    const std::vector<Kernel> kernels = covered_kernels(weight);
    if (kernels.empty()) continue;
    for (const Shape& s : kShapes) {
      const Problem p(weight, s.m, s.n, s.k, g);
      const std::vector<float> want = p.model();
      for (const Kernel& kern : kernels) {
        std::vector<float> got(p.m * p.n, -1.0f);
        p.run(kern.fn, 0, p.m, 0, p.n, got);
        size_t wrong = 0, first = 0;
        for (size_t x = 0; x < got.size(); ++x)
          if (!same_bits(got[x], want[x]) && wrong++ == 0) first = x;
        INFO(kern.name << " m=" << s.m << " n=" << s.n << " k=" << s.k << ": first differing output (" << first / p.n
                       << ", " << first % p.n << ") " << got[first] << " vs model " << want[first]);
        CHECK(wrong == 0);
      }
    }
  }
}

TEST_CASE("x86 Q4_0/Q8_0 kernels give the same bits for any split of the output", "[kernels][x86]") {
  std::mt19937_64 g = test::rng(0x40081);
  for (DType weight : {DType::Q4_0, DType::Q8_0}) {
    const Problem p(weight, 9, 75, 32 * 19, g);
    for (const Kernel& kern : covered_kernels(weight)) {
      std::vector<float> whole(p.m * p.n), pieces(p.m * p.n);
      p.run(kern.fn, 0, p.m, 0, p.n, whole);
      // Uneven cuts: row by row on one side, odd column offsets on the other.
      for (size_t i = 0; i < 4; ++i) {
        p.run(kern.fn, i, i + 1, 0, 21, pieces);
        p.run(kern.fn, i, i + 1, 21, p.n, pieces);
      }
      p.run(kern.fn, 4, p.m, 0, 5, pieces);
      p.run(kern.fn, 4, p.m, 5, 38, pieces);
      p.run(kern.fn, 4, p.m, 38, p.n, pieces);
      INFO(kern.name);
      CHECK(std::memcmp(whole.data(), pieces.data(), whole.size() * sizeof(float)) == 0);
    }
  }
}
