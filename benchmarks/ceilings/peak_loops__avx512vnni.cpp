// Throughput loop of vpdpbusd zmm for the int8 peak (see ceilings.h). Built
// with the AVX-512 VNNI flags only; called only on hosts that have them.
#include <cstdint>

#include "ceilings/peak_loop_asm.h"

// 16 independent accumulators (zmm0-15) cover vpdpbusd's latency at two per
// cycle; sources zmm16/17 never change. Values do not affect the timing.
uint64_t loci_bench_vpdpbusd_loop__avx512vnni(uint64_t iters) {
  if (iters == 0) return 0;
  uint64_t n = iters;
  LOCI_PEAK_LOOP_X86(n, LOCI_PEAK_ACC16, "zmm", "vpxord", "vpdpbusd", 16, 17);
  return iters * 32;
}
