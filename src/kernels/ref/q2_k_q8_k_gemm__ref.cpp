// Reference Q2_K x Q8_K product. Each 16-element group g has a 4-bit scale
// (low nibble of scales[g]) and a 4-bit min (high nibble); a weight is
// d * scale * q - dmin * min with a 2-bit q. Element e lives in byte
// 32 * (e / 128) + e % 32 at bit 2 * ((e % 128) / 32).
#include "kernels/ref/ref_gemm.h"
#include "kernels/ukernel.h"

namespace {

using loci::BlockQ2_K;
using loci::kQK_K;
using loci::ref::DecodedSuperBlock;

void decode(const BlockQ2_K& w, DecodedSuperBlock* out) {
  for (size_t e = 0; e < kQK_K; ++e) out->q[e] = int8_t(loci::ref::k_two_bits(w.qs, e));
  for (size_t g = 0; g < kQK_K / 16; ++g) {
    out->scale[g] = w.scales[g] & 0xF;
    out->min[g] = w.scales[g] >> 4;
  }
}

}  // namespace

void loci_q2_k_q8_k_gemm__ref(size_t m, size_t n, size_t k, const void* a, size_t a_stride, const void* w,
                              size_t w_stride, float* c, size_t c_stride) {
  loci::ref::superblock_gemm<BlockQ2_K, decode>(m, n, k, a, a_stride, w, w_stride, c, c_stride);
}
