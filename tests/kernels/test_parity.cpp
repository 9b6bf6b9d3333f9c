// Every compiled micro-kernel the host can run, gemv and gemm, against its
// product's reference kernel on fresh random data across edge shapes, plus
// the contract checks every variant must meet: no writes outside the m x n
// tile, no reads beyond kKernelPadding, and outputs that do not depend on
// where the tile starts.
#include <catch2/catch.hpp>

#include <cmath>
#include <cstdio>
#include <map>
#include <string>
#include <vector>

#include "kernels/kernel_test_data.h"
#include "kernels/ukernel.h"
#include "support/test_support.h"

using namespace loci;
using loci::test::GuardedBuffer;

namespace {

// Allowed |kernel - reference| per output, as a fraction of the error scale
// sum_k (|w_k| + |o_k|) * |a_k| (dequantized values; o_k is the part of w_k
// that does not depend on its quant code, see kernel_test_data.h).
struct Tolerance {
  DType weight;
  double rtol;
};
constexpr double kFloatRtol = 2e-5;  // f32/f16/bf16: lane order and FMA change every rounding
constexpr double kIntRtol = 5e-6;    // exact integer sums; only scale products and block order round
constexpr Tolerance kTolerances[] = {
    {DType::F32, kFloatRtol}, {DType::F16, kFloatRtol}, {DType::BF16, kFloatRtol}, {DType::Q4_0, kIntRtol},
    {DType::Q4_1, kIntRtol},  {DType::Q5_0, kIntRtol},  {DType::Q5_1, kIntRtol},   {DType::Q8_0, kIntRtol},
    {DType::Q2_K, kIntRtol},  {DType::Q3_K, kIntRtol},  {DType::Q4_K, kIntRtol},   {DType::Q5_K, kIntRtol},
    {DType::Q6_K, kIntRtol},
};

double tolerance_for(DType w) {
  for (const Tolerance& t : kTolerances)
    if (t.weight == w) return t.rtol;
  return 0.0;
}

struct Shape {
  size_t m, n, k;
  bool strided;  // a, w and c rows further apart than a row
};

// Edge shapes for one product: M tails around kGemmMinRows, N tails, k of one
// and a few blocks, float k tails, and a large k on a few small tiles.
std::vector<Shape> shapes_for(DType w) {
  const size_t kb = loci::test::k_block(w);
  std::vector<size_t> ks = {kb, 3 * kb};
  if (kb == 1) ks = {1, 3, 8, 17, 64, 100};  // float types: any k, so vector-width tails
  const size_t large_k = kb == 256 ? 8192 : 4096;
  std::vector<Shape> out;
  bool strided = false;
  for (size_t m : {1, 2, 3, 4, 5, 6, 7, 8, 9, 17})
    for (size_t n : {1, 3, 5, 17, 33})
      for (size_t k : ks) out.push_back({m, n, k, strided = !strided});
  for (size_t m : {1, 5})
    for (size_t n : {3, 17}) out.push_back({m, n, large_k, strided = !strided});
  return out;
}

// Bytes added to a strided row: a multiple of 4 (keeps block alignment) that
// is not one of 64, so kernels cannot rely on aligned rows.
constexpr size_t kStrideSlack = 36;
constexpr uint8_t kSentinel = 0xA5;

// One shape's inputs in guarded buffers, with the reference result.
struct Problem {
  DType weight, act;
  Shape s;
  size_t a_stride, w_stride, c_stride;
  GuardedBuffer a, w;
  std::vector<float> want;  // m x n, dense
  std::vector<double> mag;  // m x n: the error scale

