// Q4_0 x Q8_0 on SMMLA: two activation rows x two weight rows per
// instruction, eight bytes at a time; the 4-bit codes become int8 (q - 8). Per
// block the integer sums are exact and meet the scales in the same per-output
// float operations as the dotprod kernels and the ref kernel, so the results
// match them bit for bit.
#include <arm_neon.h>

#include <cstddef>
#include <cstdint>

#include "kernels/arm/arm_q8_0_i8mm.h"
#include "kernels/ukernel.h"

namespace {

// Pair policy for Q4_0 blocks: the packed bytes are zipped before the nibbles
// are split, so two weight rows take two zips rather than four.
struct Q4_0Pair : Q4_0Block {
  static void pair(const uint8_t* x, const uint8_t* y, int8x16_t* v) {
    const uint8x16_t qx = vld1q_u8(x + offsetof(loci::BlockQ4_0, qs)), qy = vld1q_u8(y + offsetof(loci::BlockQ4_0, qs));
    const uint8x16_t lo = vreinterpretq_u8_s8(zip_lo(vreinterpretq_s8_u8(qx), vreinterpretq_s8_u8(qy)));
    const uint8x16_t hi = vreinterpretq_u8_s8(zip_hi(vreinterpretq_s8_u8(qx), vreinterpretq_s8_u8(qy)));
    const uint8x16_t mask = vdupq_n_u8(0xF);
    const int8x16_t eight = vdupq_n_s8(8);
    v[0] = vsubq_s8(vreinterpretq_s8_u8(vandq_u8(lo, mask)), eight);
    v[1] = vsubq_s8(vreinterpretq_s8_u8(vandq_u8(hi, mask)), eight);
    v[2] = vsubq_s8(vreinterpretq_s8_u8(vshrq_n_u8(lo, 4)), eight);
    v[3] = vsubq_s8(vreinterpretq_s8_u8(vshrq_n_u8(hi, 4)), eight);
  }
};

}  // namespace

void loci_q4_0_q8_0_gemm__i8mm(size_t m, size_t n, size_t k, const void* a, size_t a_stride, const void* w,
                               size_t w_stride, float* c, size_t c_stride) {
  smmla_gemm<Q8_0Smmla<Q4_0Pair>>(m, n, k, a, a_stride, w, w_stride, c, c_stride);
}
