// Throughput loop of vfmadd231ps ymm for the f32 peak on AVX2 hosts (see
// ceilings.h). Built with the AVX2 flags only.
#include <cstdint>

#include "ceilings/peak_loop_asm.h"

// 12 independent accumulators (ymm0-11) cover the FMA latency at two per
// cycle; sources ymm12/13 are zero, so no denormal or overflow slows it.
uint64_t loci_bench_vfmadd_ymm_loop__avx2(uint64_t iters) {
  if (iters == 0) return 0;
  uint64_t n = iters;
  LOCI_PEAK_LOOP_X86(n, LOCI_PEAK_ACC12, "ymm", "vxorps", "vfmadd231ps", 12, 13);
  return iters * 24;
}
