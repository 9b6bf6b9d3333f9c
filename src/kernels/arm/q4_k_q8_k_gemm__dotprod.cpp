// Q4_K x Q8_K on SDOT. Per super-block, two exact integer sums per output:
// the scale-weighted dot product of the 4-bit codes with the activation and
// the min-weighted sum of the activation's per-32 sums (from its bsums); they
// meet the float scales as the ref kernel combines them. One float lane per
// weight row, so every output takes the same lane operations whatever the tile.
#include <arm_neon.h>

#include <cstddef>
#include <cstdint>

#include "kernels/arm/arm_dotprod.h"
#include "kernels/arm/arm_kquants.h"
#include "kernels/arm/arm_lanes.h"
#include "kernels/arm/arm_tiles.h"
#include "kernels/ukernel.h"

namespace {

using loci::BlockQ4_K;
using loci::BlockQ8_K;

// The LaneTile kernel (arm_tiles.h): adds super-block b of R activation rows
// x kCols weight rows to acc.
struct Q4_KLanes {
  static constexpr size_t kBlockElems = loci::kQK_K;

  template <int R>
  static void accumulate(const uint8_t* const* rows, const uint8_t* const* cols, size_t b, float32x4_t* acc) {
    const size_t aoff = b * sizeof(BlockQ8_K), woff = b * sizeof(BlockQ4_K);
    const uint8_t* wb[kCols];
    blocks_at(cols, woff, wb);
    const Packed6 scales = q4_k_scales(wb);
    int32x4_t sumi[R];
#pragma GCC unroll 4
    for (int r = 0; r < R; ++r) sumi[r] = vdupq_n_s32(0);
    int32x4_t sub_scales[8];
#pragma GCC unroll 8
    for (int s = 0; s < 8; ++s) sub_scales[s] = sub_block_value(scales, s);
    // Sub-blocks 2 * pair (low nibbles) and 2 * pair + 1 (high nibbles).
    auto sub_block_pair = [&](int pair) {
#pragma GCC unroll 2
      for (int h = 0; h < 2; ++h) {
        const int s = 2 * pair + h;
        int8x16_t wlo[kCols], whi[kCols];
#pragma GCC unroll 4
        for (int j = 0; j < kCols; ++j) unpack_q4_k(wb[j] + offsetof(BlockQ4_K, qs) + 32 * pair, h, &wlo[j], &whi[j]);
#pragma GCC unroll 4
        for (int r = 0; r < R; ++r) {
          const int8_t* aq = q8_k_codes(rows[r] + aoff) + 32 * s;
          const int8x16_t alo = vld1q_s8(aq), ahi = vld1q_s8(aq + 16);
          int32x4_t p[kCols];
#pragma GCC unroll 4
          for (int j = 0; j < kCols; ++j) p[j] = SdotDot::dot(wlo[j], whi[j], alo, ahi);
          sumi[r] = vmlaq_s32(sumi[r], reduce4(p), sub_scales[s]);
        }
      }
    };
    // Unrolled, a multi-row tile would outgrow the registers.
    if (R == 1) {
#pragma GCC unroll 4
      for (int pair = 0; pair < 4; ++pair) sub_block_pair(pair);
    } else {
#pragma GCC unroll 1
      for (int pair = 0; pair < 4; ++pair) sub_block_pair(pair);
    }

    const float32x4_t dw = load_f16x4(cols, woff + offsetof(BlockQ4_K, d));
    const float32x4_t dmin = load_f16x4(cols, woff + offsetof(BlockQ4_K, dmin));
    const Packed6 mins = q4_k_mins(wb);
#pragma GCC unroll 4
    for (int r = 0; r < R; ++r) {
      const float da = q8_k_scale(rows[r] + aoff);
      const int32x4_t summ = min_sums(mins, rows[r] + aoff);
      acc[r] = q4_k_accumulate(acc[r], vmulq_n_f32(dw, da), vmulq_n_f32(dmin, da), sumi[r], summ);
    }
  }
};

}  // namespace

void loci_q4_k_q8_k_gemv__dotprod(size_t m, size_t n, size_t k, const void* a, size_t a_stride, const void* w,
                                  size_t w_stride, float* c, size_t c_stride) {
  lane_gemm<1, Q4_KLanes>(m, n, k, a, a_stride, w, w_stride, c, c_stride);
}

void loci_q4_k_q8_k_gemm__dotprod(size_t m, size_t n, size_t k, const void* a, size_t a_stride, const void* w,
                                  size_t w_stride, float* c, size_t c_stride) {
  lane_gemm<4, Q4_KLanes>(m, n, k, a, a_stride, w, w_stride, c, c_stride);
}
