// Reference Q5_0 x Q8_0 product. A Q5_0 weight is d * (q - 16): the low four
// bits of q as in Q4_0, the fifth is bit j of the little-endian qh word.
#include "kernels/ref/ref_gemm.h"
#include "kernels/ukernel.h"
#include "loci/fp16.h"

namespace {

using loci::BlockQ5_0;
using loci::BlockQ8_0;
using loci::kQK;

// The 5-bit code of element e (0..31): nibble as in Q4_0, fifth bit from qh.
int32_t q5_code(const BlockQ5_0& blk, size_t e) {
  const uint32_t nibble = e < kQK / 2 ? blk.qs[e] & 0xF : blk.qs[e - kQK / 2] >> 4;
  const uint32_t high = (blk.qh[e / 8] >> (e % 8)) & 1;
  return int32_t(nibble | (high << 4));
}

float dot_q5_0_q8_0(const BlockQ5_0* w, const BlockQ8_0* a, size_t k) {
  float sum = 0.0f;
  for (size_t b = 0; b < k / kQK; ++b) {
    int32_t isum = 0;
    for (size_t e = 0; e < kQK; ++e) isum += (q5_code(w[b], e) - 16) * a[b].qs[e];
    sum += float(isum) * (loci::fp16_to_f32(w[b].d) * loci::fp16_to_f32(a[b].d));
  }
  return sum;
}

}  // namespace

void loci_q5_0_q8_0_gemm__ref(size_t m, size_t n, size_t k, const void* a, size_t a_stride, const void* w,
                              size_t w_stride, float* c, size_t c_stride) {
  loci::ref::gemm_rows<BlockQ5_0, BlockQ8_0>(m, n, k, a, a_stride, w, w_stride, c, c_stride, dot_q5_0_q8_0);
}
