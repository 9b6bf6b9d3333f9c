// Q4_K x Q8_K products on AVX-512 VNNI: vpdpbusd 4-element sums, packed to
// int16 and scaled by vpdpwssd (gemv), or packed 64-row panels (gemm). The
// block math lives in q4_k_q8_k_avx512.h.
#include "kernels/ukernel.h"
#include "kernels/x86/q4_k_q8_k_avx512.h"

// gemv: up to 3 activation rows x 4 weight rows per tile, each weight block
// unpacked once per tile; gemm: a packed 64-row panel per super-block, met by
// every activation row (k_quant_gemm_avx512vnni.h). Every output gets the
// same integer sums and float steps either way.
void loci_q4_k_q8_k_gemv__avx512vnni(size_t m, size_t n, size_t k, const void* a, size_t a_stride, const void* w,
                                     size_t w_stride, float* c, size_t c_stride) {
  loci_x86_kq::gemv<Q4KCodec<Q4KVnniSums>>(m, n, k, a, a_stride, w, w_stride, c, c_stride);
}

void loci_q4_k_q8_k_gemm__avx512vnni(size_t m, size_t n, size_t k, const void* a, size_t a_stride, const void* w,
                                     size_t w_stride, float* c, size_t c_stride) {
  loci_x86_kq::gemm<Q4KPanel>(m, n, k, a, a_stride, w, w_stride, c, c_stride);
}
