// Reference Q4_0 x Q8_0 product. A Q4_0 weight is d * (q - 8) with q a 4-bit
// code: element j in the low nibble of qs[j], element j + 16 in the high one.
#include "kernels/ref/ref_gemm.h"
#include "kernels/ukernel.h"
#include "loci/fp16.h"

namespace {

using loci::BlockQ4_0;
using loci::BlockQ8_0;
using loci::kQK;

float dot_q4_0_q8_0(const BlockQ4_0* w, const BlockQ8_0* a, size_t k) {
  float sum = 0.0f;
  for (size_t b = 0; b < k / kQK; ++b) {
    int32_t isum = 0;
    for (size_t j = 0; j < kQK / 2; ++j) {
      const int32_t lo = int32_t(w[b].qs[j] & 0xF) - 8;
      const int32_t hi = int32_t(w[b].qs[j] >> 4) - 8;
      isum += lo * a[b].qs[j] + hi * a[b].qs[j + kQK / 2];
    }
    sum += float(isum) * (loci::fp16_to_f32(w[b].d) * loci::fp16_to_f32(a[b].d));
  }
  return sum;
}

}  // namespace

void loci_q4_0_q8_0_gemm__ref(size_t m, size_t n, size_t k, const void* a, size_t a_stride, const void* w,
                              size_t w_stride, float* c, size_t c_stride) {
  loci::ref::gemm_rows<BlockQ4_0, BlockQ8_0>(m, n, k, a, a_stride, w, w_stride, c, c_stride, dot_q4_0_q8_0);
}
