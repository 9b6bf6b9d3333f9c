// Throughput loop of vfmadd231ps ymm for the f32 peak on AVX2 hosts (see
// ceilings.h). Built with the AVX2 flags only.
#include <cstdint>

// 12 independent accumulators (ymm0-11) cover the FMA latency at two per
// cycle; sources ymm12/13 are zero, so no denormal or overflow slows it.
uint64_t loci_bench_vfmadd_ymm_loop__avx2(uint64_t iters) {
  if (iters == 0) return 0;
  uint64_t n = iters;
  __asm__ volatile(
      "vxorps %%ymm0, %%ymm0, %%ymm0\n\t"
      "vxorps %%ymm1, %%ymm1, %%ymm1\n\t"
      "vxorps %%ymm2, %%ymm2, %%ymm2\n\t"
      "vxorps %%ymm3, %%ymm3, %%ymm3\n\t"
      "vxorps %%ymm4, %%ymm4, %%ymm4\n\t"
      "vxorps %%ymm5, %%ymm5, %%ymm5\n\t"
      "vxorps %%ymm6, %%ymm6, %%ymm6\n\t"
      "vxorps %%ymm7, %%ymm7, %%ymm7\n\t"
      "vxorps %%ymm8, %%ymm8, %%ymm8\n\t"
      "vxorps %%ymm9, %%ymm9, %%ymm9\n\t"
      "vxorps %%ymm10, %%ymm10, %%ymm10\n\t"
      "vxorps %%ymm11, %%ymm11, %%ymm11\n\t"
      "vxorps %%ymm12, %%ymm12, %%ymm12\n\t"
      "vxorps %%ymm13, %%ymm13, %%ymm13\n\t"
      "1:\n\t"
      "vfmadd231ps %%ymm13, %%ymm12, %%ymm0\n\t"
      "vfmadd231ps %%ymm13, %%ymm12, %%ymm1\n\t"
      "vfmadd231ps %%ymm13, %%ymm12, %%ymm2\n\t"
      "vfmadd231ps %%ymm13, %%ymm12, %%ymm3\n\t"
      "vfmadd231ps %%ymm13, %%ymm12, %%ymm4\n\t"
      "vfmadd231ps %%ymm13, %%ymm12, %%ymm5\n\t"
      "vfmadd231ps %%ymm13, %%ymm12, %%ymm6\n\t"
      "vfmadd231ps %%ymm13, %%ymm12, %%ymm7\n\t"
      "vfmadd231ps %%ymm13, %%ymm12, %%ymm8\n\t"
      "vfmadd231ps %%ymm13, %%ymm12, %%ymm9\n\t"
      "vfmadd231ps %%ymm13, %%ymm12, %%ymm10\n\t"
      "vfmadd231ps %%ymm13, %%ymm12, %%ymm11\n\t"
      "vfmadd231ps %%ymm13, %%ymm12, %%ymm0\n\t"
      "vfmadd231ps %%ymm13, %%ymm12, %%ymm1\n\t"
      "vfmadd231ps %%ymm13, %%ymm12, %%ymm2\n\t"
      "vfmadd231ps %%ymm13, %%ymm12, %%ymm3\n\t"
      "vfmadd231ps %%ymm13, %%ymm12, %%ymm4\n\t"
      "vfmadd231ps %%ymm13, %%ymm12, %%ymm5\n\t"
      "vfmadd231ps %%ymm13, %%ymm12, %%ymm6\n\t"
      "vfmadd231ps %%ymm13, %%ymm12, %%ymm7\n\t"
      "vfmadd231ps %%ymm13, %%ymm12, %%ymm8\n\t"
      "vfmadd231ps %%ymm13, %%ymm12, %%ymm9\n\t"
      "vfmadd231ps %%ymm13, %%ymm12, %%ymm10\n\t"
      "vfmadd231ps %%ymm13, %%ymm12, %%ymm11\n\t"
      "dec %[n]\n\t"
      "jnz 1b\n\t"
      "vzeroupper\n\t"
      : [n] "+r"(n)
      :
      : "cc", "xmm0", "xmm1", "xmm2", "xmm3", "xmm4", "xmm5", "xmm6", "xmm7", "xmm8", "xmm9", "xmm10", "xmm11", "xmm12", "xmm13");
  return iters * 24;
}
