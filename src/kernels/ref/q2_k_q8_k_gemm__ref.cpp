// Reference Q2_K x Q8_K product. Each 16-element group g has a 4-bit scale
// (low nibble of scales[g]) and a 4-bit min (high nibble); a weight is
// d * scale * q - dmin * min with a 2-bit q. Element e lives in byte
// 32 * (e / 128) + e % 32 at bit 2 * ((e % 128) / 32).
#include "kernels/ref/ref_gemm.h"
#include "kernels/ukernel.h"
#include "loci/fp16.h"

namespace {

using loci::BlockQ2_K;
using loci::BlockQ8_K;
using loci::kQK_K;
using loci::ref::DecodedSuperBlock;

void decode(const BlockQ2_K& w, DecodedSuperBlock* out) {
  for (size_t e = 0; e < kQK_K; ++e) {
    const size_t shift = 2 * ((e % 128) / 32);
    out->q[e] = int8_t((w.qs[32 * (e / 128) + e % 32] >> shift) & 3);
  }
  for (size_t g = 0; g < kQK_K / 16; ++g) {
    out->scale[g] = w.scales[g] & 0xF;
    out->min[g] = w.scales[g] >> 4;
  }
}

float dot_q2_k_q8_k(const BlockQ2_K* w, const BlockQ8_K* a, size_t k) {
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

void loci_q2_k_q8_k_gemm__ref(size_t m, size_t n, size_t k, const void* a, size_t a_stride, const void* w,
                              size_t w_stride, float* c, size_t c_stride) {
  loci::ref::gemm_rows<BlockQ2_K, BlockQ8_K>(m, n, k, a, a_stride, w, w_stride, c, c_stride, dot_q2_k_q8_k);
}
