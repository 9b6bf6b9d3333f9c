// Reference Q6_K x Q8_K product. A weight is d * scales[e / 16] * (q - 32)
// with a 6-bit q: four low bits from ql, two high bits from qh. Within each
// 128-element half, quarter t of element l takes nibble t / 2 of
// ql[l + 32 * (t % 2)] and bits 2t..2t+1 of qh[l].
#include "kernels/ref/ref_gemm.h"
#include "kernels/ukernel.h"

namespace {

using loci::BlockQ6_K;
using loci::kQK_K;
using loci::ref::DecodedSuperBlock;

void decode(const BlockQ6_K& w, DecodedSuperBlock* out) {
  for (size_t e = 0; e < kQK_K; ++e) {
    const size_t half = e / 128, quarter = (e % 128) / 32, l = e % 32;
    const int32_t low = (w.ql[64 * half + 32 * (quarter % 2) + l] >> (4 * (quarter / 2))) & 0xF;
    const int32_t high = (w.qh[32 * half + l] >> (2 * quarter)) & 3;
    out->q[e] = int8_t((low | (high << 4)) - 32);
  }
  for (size_t g = 0; g < kQK_K / 16; ++g) out->scale[g] = w.scales[g];
}

}  // namespace

void loci_q6_k_q8_k_gemm__ref(size_t m, size_t n, size_t k, const void* a, size_t a_stride, const void* w,
                              size_t w_stride, float* c, size_t c_stride) {
  loci::ref::superblock_gemm<BlockQ6_K, decode>(m, n, k, a, a_stride, w, w_stride, c, c_stride);
}
