// Q4_0 x Q8_0 on baseline aarch64 Advanced SIMD (no SDOT): per block, the
// exact integer dot product of the 32 codes (q - 8) with the int8 activations
// (SMULL/SMLAL into int16 lanes, then SADDLP), scaled by both block scales and
// accumulated in block order. One float lane per weight row; each output takes
// the same float operations as the ref, dotprod and i8mm kernels (one fma per
// block), so results do not change with the tile, the batch size or the CPU level.
#include "kernels/arm/arm_dot.h"
#include "kernels/arm/arm_q8_0.h"
#include "kernels/ukernel.h"

void loci_q4_0_q8_0_gemv__neon(size_t m, size_t n, size_t k, const void* a, size_t a_stride, const void* w,
                               size_t w_stride, float* c, size_t c_stride) {
  lane_gemm<1, Q8_0Lanes<Q4_0Block, NarrowDot>>(m, n, k, a, a_stride, w, w_stride, c, c_stride);
}

// Four rows per tile: each weight block unpacked once serves four activation rows.
void loci_q4_0_q8_0_gemm__neon(size_t m, size_t n, size_t k, const void* a, size_t a_stride, const void* w,
                               size_t w_stride, float* c, size_t c_stride) {
  lane_gemm<4, Q8_0Lanes<Q4_0Block, NarrowDot>>(m, n, k, a, a_stride, w, w_stride, c, c_stride);
}
