// Throughput loop of fmla for the f32 peak on Arm (see ceilings.h). NEON is the
// aarch64 baseline.
#include <cstdint>

// 16 independent accumulators (v0-15) cover the latency; sources v16/v17.
uint64_t loci_bench_fmla_loop__neon(uint64_t iters) {
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
      "fmla v0.4s, v16.4s, v17.4s\n\t"
      "fmla v1.4s, v16.4s, v17.4s\n\t"
      "fmla v2.4s, v16.4s, v17.4s\n\t"
      "fmla v3.4s, v16.4s, v17.4s\n\t"
      "fmla v4.4s, v16.4s, v17.4s\n\t"
      "fmla v5.4s, v16.4s, v17.4s\n\t"
      "fmla v6.4s, v16.4s, v17.4s\n\t"
      "fmla v7.4s, v16.4s, v17.4s\n\t"
      "fmla v8.4s, v16.4s, v17.4s\n\t"
      "fmla v9.4s, v16.4s, v17.4s\n\t"
      "fmla v10.4s, v16.4s, v17.4s\n\t"
      "fmla v11.4s, v16.4s, v17.4s\n\t"
      "fmla v12.4s, v16.4s, v17.4s\n\t"
      "fmla v13.4s, v16.4s, v17.4s\n\t"
      "fmla v14.4s, v16.4s, v17.4s\n\t"
      "fmla v15.4s, v16.4s, v17.4s\n\t"
      "fmla v0.4s, v16.4s, v17.4s\n\t"
      "fmla v1.4s, v16.4s, v17.4s\n\t"
      "fmla v2.4s, v16.4s, v17.4s\n\t"
      "fmla v3.4s, v16.4s, v17.4s\n\t"
      "fmla v4.4s, v16.4s, v17.4s\n\t"
      "fmla v5.4s, v16.4s, v17.4s\n\t"
      "fmla v6.4s, v16.4s, v17.4s\n\t"
      "fmla v7.4s, v16.4s, v17.4s\n\t"
      "fmla v8.4s, v16.4s, v17.4s\n\t"
      "fmla v9.4s, v16.4s, v17.4s\n\t"
      "fmla v10.4s, v16.4s, v17.4s\n\t"
      "fmla v11.4s, v16.4s, v17.4s\n\t"
      "fmla v12.4s, v16.4s, v17.4s\n\t"
      "fmla v13.4s, v16.4s, v17.4s\n\t"
      "fmla v14.4s, v16.4s, v17.4s\n\t"
      "fmla v15.4s, v16.4s, v17.4s\n\t"
      "subs %x[n], %x[n], #1\n\t"
      "b.ne 1b\n\t"
      : [n] "+r"(n)
      :
      : "cc", "v0", "v1", "v2", "v3", "v4", "v5", "v6", "v7", "v8", "v9", "v10", "v11", "v12", "v13", "v14", "v15", "v16", "v17");
  return iters * 32;
}
