// Reference Q5_K x Q8_K product: Q4_K's layout plus a fifth bit per element,
// bit s (the sub-block) of qh[e % 32].
#include "kernels/ref/ref_gemm.h"
#include "kernels/ukernel.h"
#include "loci/fp16.h"
#include "loci/quant.h"

namespace {

using loci::BlockQ5_K;
using loci::BlockQ8_K;
using loci::kQK_K;
using loci::ref::DecodedSuperBlock;

void decode(const BlockQ5_K& w, DecodedSuperBlock* out) {
  for (size_t e = 0; e < kQK_K; ++e) {
    const size_t sub = e / 32, l = e % 32;
    const int32_t low = (w.qs[32 * (sub / 2) + l] >> (4 * (sub % 2))) & 0xF;
    const int32_t high = (w.qh[l] >> sub) & 1;
    out->q[e] = int8_t(low | (high << 4));
  }
  for (size_t g = 0; g < kQK_K / 16; ++g) {
    uint8_t scale, min;
    loci::k_scale_min(w.scales, int(g / 2), &scale, &min);
    out->scale[g] = scale;
    out->min[g] = min;
  }
}

float dot_q5_k_q8_k(const BlockQ5_K* w, const BlockQ8_K* a, size_t k) {
  float sum = 0.0f;
  for (size_t b = 0; b < k / kQK_K; ++b) {
    DecodedSuperBlock wq;
    decode(w[b], &wq);
    const loci::ref::SuperBlockSums s = loci::ref::superblock_sums(wq, a[b]);
    sum += (loci::fp16_to_f32(w[b].d) * a[b].d) * float(s.scaled) -
           (loci::fp16_to_f32(w[b].dmin) * a[b].d) * float(s.mins);
  }
  return sum;
}

}  // namespace

void loci_q5_k_q8_k_gemm__ref(size_t m, size_t n, size_t k, const void* a, size_t a_stride, const void* w,
                              size_t w_stride, float* c, size_t c_stride) {
  loci::ref::gemm_rows<BlockQ5_K, BlockQ8_K>(m, n, k, a, a_stride, w, w_stride, c, c_stride, dot_q5_k_q8_k);
}
