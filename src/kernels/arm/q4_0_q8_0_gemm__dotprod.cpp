// Q4_0 x Q8_0 on SDOT: per block, the 4-bit codes become int8 (q - 8), their
// exact integer dot product with the activation is scaled by both block scales
// and accumulated in block order. One float lane per weight row; every output
// takes the same lane operations (and so matches the ref kernel's per-block
// fma), whatever the tile or its position.
#include "kernels/arm/arm_dotprod.h"
#include "kernels/arm/arm_q8_0.h"
#include "kernels/ukernel.h"

void loci_q4_0_q8_0_gemv__dotprod(size_t m, size_t n, size_t k, const void* a, size_t a_stride, const void* w,
                                  size_t w_stride, float* c, size_t c_stride) {
  lane_gemm<1, Q8_0Lanes<Q4_0Block, SdotDot>>(m, n, k, a, a_stride, w, w_stride, c, c_stride);
}

void loci_q4_0_q8_0_gemm__dotprod(size_t m, size_t n, size_t k, const void* a, size_t a_stride, const void* w,
                                  size_t w_stride, float* c, size_t c_stride) {
  lane_gemm<4, Q8_0Lanes<Q4_0Block, SdotDot>>(m, n, k, a, a_stride, w, w_stride, c, c_stride);
}
