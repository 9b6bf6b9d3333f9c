// Throughput loop of fmla for the f32 peak on Arm (see ceilings.h). NEON is the
// aarch64 baseline.
#include <cstdint>

#include "ceilings/peak_loop_asm.h"

// 16 independent accumulators (v0-15) cover the latency; sources v16/v17.
uint64_t loci_bench_fmla_loop__neon(uint64_t iters) {
  if (iters == 0) return 0;
  uint64_t n = iters;
  LOCI_PEAK_LOOP_ARM(n, "fmla", ".4s");
  return iters * 32;
}