  Problem(DType weight_, const Shape& s_, std::mt19937_64& g)
      : weight(weight_),
        act(matmul_activation_dtype(weight_)),
        s(s_),
        a_stride(test::row_bytes(act, s_.k) + (s_.strided ? kStrideSlack : 0)),
        w_stride(test::row_bytes(weight_, s_.k) + (s_.strided ? kStrideSlack : 0)),
        c_stride((s_.n + (s_.strided ? 5 : 0)) * sizeof(float)),
        a(test::span_bytes(s_.m, test::row_bytes(act, s_.k), a_stride)),
        w(test::span_bytes(s_.n, test::row_bytes(weight_, s_.k), w_stride)) {
    if (!a.ok() || !w.ok()) return;
    test::fill_random_activations(act, s.m, s.k, a.data(), a_stride, g);
    test::fill_random_weights(weight, s.n, s.k, w.data(), w_stride, g);
    const auto af = test::dequantized_rows(act, a.data(), s.m, s.k, a_stride);
    const auto wf = test::dequantized_rows(weight, w.data(), s.n, s.k, w_stride);
    const auto wo = test::offset_rows(weight, w.data(), s.n, s.k, w_stride);
    mag.resize(s.m * s.n);
    for (size_t i = 0; i < s.m; ++i)
      for (size_t j = 0; j < s.n; ++j) mag[i * s.n + j] = test::error_scale(wf[j], wo[j], af[i]);
    want = run(reference_ukernel(weight)->gemm);
  }

  // Calls fn on the whole problem; returns the m x n outputs, dense. Reports
  // (via the out flag) whether any byte outside the tile was written.
  std::vector<float> run(loci_gemm_ukernel_fn fn, bool* wrote_outside = nullptr) const {
    const size_t tail = 64;  // sentinel bytes after the last row
    std::vector<uint8_t> c(s.m * c_stride + tail, kSentinel);
    fn(s.m, s.n, s.k, a.data(), a_stride, w.data(), w_stride, reinterpret_cast<float*>(c.data()), c_stride);
    std::vector<float> out(s.m * s.n);
    bool outside = false;
    for (size_t i = 0; i < s.m; ++i) {
      std::memcpy(&out[i * s.n], c.data() + i * c_stride, s.n * sizeof(float));
      for (size_t b = i * c_stride + s.n * sizeof(float); b < (i + 1) * c_stride; ++b) outside |= c[b] != kSentinel;
    }
    for (size_t b = s.m * c_stride; b < c.size(); ++b) outside |= c[b] != kSentinel;
    if (wrote_outside) *wrote_outside = outside;
    return out;
  }
};

std::string shape_text(const Shape& s) {
  return "m=" + std::to_string(s.m) + " n=" + std::to_string(s.n) + " k=" + std::to_string(s.k) +
         (s.strided ? " strided" : " contiguous");
}

struct KernelFn {
  loci_gemm_ukernel_fn fn;
  const char* name;
};

// The candidates the host can run; the rest are counted as skipped.
std::vector<const UkernelCandidate*> runnable_candidates(std::map<std::string, int>* tested,
                                                         std::map<std::string, int>* skipped) {
  size_t count = 0;
  const UkernelCandidate* all = all_ukernel_candidates(&count);
  std::vector<const UkernelCandidate*> out;
  for (size_t i = 0; i < count; ++i) {
    if (isa_supported(all[i].isa)) {
      out.push_back(&all[i]);
      if (tested) ++(*tested)[isa_name(all[i].isa)];
    } else if (skipped) {
      ++(*skipped)[isa_name(all[i].isa)];
    }
  }
  return out;
}

std::string count_text(const std::map<std::string, int>& counts) {
  std::string s;
  for (const auto& [isa, n] : counts) s += (s.empty() ? "" : ", ") + std::to_string(n) + " " + isa;
  return s.empty() ? "none" : s;
}

}  // namespace

