// Throughput loop of vfmadd231ps zmm for the f32 peak (see ceilings.h). Built
// with the AVX-512 flags only; called only on hosts that have them.
#include <cstdint>

// 16 independent accumulators (zmm0-15) cover the FMA latency at two per
// cycle; all inputs are zero, so no denormal or overflow slows it.
uint64_t loci_bench_vfmadd_zmm_loop__avx512(uint64_t iters) {
  if (iters == 0) return 0;
  uint64_t n = iters;
  __asm__ volatile(
      "vpxord %%zmm16, %%zmm16, %%zmm16\n\t"
      "vpxord %%zmm17, %%zmm17, %%zmm17\n\t"
      "vpxord %%zmm0, %%zmm0, %%zmm0\n\t"
      "vpxord %%zmm1, %%zmm1, %%zmm1\n\t"
      "vpxord %%zmm2, %%zmm2, %%zmm2\n\t"
      "vpxord %%zmm3, %%zmm3, %%zmm3\n\t"
      "vpxord %%zmm4, %%zmm4, %%zmm4\n\t"
      "vpxord %%zmm5, %%zmm5, %%zmm5\n\t"
      "vpxord %%zmm6, %%zmm6, %%zmm6\n\t"
      "vpxord %%zmm7, %%zmm7, %%zmm7\n\t"
      "vpxord %%zmm8, %%zmm8, %%zmm8\n\t"
      "vpxord %%zmm9, %%zmm9, %%zmm9\n\t"
      "vpxord %%zmm10, %%zmm10, %%zmm10\n\t"
      "vpxord %%zmm11, %%zmm11, %%zmm11\n\t"
      "vpxord %%zmm12, %%zmm12, %%zmm12\n\t"
      "vpxord %%zmm13, %%zmm13, %%zmm13\n\t"
      "vpxord %%zmm14, %%zmm14, %%zmm14\n\t"
      "vpxord %%zmm15, %%zmm15, %%zmm15\n\t"
      "1:\n\t"
      "vfmadd231ps %%zmm17, %%zmm16, %%zmm0\n\t"
      "vfmadd231ps %%zmm17, %%zmm16, %%zmm1\n\t"
      "vfmadd231ps %%zmm17, %%zmm16, %%zmm2\n\t"
      "vfmadd231ps %%zmm17, %%zmm16, %%zmm3\n\t"
      "vfmadd231ps %%zmm17, %%zmm16, %%zmm4\n\t"
      "vfmadd231ps %%zmm17, %%zmm16, %%zmm5\n\t"
      "vfmadd231ps %%zmm17, %%zmm16, %%zmm6\n\t"
      "vfmadd231ps %%zmm17, %%zmm16, %%zmm7\n\t"
      "vfmadd231ps %%zmm17, %%zmm16, %%zmm8\n\t"
      "vfmadd231ps %%zmm17, %%zmm16, %%zmm9\n\t"
      "vfmadd231ps %%zmm17, %%zmm16, %%zmm10\n\t"
      "vfmadd231ps %%zmm17, %%zmm16, %%zmm11\n\t"
      "vfmadd231ps %%zmm17, %%zmm16, %%zmm12\n\t"
      "vfmadd231ps %%zmm17, %%zmm16, %%zmm13\n\t"
      "vfmadd231ps %%zmm17, %%zmm16, %%zmm14\n\t"
      "vfmadd231ps %%zmm17, %%zmm16, %%zmm15\n\t"
      "vfmadd231ps %%zmm17, %%zmm16, %%zmm0\n\t"
      "vfmadd231ps %%zmm17, %%zmm16, %%zmm1\n\t"
      "vfmadd231ps %%zmm17, %%zmm16, %%zmm2\n\t"
      "vfmadd231ps %%zmm17, %%zmm16, %%zmm3\n\t"
      "vfmadd231ps %%zmm17, %%zmm16, %%zmm4\n\t"
      "vfmadd231ps %%zmm17, %%zmm16, %%zmm5\n\t"
      "vfmadd231ps %%zmm17, %%zmm16, %%zmm6\n\t"
      "vfmadd231ps %%zmm17, %%zmm16, %%zmm7\n\t"
      "vfmadd231ps %%zmm17, %%zmm16, %%zmm8\n\t"
      "vfmadd231ps %%zmm17, %%zmm16, %%zmm9\n\t"
      "vfmadd231ps %%zmm17, %%zmm16, %%zmm10\n\t"
      "vfmadd231ps %%zmm17, %%zmm16, %%zmm11\n\t"
      "vfmadd231ps %%zmm17, %%zmm16, %%zmm12\n\t"
      "vfmadd231ps %%zmm17, %%zmm16, %%zmm13\n\t"
      "vfmadd231ps %%zmm17, %%zmm16, %%zmm14\n\t"
      "vfmadd231ps %%zmm17, %%zmm16, %%zmm15\n\t"
      "dec %[n]\n\t"
      "jnz 1b\n\t"
      "vzeroupper\n\t"
      : [n] "+r"(n)
      :
      : "cc", "xmm0", "xmm1", "xmm2", "xmm3", "xmm4", "xmm5", "xmm6", "xmm7", "xmm8", "xmm9", "xmm10", "xmm11", "xmm12", "xmm13", "xmm14", "xmm15", "xmm16", "xmm17");
  return iters * 32;
}
