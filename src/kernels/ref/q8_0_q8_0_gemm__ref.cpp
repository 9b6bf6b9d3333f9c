// Reference Q8_0 x Q8_0 product: per block, an exact integer dot product
// scaled by both block scales, accumulated in block order.
#include <cstring>

#include "kernels/ref/ref_gemm.h"
#include "kernels/ukernel.h"

namespace {

void decode(const loci::BlockQ8_0& w, int8_t* q) { std::memcpy(q, w.qs, loci::kQK); }

}  // namespace

void loci_q8_0_q8_0_gemm__ref(size_t m, size_t n, size_t k, const void* a, size_t a_stride, const void* w,
                              size_t w_stride, float* c, size_t c_stride) {
  loci::ref::legacy_gemm<loci::BlockQ8_0, loci::BlockQ8_0, decode>(m, n, k, a, a_stride, w, w_stride, c, c_stride);
}