TEST_CASE("every runnable kernel matches its reference on edge shapes", "[kernels][parity]") {
  std::map<std::string, int> tested, skipped;
  const std::vector<const UkernelCandidate*> candidates = runnable_candidates(&tested, &skipped);
  std::fprintf(stderr, "parity: host %s, tested %s candidates; skipped (host lacks the ISA): %s\n",
               isa_name(host_isa()), count_text(tested).c_str(), count_text(skipped).c_str());

  std::mt19937_64 g = test::rng(0x9a41);
  for (DType weight : test::kMatmulWeights) {
    REQUIRE(reference_ukernel(weight) != nullptr);
    const double rtol = tolerance_for(weight);
    double worst = 0.0;  // largest error seen, as a fraction of the tolerance scale
    for (const Shape& shape : shapes_for(weight)) {
      const Problem p(weight, shape, g);
      REQUIRE(p.a.ok());
      REQUIRE(p.w.ok());
      for (const UkernelCandidate* c : candidates) {
        if (c->weight != weight) continue;
        for (const KernelFn& k : {KernelFn{c->gemv, c->gemv_name}, KernelFn{c->gemm, c->gemm_name}}) {
          INFO(k.name << " " << dtype_name(weight) << " " << shape_text(shape));
          bool outside = true;
          const std::vector<float> got = p.run(k.fn, &outside);
          CHECK_FALSE(outside);
          size_t bad = 0, first_bad = 0;
          for (size_t o = 0; o < got.size(); ++o) {
            const double err = std::fabs(double(got[o]) - double(p.want[o]));
            if (p.mag[o] > 0) worst = std::max(worst, err / p.mag[o]);
            if (!(err <= rtol * p.mag[o]) && bad++ == 0) first_bad = o;
          }
          INFO("output " << first_bad / shape.n << "," << first_bad % shape.n << ": got " << got[first_bad]
                         << ", reference " << p.want[first_bad] << ", scale " << p.mag[first_bad]);
          CHECK(bad == 0);
        }
      }
    }
    std::fprintf(stderr, "parity: %-5s worst error %.2e of the error scale (tolerance %.0e)\n", dtype_name(weight),
                 worst, rtol);
  }
}

TEST_CASE("kernel outputs do not depend on where the tile starts", "[kernels][parity]") {
  // c[i][j] may depend only on a row i and w row j, so threading cannot change
  // results: a sub-tile and a single output must reproduce the full call bit
  // for bit.
  const std::vector<const UkernelCandidate*> candidates = runnable_candidates(nullptr, nullptr);
  std::mt19937_64 g = test::rng(0x711e);
  for (DType weight : test::kMatmulWeights) {
    const size_t kb = test::k_block(weight);
    const Shape shape{9, 37, kb == 1 ? 67 : 2 * kb, true};
    const Problem p(weight, shape, g);
    REQUIRE(p.a.ok());
    REQUIRE(p.w.ok());
    for (const UkernelCandidate* c : candidates) {
      if (c->weight != weight) continue;
      for (const KernelFn& k : {KernelFn{c->gemv, c->gemv_name}, KernelFn{c->gemm, c->gemm_name}}) {
        INFO(k.name);
        const std::vector<float> full = p.run(k.fn);
        struct Tile {
          size_t i0, j0, m, n;
        };
        for (const Tile& t : {Tile{2, 5, 7, 32}, Tile{4, 1, 5, 36}, Tile{8, 36, 1, 1}, Tile{1, 3, 3, 17}}) {
          std::vector<float> sub(t.m * t.n);
          k.fn(t.m, t.n, shape.k, p.a.data() + t.i0 * p.a_stride, p.a_stride, p.w.data() + t.j0 * p.w_stride,
               p.w_stride, sub.data(), t.n * sizeof(float));
          size_t mismatches = 0;
          for (size_t i = 0; i < t.m; ++i)
            for (size_t j = 0; j < t.n; ++j)
              mismatches += std::memcmp(&sub[i * t.n + j], &full[(t.i0 + i) * shape.n + t.j0 + j], sizeof(float)) != 0;
          INFO("tile at " << t.i0 << "," << t.j0 << " of " << t.m << "x" << t.n);
          CHECK(mismatches == 0);
        }
      }
    }
  }
}

TEST_CASE("every product has a reference candidate and every candidate has both kernels", "[kernels][parity]") {
  size_t count = 0;
  const UkernelCandidate* all = all_ukernel_candidates(&count);
  for (DType weight : test::kMatmulWeights) {
    const UkernelCandidate* ref = reference_ukernel(weight);
    INFO(dtype_name(weight));
    REQUIRE(ref != nullptr);
    CHECK(ref->isa == Isa::kRef);
  }
  for (size_t i = 0; i < count; ++i) {
    INFO(all[i].gemm_name);
    CHECK(all[i].gemv != nullptr);
    CHECK(all[i].gemm != nullptr);
  }
}
