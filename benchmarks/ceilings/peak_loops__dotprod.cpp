// Throughput loop of sdot for the int8 peak on Arm (see ceilings.h). Built
// with the dotprod flags only; called only on hosts that have them.
#include <cstdint>

#include "ceilings/peak_loop_asm.h"

// 16 independent accumulators (v0-15) cover the latency; sources v16/v17.
uint64_t loci_bench_sdot_loop__dotprod(uint64_t iters) {
  if (iters == 0) return 0;
  uint64_t n = iters;
  LOCI_PEAK_LOOP_ARM(n, "sdot", ".16b");
  return iters * 32;
}
