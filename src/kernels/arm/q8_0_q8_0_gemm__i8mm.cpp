// Q8_0 x Q8_0 on SMMLA: two activation rows x two weight rows per
// instruction, eight bytes at a time. Per block the integer sums are exact and
// meet the scales in the same per-output float operations as the dotprod
// kernels and the ref kernel, so the results match them bit for bit.
#include "kernels/arm/arm_q8_0_i8mm.h"
#include "kernels/ukernel.h"

void loci_q8_0_q8_0_gemm__i8mm(size_t m, size_t n, size_t k, const void* a, size_t a_stride, const void* w,
                               size_t w_stride, float* c, size_t c_stride) {
  smmla_gemm<Q8_0Smmla<Q8_0Pair>>(m, n, k, a, a_stride, w, w_stride, c, c_stride);
}
