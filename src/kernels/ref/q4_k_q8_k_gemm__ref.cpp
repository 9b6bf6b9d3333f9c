// Reference Q4_K x Q8_K product. Eight 32-element sub-blocks, each with a
// 6-bit scale and min (k_scale_min); a weight is d * scale * q - dmin * min.
// Sub-block s takes the low (s even) or high nibbles of qs[32 * (s / 2) ..+32].
#include "kernels/ref/ref_gemm.h"
#include "kernels/ukernel.h"

namespace {

using loci::BlockQ4_K;
using loci::kQK_K;
using loci::ref::DecodedSuperBlock;

void decode(const BlockQ4_K& w, DecodedSuperBlock* out) {
  for (size_t e = 0; e < kQK_K; ++e) out->q[e] = int8_t(loci::ref::k_nibble(w.qs, e));
  loci::ref::decode_k_scale_min(w.scales, out);
}

}  // namespace

void loci_q4_k_q8_k_gemm__ref(size_t m, size_t n, size_t k, const void* a, size_t a_stride, const void* w,
                              size_t w_stride, float* c, size_t c_stride) {
  loci::ref::superblock_gemm<BlockQ4_K, decode>(m, n, k, a, a_stride, w, w_stride, c, c_stride);
}
