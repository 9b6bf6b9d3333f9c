// Reference Q5_K x Q8_K product: Q4_K's layout plus a fifth bit per element,
// bit s (the sub-block) of qh[e % 32].
#include "kernels/ref/ref_gemm.h"
#include "kernels/ukernel.h"

namespace {

using loci::BlockQ5_K;
using loci::kQK_K;
using loci::ref::DecodedSuperBlock;

void decode(const BlockQ5_K& w, DecodedSuperBlock* out) {
  for (size_t e = 0; e < kQK_K; ++e) {
    const int32_t high = (w.qh[e % 32] >> (e / 32)) & 1;
    out->q[e] = int8_t(loci::ref::k_nibble(w.qs, e) | (high << 4));
  }
  loci::ref::decode_k_scale_min(w.scales, out);
}

}  // namespace

void loci_q5_k_q8_k_gemm__ref(size_t m, size_t n, size_t k, const void* a, size_t a_stride, const void* w,
                              size_t w_stride, float* c, size_t c_stride) {
  loci::ref::superblock_gemm<BlockQ5_K, decode>(m, n, k, a, a_stride, w, w_stride, c, c_stride);
}
