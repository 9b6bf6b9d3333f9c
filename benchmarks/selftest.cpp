// Checks that the benchmark tools measure what they claim: the weights they
// make are valid, the peers compute the same product as loci, and the
// ceiling loops do the work they count. Timing goals are never asserted here.
#include <catch2/catch.hpp>

#include <cmath>
#include <cstring>
#include <vector>

#include "ceilings/ceilings.h"
#include "common/bench_support.h"
#include "loci/quant.h"
#include "peers/peers.h"
#include "support/test_support.h"

uint64_t loci_bench_read_stream(const void* data, size_t bytes);
#if defined(LOCI_ARCH_x86)
uint64_t loci_bench_read_stream__avx512(const void* data, size_t bytes);
#endif

namespace loci::bench {
namespace {

// What the read loops return: the xor of every whole 8-byte word of the
// whole 64-byte lines, then of each byte of the tail, one at a time.
uint64_t expected_read_checksum(const uint8_t* p, size_t bytes) {
  uint64_t r = 0;
  const size_t whole = bytes / 64 * 64;
  for (size_t i = 0; i < whole; i += 8) {
    uint64_t w;
    std::memcpy(&w, p + i, 8);
    r ^= w;
  }
  for (size_t i = whole; i < bytes; ++i) r ^= p[i];
  return r;
}

TEST_CASE("the bandwidth read loops read every byte") {
  std::mt19937_64 g = test::rng(1);
  const size_t n = 64 * 1000 + 37;
  AlignedBuffer buf = allocate_aligned(n);
  REQUIRE(buf);
  const std::vector<uint8_t> bytes = test::random_bytes(g, n);
  std::memcpy(buf.get(), bytes.data(), n);
  for (size_t len : {size_t(0), size_t(63), size_t(64), size_t(64 * 9 + 5), n}) {
    CAPTURE(len);
    const uint64_t want = expected_read_checksum(buf.get(), len);
    CHECK(loci_bench_read_stream(buf.get(), len) == want);
#if defined(LOCI_ARCH_x86)
    if (isa_supported(Isa::kAvx512)) CHECK(loci_bench_read_stream__avx512(buf.get(), len) == want);
#endif
  }
}

TEST_CASE("a bandwidth pass covers the buffer whatever the split") {
  std::mt19937_64 g = test::rng(5);
  Result<ReadBandwidth> b = ReadBandwidth::create(64 * 4096 + 100);
  REQUIRE(b);
  REQUIRE(b->bytes() == 64 * 4096);
  const std::vector<uint8_t> bytes = test::random_bytes(g, b->bytes());
  std::memcpy(b->data(), bytes.data(), bytes.size());
  const uint64_t want = expected_read_checksum(bytes.data(), bytes.size());
  Result<std::unique_ptr<ThreadPool>> pool = ThreadPool::create(2);
  REQUIRE(pool);
  for (size_t parts : {1, 2, 3, 64, 100}) {
    CAPTURE(parts);
    CHECK(b->pass(pool->get(), parts) >= 0.0);
    CHECK(b->checksum() == want);
  }
}

TEST_CASE("the clock estimate agrees with a chain of another latency") {
#if defined(__x86_64__)
  const double add_hz = measure_clock_hz(0.05, 5);
  uint64_t cycles = 0;
  double best = 0;
  for (int r = 0; r < 5; ++r) {
    const double c0 = thread_cpu_seconds();
    cycles = run_imul_chain(1 << 16);
    best = std::max(best, double(cycles) / (thread_cpu_seconds() - c0));
  }
  CAPTURE(add_hz, best);
  CHECK(add_hz > 0.2e9);
  CHECK(add_hz == Approx(best).epsilon(0.2));
#else
  CHECK(measure_clock_hz(0.05, 3) > 0.0);
#endif
  CHECK(run_add_chain(10) == 640);
}

TEST_CASE("the peak loops report the instructions they run") {
  for (const std::optional<PeakLoop>& loop : {int8_peak_loop(), f32_peak_loop()}) {
    if (!loop) continue;
    CAPTURE(loop->instruction);
    const uint64_t per_iter = loop->run(1);
    CHECK(per_iter >= 16);
    CHECK(loop->run(10) == 10 * per_iter);
    CHECK(loop->run(0) == 0);
  }
}

TEST_CASE("benchmark weights are valid and their copies identical") {
  std::mt19937_64 g = test::rng(2);
  constexpr size_t n = 6, k = 512;
  for (DType t : kWeightTypes) {
    CAPTURE(dtype_name(t));
    const size_t row_bytes = *dtype_row_bytes(t, k);
    Result<WeightPool> w = WeightPool::create(t, n, k, 5 * (n * row_bytes + 128), g());
    REQUIRE(w);
    CHECK(w->copies() == 5);
    CHECK(w->matrix_bytes() == n * row_bytes);
    std::vector<float> row(k);
    for (size_t r = 0; r < n; ++r) {
      REQUIRE(dequantize_row(t, w->view(0).row(int64_t(r)), row.data(), k).is_ok());
      for (float v : row) {
        REQUIRE(std::isfinite(v));
        // Float weights are drawn from [-1, 1]; quantized scales stay below 0.01.
        REQUIRE(std::fabs(v) <= (dtype_info(t)->quantized ? 100.0f : 1.0f));
      }
    }
    for (size_t c = 1; c < w->copies(); ++c) {
      CHECK(reinterpret_cast<uintptr_t>(w->view(c).data) % kKernelPadding == 0);
      CHECK(w->view(c).data != w->view(0).data);
      CHECK(std::memcmp(w->view(c).data, w->view(0).data, w->matrix_bytes()) == 0);
    }
    CHECK(w->next().data == w->view(0).data);
    CHECK(w->next().data == w->view(1).data);
  }
}

TEST_CASE("every product with a kernel runs on benchmark weights") {
  std::mt19937_64 g = test::rng(3);
  for (DType t : kWeightTypes) {
    CAPTURE(dtype_name(t));
    if (!matmul_kernel_info(t)) continue;
    Result<WeightPool> w = WeightPool::create(t, 70, 512, 0, g());
    REQUIRE(w);
    for (size_t m : {size_t(1), size_t(5)}) {
      Result<MatmulCall> call = MatmulCall::create(t, m, 70, 512, g());
      REQUIRE(call);
      REQUIRE(call->run(w->next(), nullptr).is_ok());
      for (size_t i = 0; i < m * 70; ++i) REQUIRE(std::isfinite(call->y()[i]));
    }
  }
}

// y = x * w^T in double, the yardstick for the f32 implementations.
std::vector<double> reference_product(const float* x, size_t m, const float* w, size_t n, size_t k) {
  std::vector<double> y(m * n, 0.0);
  for (size_t i = 0; i < m; ++i)
    for (size_t j = 0; j < n; ++j)
      for (size_t l = 0; l < k; ++l) y[i * n + j] += double(x[i * k + l]) * double(w[j * k + l]);
  return y;
}

void check_close(const float* got, const std::vector<double>& want) {
  for (size_t i = 0; i < want.size(); ++i) {
    CAPTURE(i);
    REQUIRE(double(got[i]) == Approx(want[i]).margin(1e-4).epsilon(1e-4));
  }
}

TEST_CASE("loci, Eigen and XNNPACK compute the same f32 product") {
  std::mt19937_64 g = test::rng(4);
  constexpr size_t n = 40, k = 96;
  Result<WeightPool> w = WeightPool::create(DType::F32, n, k, 0, g());
  REQUIRE(w);
  std::unique_ptr<XnnpackFc> xnn = XnnpackFc::create();
  if (xnn) REQUIRE(xnn->add_weights(w->f32_data(0), n, k));
  for (size_t m : {size_t(1), size_t(3), size_t(17)}) {
    CAPTURE(m);
    Result<MatmulCall> call = MatmulCall::create(DType::F32, m, n, k, g());
    REQUIRE(call);
    const std::vector<double> want = reference_product(call->x(), m, w->f32_data(0), n, k);
    REQUIRE(call->run(w->view(0), nullptr).is_ok());
    check_close(call->y(), want);
    if (eigen_available()) {
      std::fill(call->y(), call->y() + m * n, 0.0f);
      eigen_matmul_f32(call->x(), m, w->f32_data(0), n, k, call->y(), 2);
      check_close(call->y(), want);
    }
    if (xnn) {
      std::fill(call->y(), call->y() + m * n, 0.0f);
      REQUIRE(xnn->set_threads(2));
      REQUIRE(xnn->run(0, call->x(), m, call->y()));
      check_close(call->y(), want);
    }
  }
}

}  // namespace
}  // namespace loci::bench
