// Q4_K x Q8_K products on AVX-512 VNNI: vpdpbusd 4-element sums, packed to
// int16 and scaled by vpdpwssd. The block math lives in q4_k_q8_k_avx512.h.
#include "kernels/ukernel.h"
#include "kernels/x86/q4_k_q8_k_avx512.h"

// gemv: up to 3 activation rows x 2 weight rows per tile; gemm: 4 x 2. Every
// output gets the same operations either way.
void loci_q4_k_q8_k_gemv__avx512vnni(size_t m, size_t n, size_t k, const void* a, size_t a_stride, const void* w,
                                     size_t w_stride, float* c, size_t c_stride) {
  gemm_tiles<SuperBlockTile512<Q4KCodec<Q4KVnniSums>>, 3, 2>(m, n, k, a, a_stride, w, w_stride, c, c_stride);
}

void loci_q4_k_q8_k_gemm__avx512vnni(size_t m, size_t n, size_t k, const void* a, size_t a_stride, const void* w,
                                     size_t w_stride, float* c, size_t c_stride) {
  gemm_tiles<SuperBlockTile512<Q4KCodec<Q4KVnniSums>>, 4, 2>(m, n, k, a, a_stride, w, w_stride, c, c_stride);
}
