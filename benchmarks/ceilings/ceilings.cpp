#include "ceilings/ceilings.h"

#include <algorithm>
#include <chrono>
#include <cstring>

// Loops built with their ISA's flags only (the files named *__<isa>.cpp).
uint64_t loci_bench_read_stream(const void* data, size_t bytes);
#if defined(LOCI_ARCH_x86)
uint64_t loci_bench_read_stream__avx512(const void* data, size_t bytes);
uint64_t loci_bench_vpdpbusd_loop__avx512vnni(uint64_t iters);
uint64_t loci_bench_vfmadd_zmm_loop__avx512(uint64_t iters);
uint64_t loci_bench_vfmadd_ymm_loop__avx2(uint64_t iters);
#elif defined(LOCI_ARCH_arm)
uint64_t loci_bench_sdot_loop__dotprod(uint64_t iters);
uint64_t loci_bench_fmla_loop__neon(uint64_t iters);
#endif

namespace loci::bench {
namespace {

using ReadFn = uint64_t (*)(const void*, size_t);

struct ReadLoop {
  ReadFn fn;
  const char* name;
};

ReadLoop read_loop() {
#if defined(LOCI_ARCH_x86)
  if (isa_supported(Isa::kAvx512)) return {loci_bench_read_stream__avx512, "AVX-512 64-byte loads"};
#endif
  return {loci_bench_read_stream, "baseline (compiler-vectorised) loads"};
}

constexpr size_t kPage = 4096;

// Units of work per second of this thread's CPU time of `run(iters)` (which
// returns the units it did): iters grows until one run takes a quarter of
// `seconds`, then each of `reps` runs is sized to `seconds` and the best rate
// wins. CPU time, not wall time: on a shared machine the thread is switched
// out part of the time, which stops its cycles too.
template <typename Run>
double best_rate(Run run, double seconds, int reps) {
  uint64_t iters = 16;
  for (;;) {
    const double c0 = thread_cpu_seconds();
    run(iters);
    const double t = thread_cpu_seconds() - c0;
    if (t >= seconds / 4 || iters > (uint64_t(1) << 40)) {
      iters = uint64_t(double(iters) * seconds / std::max(t, 1e-9)) + 1;
      break;
    }
    iters *= 4;
  }
  double best = 0;
  for (int r = 0; r < std::max(reps, 1); ++r) {
    const double c0 = thread_cpu_seconds();
    const uint64_t units = run(iters);
    best = std::max(best, double(units) / std::max(thread_cpu_seconds() - c0, 1e-9));
  }
  return best;
}

}  // namespace

Result<ReadBandwidth> ReadBandwidth::create(size_t bytes) {
  ReadBandwidth r;
  r.bytes_ = bytes / kPage * kPage;
  if (r.bytes_ == 0) return invalid_argument("bench: bandwidth buffer under one page");
  r.buffer_ = allocate_aligned(r.bytes_);
  if (!r.buffer_) return out_of_memory("bench: cannot allocate " + std::to_string(r.bytes_) + " bytes for the bandwidth test");
  std::memset(r.buffer_.get(), 0x5a, r.bytes_);
  return r;
}

const char* ReadBandwidth::loads() const { return read_loop().name; }

double ReadBandwidth::pass(ThreadPool* pool, size_t parts) {
  parts = std::max<size_t>(parts, 1);
  // Parts are whole pages, so each starts 64-byte aligned as the loops need.
  const size_t pages = bytes_ / kPage;
  const ReadFn fn = read_loop().fn;
  uint64_t sums[64] = {};
  parts = std::min<size_t>({parts, pages, 64});
  const auto t0 = std::chrono::steady_clock::now();
  parallel_for(pool, parts, [&](size_t i) {
    const size_t p0 = pages * i / parts, p1 = pages * (i + 1) / parts;
    sums[i] = fn(buffer_.get() + p0 * kPage, (p1 - p0) * kPage);
  });
  const double t = seconds_since(t0);
  checksum_ = 0;
  for (size_t i = 0; i < parts; ++i) checksum_ ^= sums[i];
  return t;
}

double measure_read_bandwidth(ReadBandwidth& buf, ThreadPool* pool, size_t parts, int reps) {
  double best = 0;
  buf.pass(pool, parts);  // warm-up: wakes the threads, fills the TLB
  for (int r = 0; r < std::max(reps, 1); ++r) best = std::max(best, double(buf.bytes()) / buf.pass(pool, parts));
  return best;
}

// Register + register adds: newer cores (Intel Golden Cove and later) fold
// add-immediate chains at rename and run several per cycle, which would read
// as a 20+ GHz clock.
uint64_t run_add_chain(uint64_t iters) {
  if (iters == 0) return 0;
  uint64_t acc = 0, n = iters, one = 1;
#if defined(__x86_64__)
  __asm__ volatile(
      "1:\n\t"
      ".rept 64\n\t"
      "add %[one], %[acc]\n\t"
      ".endr\n\t"
      "dec %[n]\n\t"
      "jnz 1b\n\t"
      : [acc] "+r"(acc), [n] "+r"(n)
      : [one] "r"(one)
      : "cc");
#elif defined(__aarch64__)
  __asm__ volatile(
      "1:\n\t"
      ".rept 64\n\t"
      "add %x[acc], %x[acc], %x[one]\n\t"
      ".endr\n\t"
      "subs %x[n], %x[n], #1\n\t"
      "b.ne 1b\n\t"
      : [acc] "+r"(acc), [n] "+r"(n)
      : [one] "r"(one)
      : "cc");
#else
  // No assembly for this architecture: a volatile chain is the best guess.
  volatile uint64_t v = 0;
  for (uint64_t i = 0; i < iters * 64; ++i) v = v + one;
  acc = v;
#endif
  return acc;
}

double measure_clock_hz(double seconds, int reps) { return best_rate(run_add_chain, seconds, reps); }

#if defined(__x86_64__)
// imul r64 has a 3-cycle latency on every x86-64 core of the last 15 years.
uint64_t run_imul_chain(uint64_t iters) {
  if (iters == 0) return 0;
  uint64_t acc = 3, n = iters;
  __asm__ volatile(
      "1:\n\t"
      ".rept 64\n\t"
      "imul %[acc], %[acc]\n\t"
      ".endr\n\t"
      "dec %[n]\n\t"
      "jnz 1b\n\t"
      : [acc] "+r"(acc), [n] "+r"(n)
      :
      : "cc");
  return iters * 64 * 3;
}
#endif

std::optional<PeakLoop> int8_peak_loop() {
#if defined(LOCI_ARCH_x86)
  // 64 u8 x s8 multiply-adds into 16 int32 lanes.
  if (isa_supported(Isa::kAvx512Vnni)) return PeakLoop{"vpdpbusd zmm", 128.0, loci_bench_vpdpbusd_loop__avx512vnni};
#elif defined(LOCI_ARCH_arm)
  // 16 s8 x s8 multiply-adds into 4 int32 lanes.
  if (isa_supported(Isa::kDotprod)) return PeakLoop{"sdot v.4s", 32.0, loci_bench_sdot_loop__dotprod};
#endif
  return std::nullopt;
}

std::optional<PeakLoop> f32_peak_loop() {
#if defined(LOCI_ARCH_x86)
  if (isa_supported(Isa::kAvx512)) return PeakLoop{"vfmadd231ps zmm", 32.0, loci_bench_vfmadd_zmm_loop__avx512};
  if (isa_supported(Isa::kAvx2)) return PeakLoop{"vfmadd231ps ymm", 16.0, loci_bench_vfmadd_ymm_loop__avx2};
#elif defined(LOCI_ARCH_arm)
  if (isa_supported(Isa::kNeon)) return PeakLoop{"fmla v.4s", 8.0, loci_bench_fmla_loop__neon};
#endif
  return std::nullopt;
}

ComputePeak measure_compute_peak(const PeakLoop& loop, double clock_hz, double seconds, int reps) {
  ComputePeak p;
  p.instruction = loop.instruction;
  p.ops_per_instruction = loop.ops_per_instruction;
  p.clock_hz = clock_hz;
  const double per_second = best_rate(loop.run, seconds, reps);
  p.instructions_per_cycle = clock_hz > 0 ? per_second / clock_hz : 0;
  return p;
}

}  // namespace loci::bench
