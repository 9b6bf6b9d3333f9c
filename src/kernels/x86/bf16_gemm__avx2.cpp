// BF16 x BF16 products on AVX2: both sides widened by a 16-bit shift, FMA in f32.
// Blocking: gemv runs up to 3 activation rows against 4 weight rows at a
// time, gemm 3 x 4; every output gets the same float operations either way.
#include "kernels/ukernel.h"
#include "kernels/x86/x86_gemm_tiles.h"

void loci_bf16_gemv__avx2(size_t m, size_t n, size_t k, const void* a, size_t a_stride, const void* w, size_t w_stride,
                          float* c, size_t c_stride) {
  float_gemm<Avx2Bf16, 3, 4>(m, n, k, a, a_stride, w, w_stride, c, c_stride);
}

void loci_bf16_gemm__avx2(size_t m, size_t n, size_t k, const void* a, size_t a_stride, const void* w, size_t w_stride,
                          float* c, size_t c_stride) {
  float_gemm<Avx2Bf16, 3, 4>(m, n, k, a, a_stride, w, w_stride, c, c_stride);
}
