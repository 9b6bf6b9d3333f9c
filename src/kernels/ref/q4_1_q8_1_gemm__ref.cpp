// Reference Q4_1 x Q8_1 product. A Q4_1 weight is d * q + m (q in 0..15, laid
// out as in Q4_0), so a block's dot is d * da * sum(q * qa) + m * da * sum(qa);
// the second factor is the activation's precomputed s field, as llama.cpp
// uses it.
#include "kernels/ref/ref_gemm.h"
#include "kernels/ukernel.h"

namespace {

void decode(const loci::BlockQ4_1& w, int8_t* q) { loci::ref::legacy_codes(w.qs, 0, 0, q); }

}  // namespace

void loci_q4_1_q8_1_gemm__ref(size_t m, size_t n, size_t k, const void* a, size_t a_stride, const void* w,
                              size_t w_stride, float* c, size_t c_stride) {
  loci::ref::legacy_gemm<loci::BlockQ4_1, loci::BlockQ8_1, decode>(m, n, k, a, a_stride, w, w_stride, c, c_stride);
}
