// Reference Q5_1 x Q8_1 product. A Q5_1 weight is d * q + m with the 5-bit q
// laid out as in Q5_0; the min term uses the activation's s field (see Q4_1).
#include "kernels/ref/ref_gemm.h"
#include "kernels/ukernel.h"

namespace {

void decode(const loci::BlockQ5_1& w, int8_t* q) { loci::ref::legacy_codes(w.qs, loci::legacy_qh_word(w.qh), 0, q); }

}  // namespace

void loci_q5_1_q8_1_gemm__ref(size_t m, size_t n, size_t k, const void* a, size_t a_stride, const void* w,
                              size_t w_stride, float* c, size_t c_stride) {
  loci::ref::legacy_gemm<loci::BlockQ5_1, loci::BlockQ8_1, decode>(m, n, k, a, a_stride, w, w_stride, c, c_stride);
}
