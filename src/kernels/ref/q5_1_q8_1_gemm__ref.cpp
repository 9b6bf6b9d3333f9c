// Reference Q5_1 x Q8_1 product. A Q5_1 weight is d * q + m with the 5-bit q
// laid out as in Q5_0; the min term uses the activation's s field (see Q4_1).
#include "kernels/ref/ref_gemm.h"
#include "kernels/ukernel.h"
#include "loci/fp16.h"

namespace {

using loci::BlockQ5_1;
using loci::BlockQ8_1;
using loci::fp16_to_f32;
using loci::kQK;

// The 5-bit code of element e (0..31): nibble as in Q4_1, fifth bit from qh.
int32_t q5_code(const BlockQ5_1& blk, size_t e) {
  const uint32_t nibble = e < kQK / 2 ? blk.qs[e] & 0xF : blk.qs[e - kQK / 2] >> 4;
  const uint32_t high = (blk.qh[e / 8] >> (e % 8)) & 1;
  return int32_t(nibble | (high << 4));
}

float dot_q5_1_q8_1(const BlockQ5_1* w, const BlockQ8_1* a, size_t k) {
  float sum = 0.0f;
  for (size_t b = 0; b < k / kQK; ++b) {
    int32_t isum = 0;
    for (size_t e = 0; e < kQK; ++e) isum += q5_code(w[b], e) * a[b].qs[e];
    sum += float(isum) * (fp16_to_f32(w[b].d) * fp16_to_f32(a[b].d)) + fp16_to_f32(w[b].m) * fp16_to_f32(a[b].s);
  }
  return sum;
}

}  // namespace

void loci_q5_1_q8_1_gemm__ref(size_t m, size_t n, size_t k, const void* a, size_t a_stride, const void* w,
                              size_t w_stride, float* c, size_t c_stride) {
  loci::ref::gemm_rows<BlockQ5_1, BlockQ8_1>(m, n, k, a, a_stride, w, w_stride, c, c_stride, dot_q5_1_q8_1);
}
