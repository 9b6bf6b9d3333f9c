// Throughput loop of sdot for the int8 peak on Arm (see ceilings.h). Built
// with the dotprod flags only; called only on hosts that have them.
#include <cstdint>

// 16 independent accumulators (v0-15) cover the latency; sources v16/v17.
uint64_t loci_bench_sdot_loop__dotprod(uint64_t iters) {
  if (iters == 0) return 0;
  uint64_t n = iters;
  __asm__ volatile(
      "movi v0.16b, #0\n\t"
      "movi v1.16b, #0\n\t"
      "movi v2.16b, #0\n\t"
      "movi v3.16b, #0\n\t"
      "movi v4.16b, #0\n\t"
      "movi v5.16b, #0\n\t"
      "movi v6.16b, #0\n\t"
      "movi v7.16b, #0\n\t"
      "movi v8.16b, #0\n\t"
      "movi v9.16b, #0\n\t"
      "movi v10.16b, #0\n\t"
      "movi v11.16b, #0\n\t"
      "movi v12.16b, #0\n\t"
      "movi v13.16b, #0\n\t"
      "movi v14.16b, #0\n\t"
      "movi v15.16b, #0\n\t"
      "movi v16.16b, #0\n\t"
      "movi v17.16b, #0\n\t"
      "1:\n\t"
      "sdot v0.4s, v16.16b, v17.16b\n\t"
      "sdot v1.4s, v16.16b, v17.16b\n\t"
      "sdot v2.4s, v16.16b, v17.16b\n\t"
      "sdot v3.4s, v16.16b, v17.16b\n\t"
      "sdot v4.4s, v16.16b, v17.16b\n\t"
      "sdot v5.4s, v16.16b, v17.16b\n\t"
      "sdot v6.4s, v16.16b, v17.16b\n\t"
      "sdot v7.4s, v16.16b, v17.16b\n\t"
      "sdot v8.4s, v16.16b, v17.16b\n\t"
      "sdot v9.4s, v16.16b, v17.16b\n\t"
      "sdot v10.4s, v16.16b, v17.16b\n\t"
      "sdot v11.4s, v16.16b, v17.16b\n\t"
      "sdot v12.4s, v16.16b, v17.16b\n\t"
      "sdot v13.4s, v16.16b, v17.16b\n\t"
      "sdot v14.4s, v16.16b, v17.16b\n\t"
      "sdot v15.4s, v16.16b, v17.16b\n\t"
      "sdot v0.4s, v16.16b, v17.16b\n\t"
      "sdot v1.4s, v16.16b, v17.16b\n\t"
      "sdot v2.4s, v16.16b, v17.16b\n\t"
      "sdot v3.4s, v16.16b, v17.16b\n\t"
      "sdot v4.4s, v16.16b, v17.16b\n\t"
      "sdot v5.4s, v16.16b, v17.16b\n\t"
      "sdot v6.4s, v16.16b, v17.16b\n\t"
      "sdot v7.4s, v16.16b, v17.16b\n\t"
      "sdot v8.4s, v16.16b, v17.16b\n\t"
      "sdot v9.4s, v16.16b, v17.16b\n\t"
      "sdot v10.4s, v16.16b, v17.16b\n\t"
      "sdot v11.4s, v16.16b, v17.16b\n\t"
      "sdot v12.4s, v16.16b, v17.16b\n\t"
      "sdot v13.4s, v16.16b, v17.16b\n\t"
      "sdot v14.4s, v16.16b, v17.16b\n\t"
      "sdot v15.4s, v16.16b, v17.16b\n\t"
      "subs %x[n], %x[n], #1\n\t"
      "b.ne 1b\n\t"
      : [n] "+r"(n)
      :
      : "cc", "v0", "v1", "v2", "v3", "v4", "v5", "v6", "v7", "v8", "v9", "v10", "v11", "v12", "v13", "v14", "v15", "v16", "v17");
  return iters * 32;
}
