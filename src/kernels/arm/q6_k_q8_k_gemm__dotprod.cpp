// Q6_K x Q8_K on SDOT. Per super-block, one exact integer sum per output: the
// sum over 16-element groups of scale * dot(q - 32, activation), which meets
// the float scales as the ref kernel combines them. One float lane per weight
// row, so every output takes the same lane operations whatever the tile.
#include <arm_neon.h>

#include <cstddef>
#include <cstdint>

#include "kernels/arm/arm_kquants.h"
#include "kernels/arm/arm_lanes.h"
#include "kernels/arm/arm_tiles.h"
#include "kernels/ukernel.h"

namespace {

using loci::BlockQ6_K;
using loci::BlockQ8_K;

// Transposes four weight rows' 16 int8 scales: t[g / 4] holds scale g of row j
// at byte 4 * (g % 4) + j.
void transpose_4x16(const int8x16_t* v, int8x16_t* t) {
  const int16x8_t a = vreinterpretq_s16_s8(vzip1q_s8(v[0], v[1])), b = vreinterpretq_s16_s8(vzip2q_s8(v[0], v[1]));
  const int16x8_t c = vreinterpretq_s16_s8(vzip1q_s8(v[2], v[3])), d = vreinterpretq_s16_s8(vzip2q_s8(v[2], v[3]));
  t[0] = vreinterpretq_s8_s16(vzip1q_s16(a, c));
  t[1] = vreinterpretq_s8_s16(vzip2q_s16(a, c));
  t[2] = vreinterpretq_s8_s16(vzip1q_s16(b, d));
  t[3] = vreinterpretq_s8_s16(vzip2q_s16(b, d));
}

// Scale g of the four weight rows, widened to int32 lanes.
int32x4_t group_scales(const int8x16_t* t, int g) {
  const int8x16_t v = t[g / 4];
  const int16x8_t w = (g % 4) / 2 == 0 ? vmovl_s8(vget_low_s8(v)) : vmovl_high_s8(v);
  return g % 2 == 0 ? vmovl_s16(vget_low_s16(w)) : vmovl_high_s16(w);
}

// The LaneTile kernel (arm_tiles.h): adds super-block b of R activation rows
// x kCols weight rows to acc.
struct Q6_KLanes {
  static constexpr size_t kBlockElems = loci::kQK_K;

  template <int R>
  static void accumulate(const uint8_t* const* rows, const uint8_t* const* cols, size_t b, float32x4_t* acc) {
    const size_t aoff = b * sizeof(BlockQ8_K), woff = b * sizeof(BlockQ6_K);
    const uint8_t* wb[kCols];
    blocks_at(cols, woff, wb);
    int8x16_t scales[kCols];
#pragma GCC unroll 4
    for (int j = 0; j < kCols; ++j)
      scales[j] = vld1q_s8(reinterpret_cast<const int8_t*>(wb[j] + offsetof(BlockQ6_K, scales)));
    int8x16_t sc[4];
    transpose_4x16(scales, sc);

    int32x4_t sumi[R];
#pragma GCC unroll 4
    for (int r = 0; r < R; ++r) sumi[r] = vdupq_n_s32(0);
#pragma GCC unroll 16
    for (int g = 0; g < 16; ++g) {
      int8x16_t wq[kCols];
#pragma GCC unroll 4
      for (int j = 0; j < kCols; ++j) wq[j] = unpack_q6_k(wb[j], g);
      const int32x4_t scale = group_scales(sc, g);
#pragma GCC unroll 4
      for (int r = 0; r < R; ++r) {
        const int8x16_t av = vld1q_s8(q8_k_codes(rows[r] + aoff) + 16 * g);
        int32x4_t p[kCols];
#pragma GCC unroll 4
        for (int j = 0; j < kCols; ++j) p[j] = vdotq_s32(vdupq_n_s32(0), wq[j], av);
        sumi[r] = vmlaq_s32(sumi[r], reduce4(p), scale);
      }
    }

    const float32x4_t dw = load_f16x4(cols, woff + offsetof(BlockQ6_K, d));
#pragma GCC unroll 4
    for (int r = 0; r < R; ++r) {
      const float da = q8_k_scale(rows[r] + aoff);
      acc[r] = vfmaq_f32(acc[r], vmulq_n_f32(dw, da), vcvtq_f32_s32(sumi[r]));  // as the ref's fma
    }
  }
};

}  // namespace

void loci_q6_k_q8_k_gemv__dotprod(size_t m, size_t n, size_t k, const void* a, size_t a_stride, const void* w,
                                  size_t w_stride, float* c, size_t c_stride) {
  lane_gemm<1, Q6_KLanes>(m, n, k, a, a_stride, w, w_stride, c, c_stride);
}

void loci_q6_k_q8_k_gemm__dotprod(size_t m, size_t n, size_t k, const void* a, size_t a_stride, const void* w,
                                  size_t w_stride, float* c, size_t c_stride) {
  lane_gemm<4, Q6_KLanes>(m, n, k, a, a_stride, w, w_stride, c, c_stride);
}
