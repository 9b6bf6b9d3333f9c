// Throughput loop of vfmadd231ps zmm for the f32 peak (see ceilings.h). Built
// with the AVX-512 flags only; called only on hosts that have them.
#include <cstdint>

#include "ceilings/peak_loop_asm.h"

// 16 independent accumulators (zmm0-15) cover the FMA latency at two per
// cycle; all inputs are zero, so no denormal or overflow slows it.
uint64_t loci_bench_vfmadd_zmm_loop__avx512(uint64_t iters) {
  if (iters == 0) return 0;
  uint64_t n = iters;
  LOCI_PEAK_LOOP_X86(n, LOCI_PEAK_ACC16, "zmm", "vpxord", "vfmadd231ps", 16, 17);
  return iters * 32;
}
