// Q6_K x Q8_K on SDOT. Per super-block, one exact integer sum per output: the
// sum over 16-element groups of scale * dot(q - 32, activation), which meets
// the float scales as the ref kernel combines them. One float lane per weight
// row, so every output takes the same lane operations whatever the tile.
#include <arm_neon.h>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstring>

#include "kernels/ukernel.h"

namespace {

using loci::BlockQ6_K;
using loci::BlockQ8_K;

constexpr int kCols = 4;  // weight rows per tile, one per float lane

uint16_t load_u16(const uint8_t* p) {
  uint16_t h;
  std::memcpy(&h, p, sizeof h);
  return h;
}


// The fp16 scales at byte `off` of four weight rows, as floats.
float32x4_t f16x4_to_f32(const uint8_t* const* cols, size_t off) {
  uint16x4_t h = vdup_n_u16(0);
  h = vset_lane_u16(load_u16(cols[0] + off), h, 0);
  h = vset_lane_u16(load_u16(cols[1] + off), h, 1);
  h = vset_lane_u16(load_u16(cols[2] + off), h, 2);
  h = vset_lane_u16(load_u16(cols[3] + off), h, 3);
  return vcvt_f32_f16(vreinterpret_f16_u16(h));
}

// Runs `tile` over R x kCols tiles of c. Tail rows and columns repeat the last
// valid one (reads stay in bounds, the extra results are dropped), so tails run
// the same code as full tiles.
template <int R, typename Tile>
void for_each_tile(size_t m, size_t n, const void* a, size_t a_stride, const void* w, size_t w_stride, float* c,
                   size_t c_stride, const Tile& tile) {
  const auto* ab = static_cast<const uint8_t*>(a);
  const auto* wb = static_cast<const uint8_t*>(w);
  for (size_t i0 = 0; i0 < m; i0 += R) {
    const uint8_t* rows[R];
    for (int r = 0; r < R; ++r) rows[r] = ab + std::min(i0 + r, m - 1) * a_stride;
    const size_t rn = std::min<size_t>(R, m - i0);
    for (size_t j0 = 0; j0 < n; j0 += kCols) {
      const uint8_t* cols[kCols];
      for (int j = 0; j < kCols; ++j) cols[j] = wb + std::min(j0 + j, n - 1) * w_stride;
      float32x4_t out[R];
      tile(rows, cols, out);
      const size_t cn = std::min<size_t>(kCols, n - j0);
      for (size_t r = 0; r < rn; ++r) {
        float* ci = reinterpret_cast<float*>(reinterpret_cast<uint8_t*>(c) + (i0 + r) * c_stride) + j0;
        if (cn == kCols) {
          vst1q_f32(ci, out[r]);
        } else {
          float tmp[kCols];
          vst1q_f32(tmp, out[r]);
          for (size_t j = 0; j < cn; ++j) ci[j] = tmp[j];
        }
      }
    }
  }
}

// Sums each of four int32x4 into one lane: lane j = sum of p[j].
int32x4_t reduce4(const int32x4_t* p) { return vpaddq_s32(vpaddq_s32(p[0], p[1]), vpaddq_s32(p[2], p[3])); }


// Group g (elements 16g..16g+15) of a Q6_K block as int8 q - 32. In each
// 128-element half, quarter t of element l takes nibble t / 2 of
// ql[l + 32 * (t % 2)] and bits 2t..2t+1 of qh[l].
int8x16_t unpack_q6_k(const uint8_t* block, int g) {
  const int half = g / 8, t = (g % 8) / 2, l0 = 16 * (g % 2);
  const uint8x16_t ql = vld1q_u8(block + offsetof(BlockQ6_K, ql) + 64 * half + 32 * (t % 2) + l0);
  const uint8x16_t qh = vld1q_u8(block + offsetof(BlockQ6_K, qh) + 32 * half + l0);
  const uint8x16_t low = t / 2 == 0 ? vandq_u8(ql, vdupq_n_u8(0xF)) : vshrq_n_u8(ql, 4);
  uint8x16_t high;  // bits 2t..2t+1 of qh moved to bits 4..5
  switch (t) {
    case 0: high = vshlq_n_u8(qh, 4); break;
    case 1: high = vshlq_n_u8(qh, 2); break;
    case 2: high = qh; break;
    default: high = vshrq_n_u8(qh, 2); break;
  }
  const uint8x16_t q = vorrq_u8(low, vandq_u8(high, vdupq_n_u8(0x30)));
  return vsubq_s8(vreinterpretq_s8_u8(q), vdupq_n_s8(32));
}

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

// R activation rows x kCols weight rows, all k.
template <int R>
struct Tile {
  size_t blocks;

  void operator()(const uint8_t* const* rows, const uint8_t* const* cols, float32x4_t* out) const {
    float32x4_t acc[R];
#pragma GCC unroll 4
    for (int r = 0; r < R; ++r) acc[r] = vdupq_n_f32(0.0f);
    for (size_t b = 0; b < blocks; ++b) {
      const size_t aoff = b * sizeof(BlockQ8_K), woff = b * sizeof(BlockQ6_K);
      const uint8_t* wb[kCols];
      int8x16_t scales[kCols];
#pragma GCC unroll 4
      for (int j = 0; j < kCols; ++j) {
        wb[j] = cols[j] + woff;
        scales[j] = vld1q_s8(reinterpret_cast<const int8_t*>(wb[j] + offsetof(BlockQ6_K, scales)));
      }
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
          const int8_t* aq = reinterpret_cast<const int8_t*>(rows[r] + aoff + offsetof(BlockQ8_K, qs)) + 16 * g;
          const int8x16_t av = vld1q_s8(aq);
          int32x4_t p[kCols];
#pragma GCC unroll 4
          for (int j = 0; j < kCols; ++j) p[j] = vdotq_s32(vdupq_n_s32(0), wq[j], av);
          sumi[r] = vmlaq_s32(sumi[r], reduce4(p), scale);
        }
      }

      const float32x4_t dw = f16x4_to_f32(cols, woff + offsetof(BlockQ6_K, d));
#pragma GCC unroll 4
      for (int r = 0; r < R; ++r) {
        float da;
        std::memcpy(&da, rows[r] + aoff + offsetof(BlockQ8_K, d), sizeof da);
        acc[r] = vfmaq_f32(acc[r], vmulq_n_f32(dw, da), vcvtq_f32_s32(sumi[r]));  // as the ref's fma
      }
    }
#pragma GCC unroll 4
    for (int r = 0; r < R; ++r) out[r] = acc[r];
  }
};

}  // namespace

void loci_q6_k_q8_k_gemv__dotprod(size_t m, size_t n, size_t k, const void* a, size_t a_stride, const void* w,
                                  size_t w_stride, float* c, size_t c_stride) {
  for_each_tile<1>(m, n, a, a_stride, w, w_stride, c, c_stride, Tile<1>{k / loci::kQK_K});
}

void loci_q6_k_q8_k_gemm__dotprod(size_t m, size_t n, size_t k, const void* a, size_t a_stride, const void* w,
                                  size_t w_stride, float* c, size_t c_stride) {
  for_each_tile<4>(m, n, a, a_stride, w, w_stride, c, c_stride, Tile<4>{k / loci::kQK_K});
}
