// Reference Q3_K x Q8_K product. A weight is d * (scale - 32) * q, where q is
// a 2-bit code (laid out as in Q2_K) minus 4 unless its hmask bit is set, and
// the sixteen 6-bit scales are split into low nibbles (bytes 0..7) and
// high bit pairs (bytes 8..11).
#include "kernels/ref/ref_gemm.h"
#include "kernels/ukernel.h"
#include "loci/fp16.h"

namespace {

using loci::BlockQ3_K;
using loci::BlockQ8_K;
using loci::kQK_K;
using loci::ref::DecodedSuperBlock;

// Scale g (0..15): low 4 bits from a nibble of bytes 0..7, high 2 bits from
// bytes 8..11, which hold four groups' pairs each.
int32_t q3_k_scale(const uint8_t* scales, size_t g) {
  const uint32_t low = g < 8 ? scales[g] & 0xF : scales[g - 8] >> 4;
  const uint32_t high = (scales[8 + g % 4] >> (2 * (g / 4))) & 3;
  return int32_t(low | (high << 4)) - 32;
}

void decode(const BlockQ3_K& w, DecodedSuperBlock* out) {
  for (size_t e = 0; e < kQK_K; ++e) {
    const size_t half = e / 128, quarter = (e % 128) / 32, l = e % 32;
    const int32_t low = (w.qs[32 * half + l] >> (2 * quarter)) & 3;
    const bool high = (w.hmask[l] >> (4 * half + quarter)) & 1;
    out->q[e] = int8_t(high ? low : low - 4);
  }
  for (size_t g = 0; g < kQK_K / 16; ++g) {
    out->scale[g] = q3_k_scale(w.scales, g);
    out->min[g] = 0;
  }
}

float dot_q3_k_q8_k(const BlockQ3_K* w, const BlockQ8_K* a, size_t k) {
  float sum = 0.0f;
  for (size_t b = 0; b < k / kQK_K; ++b) {
    DecodedSuperBlock wq;
    decode(w[b], &wq);
    const loci::ref::SuperBlockSums s = loci::ref::superblock_sums(wq, a[b]);
    sum += (loci::fp16_to_f32(w[b].d) * a[b].d) * float(s.scaled);
  }
  return sum;
}

}  // namespace

void loci_q3_k_q8_k_gemm__ref(size_t m, size_t n, size_t k, const void* a, size_t a_stride, const void* w,
                              size_t w_stride, float* c, size_t c_stride) {
  loci::ref::gemm_rows<BlockQ3_K, BlockQ8_K>(m, n, k, a, a_stride, w, w_stride, c, c_stride, dot_q3_k_q8_k);
}
