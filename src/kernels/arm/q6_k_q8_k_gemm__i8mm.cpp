// Q6_K x Q8_K on SMMLA: two activation rows x two weight rows per
// instruction, eight bytes at a time. Per super-block the scale-weighted
// integer sum is exact and meets the float scales in the same per-output
// operations as the dotprod kernels and the ref kernel.
#include <arm_neon.h>

#include <cstddef>
#include <cstdint>

#include "kernels/arm/arm_i8mm.h"
#include "kernels/arm/arm_kquants.h"
#include "kernels/arm/arm_lanes.h"
#include "kernels/arm/arm_tiles.h"
#include "kernels/ukernel.h"

namespace {

using loci::BlockQ6_K;
using loci::BlockQ8_K;

// 32-bit lane `i` of v in every lane.
int32x4_t dup_lane(int32x4_t v, int i) {
  switch (i) {
    case 0: return vdupq_laneq_s32(v, 0);
    case 1: return vdupq_laneq_s32(v, 1);
    case 2: return vdupq_laneq_s32(v, 2);
    default: return vdupq_laneq_s32(v, 3);
  }
}

// Group g's scales of a weight pair, in 2 x 2 layout; pairs[g / 4] holds the
// two rows' scales interleaved as 16-bit values.
int32x4_t scale_pair(const int16x8_t* pairs, int g) {
  const int16x8_t both = vreinterpretq_s16_s32(dup_lane(vreinterpretq_s32_s16(pairs[g / 4]), g % 4));
  return vmovl_s16(vget_low_s16(both));
}

// The SmmlaTile kernel (arm_i8mm.h): adds super-block b of 2P activation rows
// x kCols weight rows to acc.
struct Q6_KSmmla {
  static constexpr size_t kBlockElems = loci::kQK_K;

  template <int P>
  static void accumulate(const uint8_t* const* rows, const uint8_t* const* cols, size_t b, float32x4_t (*acc)[2]) {
    const size_t aoff = b * sizeof(BlockQ8_K), woff = b * sizeof(BlockQ6_K);
    const uint8_t* wb[kCols];
    blocks_at(cols, woff, wb);
    int16x8_t pairs[2][4];  // [q][g / 4]: scales of weight rows 2q, 2q + 1 interleaved
#pragma GCC unroll 2
    for (int q = 0; q < 2; ++q) {
      const int8x16_t x = vld1q_s8(reinterpret_cast<const int8_t*>(wb[2 * q] + offsetof(BlockQ6_K, scales)));
      const int8x16_t y = vld1q_s8(reinterpret_cast<const int8_t*>(wb[2 * q + 1] + offsetof(BlockQ6_K, scales)));
      const int8x16_t lo = vzip1q_s8(x, y), hi = vzip2q_s8(x, y);
      pairs[q][0] = vmovl_s8(vget_low_s8(lo));
      pairs[q][1] = vmovl_high_s8(lo);
      pairs[q][2] = vmovl_s8(vget_low_s8(hi));
      pairs[q][3] = vmovl_high_s8(hi);
    }

    int32x4_t sumi[P][2];
#pragma GCC unroll 2
    for (int p = 0; p < P; ++p) sumi[p][0] = sumi[p][1] = vdupq_n_s32(0);
#pragma GCC unroll 16
    for (int g = 0; g < 16; ++g) {
      int8x16_t wq[2][2];
#pragma GCC unroll 2
      for (int q = 0; q < 2; ++q) {
        const int8x16_t x = unpack_q6_k(wb[2 * q], g), y = unpack_q6_k(wb[2 * q + 1], g);
        wq[q][0] = zip_lo(x, y);
        wq[q][1] = zip_hi(x, y);
      }
#pragma GCC unroll 2
      for (int p = 0; p < P; ++p) {
        const int8x16_t x = vld1q_s8(q8_k_codes(rows[2 * p] + aoff) + 16 * g);
        const int8x16_t y = vld1q_s8(q8_k_codes(rows[2 * p + 1] + aoff) + 16 * g);
        const int8x16_t a0 = zip_lo(x, y), a1 = zip_hi(x, y);
#pragma GCC unroll 2
        for (int q = 0; q < 2; ++q) {
          const int32x4_t t = vmmlaq_s32(vmmlaq_s32(vdupq_n_s32(0), a0, wq[q][0]), a1, wq[q][1]);
          sumi[p][q] = vmlaq_s32(sumi[p][q], t, scale_pair(pairs[q], g));
        }
      }
    }

    const float32x4_t dw = load_f16x4(cols, woff + offsetof(BlockQ6_K, d));
    const float32x4_t da = load_f32x4(rows, aoff + offsetof(BlockQ8_K, d));
#pragma GCC unroll 2
    for (int p = 0; p < P; ++p)
#pragma GCC unroll 2
      for (int q = 0; q < 2; ++q) {
        const float32x4_t d = vmulq_f32(col_pair(dw, q), row_pair(da, p));
        acc[p][q] = vfmaq_f32(acc[p][q], d, vcvtq_f32_s32(sumi[p][q]));  // as the ref's fma
      }
  }
};

}  // namespace

void loci_q6_k_q8_k_gemm__i8mm(size_t m, size_t n, size_t k, const void* a, size_t a_stride, const void* w,
                               size_t w_stride, float* c, size_t c_stride) {
  smmla_gemm<Q6_KSmmla>(m, n, k, a, a_stride, w, w_stride, c, c_stride);
}
