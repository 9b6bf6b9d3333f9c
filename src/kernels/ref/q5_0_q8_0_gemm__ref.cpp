// Reference Q5_0 x Q8_0 product. A Q5_0 weight is d * (q - 16): the low four
// bits of q as in Q4_0, the fifth is bit j of the little-endian qh word.
#include "kernels/ref/ref_gemm.h"
#include "kernels/ukernel.h"

namespace {

void decode(const loci::BlockQ5_0& w, int8_t* q) { loci::ref::legacy_codes(w.qs, loci::legacy_qh_word(w.qh), 16, q); }

}  // namespace

void loci_q5_0_q8_0_gemm__ref(size_t m, size_t n, size_t k, const void* a, size_t a_stride, const void* w,
                              size_t w_stride, float* c, size_t c_stride) {
  loci::ref::legacy_gemm<loci::BlockQ5_0, loci::BlockQ8_0, decode>(m, n, k, a, a_stride, w, w_stride, c, c_stride);
}
