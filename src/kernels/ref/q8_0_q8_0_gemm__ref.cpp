// Reference Q8_0 x Q8_0 product: per block, an exact integer dot product
// scaled by both block scales, accumulated in block order.
#include "kernels/ref/ref_gemm.h"
#include "kernels/ukernel.h"
#include "loci/fp16.h"

namespace {

using loci::BlockQ8_0;

float dot_q8_0_q8_0(const BlockQ8_0* w, const BlockQ8_0* a, size_t k) {
  float sum = 0.0f;
  for (size_t b = 0; b < k / loci::kQK; ++b) {
    int32_t isum = 0;
    for (size_t j = 0; j < loci::kQK; ++j) isum += int32_t(w[b].qs[j]) * int32_t(a[b].qs[j]);
    sum += float(isum) * (loci::fp16_to_f32(w[b].d) * loci::fp16_to_f32(a[b].d));
  }
  return sum;
}

}  // namespace

void loci_q8_0_q8_0_gemm__ref(size_t m, size_t n, size_t k, const void* a, size_t a_stride, const void* w,
                              size_t w_stride, float* c, size_t c_stride) {
  loci::ref::gemm_rows<BlockQ8_0, BlockQ8_0>(m, n, k, a, a_stride, w, w_stride, c, c_stride, dot_q8_0_q8_0);
}
