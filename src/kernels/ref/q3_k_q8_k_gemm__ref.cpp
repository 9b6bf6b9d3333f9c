// Reference Q3_K x Q8_K product. A weight is d * (scale - 32) * q, where q is
// a 2-bit code (laid out as in Q2_K) minus 4 unless its hmask bit (bit e / 32
// of hmask[e % 32]) is set, and the sixteen 6-bit scales are split into low
// nibbles (bytes 0..7) and high bit pairs (bytes 8..11).
#include "kernels/ref/ref_gemm.h"
#include "kernels/ukernel.h"
#include "quant/block_codes.h"

namespace {

using loci::BlockQ3_K;
using loci::kQK_K;
using loci::ref::DecodedSuperBlock;

void decode(const BlockQ3_K& w, DecodedSuperBlock* out) {
  for (size_t e = 0; e < kQK_K; ++e) {
    const int32_t low = loci::ref::k_two_bits(w.qs, e);
    const int32_t high = (w.hmask[e % 32] >> (e / 32)) & 1;
    out->q[e] = int8_t(low - 4 + 4 * high);  // arithmetic, not a branch: it vectorizes
  }
  for (size_t g = 0; g < kQK_K / 16; ++g) out->scale[g] = loci::q3_k_scale(w.scales, int(g));
}

}  // namespace

void loci_q3_k_q8_k_gemm__ref(size_t m, size_t n, size_t k, const void* a, size_t a_stride, const void* w,
                              size_t w_stride, float* c, size_t c_stride) {
  loci::ref::superblock_gemm<BlockQ3_K, decode>(m, n, k, a, a_stride, w, w_stride, c, c_stride);
}
