// Reference Q4_1 x Q8_1 product. A Q4_1 weight is d * q + m (q in 0..15), so
// a block's dot is d * da * sum(q * qa) + m * da * sum(qa); the second factor
// is the activation's precomputed s field, as llama.cpp uses it.
#include "kernels/ref/ref_gemm.h"
#include "kernels/ukernel.h"
#include "loci/fp16.h"

namespace {

using loci::BlockQ4_1;
using loci::BlockQ8_1;
using loci::fp16_to_f32;
using loci::kQK;

float dot_q4_1_q8_1(const BlockQ4_1* w, const BlockQ8_1* a, size_t k) {
  float sum = 0.0f;
  for (size_t b = 0; b < k / kQK; ++b) {
    int32_t isum = 0;
    for (size_t j = 0; j < kQK / 2; ++j) {
      const int32_t lo = w[b].qs[j] & 0xF;
      const int32_t hi = w[b].qs[j] >> 4;
      isum += lo * a[b].qs[j] + hi * a[b].qs[j + kQK / 2];
    }
    sum += float(isum) * (fp16_to_f32(w[b].d) * fp16_to_f32(a[b].d)) + fp16_to_f32(w[b].m) * fp16_to_f32(a[b].s);
  }
  return sum;
}

}  // namespace

void loci_q4_1_q8_1_gemm__ref(size_t m, size_t n, size_t k, const void* a, size_t a_stride, const void* w,
                              size_t w_stride, float* c, size_t c_stride) {
  loci::ref::gemm_rows<BlockQ4_1, BlockQ8_1>(m, n, k, a, a_stride, w, w_stride, c, c_stride, dot_q4_1_q8_1);
}
