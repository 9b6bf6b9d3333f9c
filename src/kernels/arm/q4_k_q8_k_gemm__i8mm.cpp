// Q4_K x Q8_K on SMMLA: two activation rows x two weight rows per
// instruction, eight bytes at a time. Per super-block the scale-weighted and
// min-weighted integer sums are exact and meet the float scales in the same
// per-output operations as the dotprod kernels and the ref kernel.
#include <arm_neon.h>

#include <cstddef>
#include <cstdint>

#include "kernels/arm/arm_i8mm.h"
#include "kernels/arm/arm_kquants.h"
#include "kernels/arm/arm_lanes.h"
#include "kernels/arm/arm_tiles.h"
#include "kernels/ukernel.h"

namespace {

using loci::BlockQ4_K;
using loci::BlockQ8_K;

// The SmmlaTile kernel (arm_i8mm.h): adds super-block b of 2P activation rows
// x kCols weight rows to acc.
struct Q4_KSmmla {
  static constexpr size_t kBlockElems = loci::kQK_K;

  template <int P>
  static void accumulate(const uint8_t* const* rows, const uint8_t* const* cols, size_t b, float32x4_t (*acc)[2]) {
    const size_t aoff = b * sizeof(BlockQ8_K), woff = b * sizeof(BlockQ4_K);
    const uint8_t* wb[kCols];
    blocks_at(cols, woff, wb);
    const Packed6 scales = q4_k_scales(wb);
    int32x4_t sub_scales[8][2];  // [s][q]: sub-block s's scales of weight pair q, 2 x 2 layout
#pragma GCC unroll 8
    for (int s = 0; s < 8; ++s) {
      const int32x4_t v = sub_block_value(scales, s);
      sub_scales[s][0] = vcombine_s32(vget_low_s32(v), vget_low_s32(v));
      sub_scales[s][1] = vcombine_s32(vget_high_s32(v), vget_high_s32(v));
    }

    int32x4_t sumi[P][2];
#pragma GCC unroll 2
    for (int p = 0; p < P; ++p) sumi[p][0] = sumi[p][1] = vdupq_n_s32(0);
    // Sub-blocks 2 * pair (low nibbles) and 2 * pair + 1 (high nibbles).
    auto sub_block_pair = [&](int pair) {
      int8x16_t raw[2][4];
#pragma GCC unroll 2
      for (int q = 0; q < 2; ++q) {
        const size_t qs = offsetof(BlockQ4_K, qs) + 32 * pair;
        load_zip32(reinterpret_cast<const int8_t*>(wb[2 * q] + qs), reinterpret_cast<const int8_t*>(wb[2 * q + 1] + qs),
                   raw[q]);
      }
#pragma GCC unroll 2
      for (int h = 0; h < 2; ++h) {
        const int s = 2 * pair + h;
        int8x16_t wq[2][4];
#pragma GCC unroll 2
        for (int q = 0; q < 2; ++q)
#pragma GCC unroll 4
          for (int i = 0; i < 4; ++i) {
            const uint8x16_t r = vreinterpretq_u8_s8(raw[q][i]);
            wq[q][i] = vreinterpretq_s8_u8(h == 0 ? vandq_u8(r, vdupq_n_u8(0xF)) : vshrq_n_u8(r, 4));
          }
#pragma GCC unroll 2
        for (int p = 0; p < P; ++p) {
          int8x16_t aq[4];
          load_zip32(q8_k_codes(rows[2 * p] + aoff) + 32 * s, q8_k_codes(rows[2 * p + 1] + aoff) + 32 * s, aq);
#pragma GCC unroll 2
          for (int q = 0; q < 2; ++q) sumi[p][q] = vmlaq_s32(sumi[p][q], smmla32(aq, wq[q]), sub_scales[s][q]);
        }
      }
    };
    // Unrolled, the tile would outgrow the registers.
#pragma GCC unroll 1
    for (int pair = 0; pair < 4; ++pair) sub_block_pair(pair);

    const float32x4_t dw = load_f16x4(cols, woff + offsetof(BlockQ4_K, d));
    const float32x4_t dmin = load_f16x4(cols, woff + offsetof(BlockQ4_K, dmin));
    const float32x4_t da = load_f32x4(rows, aoff + offsetof(BlockQ8_K, d));
    const Packed6 mins = q4_k_mins(wb);
#pragma GCC unroll 2
    for (int p = 0; p < P; ++p) {
      const int32x4_t m0 = min_sums(mins, rows[2 * p] + aoff), m1 = min_sums(mins, rows[2 * p + 1] + aoff);
      const int32x4_t summ[2] = {
          vreinterpretq_s32_s64(vzip1q_s64(vreinterpretq_s64_s32(m0), vreinterpretq_s64_s32(m1))),
          vreinterpretq_s32_s64(vzip2q_s64(vreinterpretq_s64_s32(m0), vreinterpretq_s64_s32(m1)))};
#pragma GCC unroll 2
      for (int q = 0; q < 2; ++q) {
        const float32x4_t dap = row_pair(da, p);
        acc[p][q] = q4_k_accumulate(acc[p][q], vmulq_f32(col_pair(dw, q), dap), vmulq_f32(col_pair(dmin, q), dap),
                                    sumi[p][q], summ[q]);
      }
    }
  }
};

}  // namespace

void loci_q4_k_q8_k_gemm__i8mm(size_t m, size_t n, size_t k, const void* a, size_t a_stride, const void* w,
                               size_t w_stride, float* c, size_t c_stride) {
  smmla_gemm<Q4_KSmmla>(m, n, k, a, a_stride, w, w_stride, c, c_stride);
}
