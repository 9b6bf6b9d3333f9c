// Q8_0 x Q8_0 on avx512: a streaming gemv and a packed-panel gemm (the
// arithmetic is in q8_0_act__avx512.h, the weight side in q8_0_q8_0__avx512.h).
#include "kernels/ukernel.h"
#include "kernels/x86/q8_0_q8_0__avx512.h"

void loci_q8_0_q8_0_gemv__avx512(size_t m, size_t n, size_t k, const void* a, size_t a_stride, const void* w,
                             size_t w_stride, float* c, size_t c_stride) {
  loci_x86_q8act::q8_0_gemv(m, n, k, a, a_stride, w, w_stride, c, c_stride);
}

void loci_q8_0_q8_0_gemm__avx512(size_t m, size_t n, size_t k, const void* a, size_t a_stride, const void* w,
                             size_t w_stride, float* c, size_t c_stride) {
  loci_x86_q8act::q8_0_gemm(m, n, k, a, a_stride, w, w_stride, c, c_stride);
}
