// Reference Q4_0 x Q8_0 product. A Q4_0 weight is d * (q - 8) with q a 4-bit
// code: element j in the low nibble of qs[j], element j + 16 in the high one.
#include "kernels/ref/ref_gemm.h"
#include "kernels/ukernel.h"

namespace {

void decode(const loci::BlockQ4_0& w, int8_t* q) { loci::ref::legacy_codes(w.qs, 0, 8, q); }

}  // namespace

void loci_q4_0_q8_0_gemm__ref(size_t m, size_t n, size_t k, const void* a, size_t a_stride, const void* w,
                              size_t w_stride, float* c, size_t c_stride) {
  loci::ref::legacy_gemm<loci::BlockQ4_0, loci::BlockQ8_0, decode>(m, n, k, a, a_stride, w, w_stride, c, c_stride);
}
