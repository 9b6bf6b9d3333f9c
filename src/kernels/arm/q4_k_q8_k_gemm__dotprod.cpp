// Q4_K x Q8_K on SDOT. Per super-block, two exact integer sums per output:
// the scale-weighted dot product of the 4-bit codes with the activation and
// the min-weighted sum of the activation's per-32 sums (from its bsums); they
// meet the float scales as the ref kernel combines them. One float lane per
// weight row, so every output takes the same lane operations whatever the tile.
#include <arm_neon.h>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstring>

#include "kernels/ukernel.h"

namespace {

using loci::BlockQ4_K;
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

// The eight 6-bit scales or the eight 6-bit mins of a Q4_K block (as
// loci::k_scale_min decodes them) for four weight rows at once, lane j for row
// j: byte s % 4 of `lo` (s < 4) or `hi` (s >= 4) holds sub-block s's value.
struct Packed6 {
  uint32x4_t lo, hi;
};

// Words 0, 1 and 2 of each row's 12 packed bytes, lane j for row j (the
// 16-byte loads end inside the blocks' qs).
void packed_words(const uint8_t* const* blocks, uint32x4_t* w0, uint32x4_t* w1, uint32x4_t* w2) {
  uint32x4_t r[4];
  for (int j = 0; j < 4; ++j) r[j] = vreinterpretq_u32_u8(vld1q_u8(blocks[j] + offsetof(BlockQ4_K, scales)));
  const uint32x4_t t0 = vtrn1q_u32(r[0], r[1]), t1 = vtrn2q_u32(r[0], r[1]);
  const uint32x4_t t2 = vtrn1q_u32(r[2], r[3]), t3 = vtrn2q_u32(r[2], r[3]);
  *w0 = vreinterpretq_u32_u64(vzip1q_u64(vreinterpretq_u64_u32(t0), vreinterpretq_u64_u32(t2)));
  *w1 = vreinterpretq_u32_u64(vzip1q_u64(vreinterpretq_u64_u32(t1), vreinterpretq_u64_u32(t3)));
  *w2 = vreinterpretq_u32_u64(vzip2q_u64(vreinterpretq_u64_u32(t0), vreinterpretq_u64_u32(t2)));
}

Packed6 q4_k_scales(const uint8_t* const* blocks) {
  uint32x4_t w0, w1, w2;
  packed_words(blocks, &w0, &w1, &w2);
  const uint32x4_t low2 = vdupq_n_u32(0x03030303);
  const uint32x4_t high2 = vshlq_n_u32(vandq_u32(vshrq_n_u32(w0, 6), low2), 4);
  return {vandq_u32(w0, vdupq_n_u32(0x3f3f3f3f)), vorrq_u32(vandq_u32(w2, vdupq_n_u32(0x0f0f0f0f)), high2)};
}

Packed6 q4_k_mins(const uint8_t* const* blocks) {
  uint32x4_t w0, w1, w2;
  packed_words(blocks, &w0, &w1, &w2);
  const uint32x4_t low2 = vdupq_n_u32(0x03030303);
  const uint32x4_t low4 = vandq_u32(vshrq_n_u32(w2, 4), vdupq_n_u32(0x0f0f0f0f));
  const uint32x4_t high2 = vshlq_n_u32(vandq_u32(vshrq_n_u32(w1, 6), low2), 4);
  return {vandq_u32(w1, vdupq_n_u32(0x3f3f3f3f)), vorrq_u32(low4, high2)};
}

// Sub-block s's value, as int32 lanes.
int32x4_t sub_block_value(const Packed6& p, int s) {
  const uint32x4_t v = s < 4 ? p.lo : p.hi;
  uint32x4_t shifted;
  switch (s % 4) {
    case 0: shifted = v; break;
    case 1: shifted = vshrq_n_u32(v, 8); break;
    case 2: shifted = vshrq_n_u32(v, 16); break;
    default: shifted = vshrq_n_u32(v, 24); break;
  }
  return vreinterpretq_s32_u32(vandq_u32(shifted, vdupq_n_u32(0xFF)));
}

// Sum over sub-blocks s of min[s] * (the activation's sum over sub-block s),
// lane j for weight row j.
int32x4_t min_sums(const Packed6& mins, const uint8_t* q8k_block) {
  const int16_t* bs = reinterpret_cast<const int16_t*>(q8k_block + offsetof(BlockQ8_K, bsums));
  const int16x8_t sums = vpaddq_s16(vld1q_s16(bs), vld1q_s16(bs + 8));  // lane s: sub-block s
  const int32x4_t lo = vmovl_s16(vget_low_s16(sums)), hi = vmovl_high_s16(sums);
  int32x4_t m = vmulq_laneq_s32(sub_block_value(mins, 0), lo, 0);
  m = vmlaq_laneq_s32(m, sub_block_value(mins, 1), lo, 1);
  m = vmlaq_laneq_s32(m, sub_block_value(mins, 2), lo, 2);
  m = vmlaq_laneq_s32(m, sub_block_value(mins, 3), lo, 3);
  m = vmlaq_laneq_s32(m, sub_block_value(mins, 4), hi, 0);
  m = vmlaq_laneq_s32(m, sub_block_value(mins, 5), hi, 1);
  m = vmlaq_laneq_s32(m, sub_block_value(mins, 6), hi, 2);
  return vmlaq_laneq_s32(m, sub_block_value(mins, 7), hi, 3);
}

// The 32 codes of one sub-block from the 32 bytes at qs: the low nibbles
// (high == 0) or the high ones.
void unpack_q4_k(const uint8_t* qs, int high, int8x16_t* lo, int8x16_t* hi) {
  const uint8x16_t raw0 = vld1q_u8(qs), raw1 = vld1q_u8(qs + 16);
  if (high == 0) {
    *lo = vreinterpretq_s8_u8(vandq_u8(raw0, vdupq_n_u8(0xF)));
    *hi = vreinterpretq_s8_u8(vandq_u8(raw1, vdupq_n_u8(0xF)));
  } else {
    *lo = vreinterpretq_s8_u8(vshrq_n_u8(raw0, 4));
    *hi = vreinterpretq_s8_u8(vshrq_n_u8(raw1, 4));
  }
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
      const size_t aoff = b * sizeof(BlockQ8_K), woff = b * sizeof(BlockQ4_K);
      const uint8_t* wb[kCols];
#pragma GCC unroll 4
      for (int j = 0; j < kCols; ++j) wb[j] = cols[j] + woff;
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
            const int8_t* aq = reinterpret_cast<const int8_t*>(rows[r] + aoff + offsetof(BlockQ8_K, qs)) + 32 * s;
            const int8x16_t alo = vld1q_s8(aq), ahi = vld1q_s8(aq + 16);
            int32x4_t p[kCols];
#pragma GCC unroll 4
            for (int j = 0; j < kCols; ++j) p[j] = vdotq_s32(vdotq_s32(vdupq_n_s32(0), wlo[j], alo), whi[j], ahi);
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

      const float32x4_t dw = f16x4_to_f32(cols, woff + offsetof(BlockQ4_K, d));
      const float32x4_t dmin = f16x4_to_f32(cols, woff + offsetof(BlockQ4_K, dmin));
      const Packed6 mins = q4_k_mins(wb);
#pragma GCC unroll 4
      for (int r = 0; r < R; ++r) {
        float da;
        std::memcpy(&da, rows[r] + aoff + offsetof(BlockQ8_K, d), sizeof da);
        const int32x4_t summ = min_sums(mins, rows[r] + aoff);
        // As the ref: (dw * da) * scaled - (dmin * da) * mins, then added.
        const float32x4_t scaled = vmulq_f32(vmulq_n_f32(dw, da), vcvtq_f32_s32(sumi[r]));
        acc[r] = vaddq_f32(acc[r], vfmsq_f32(scaled, vmulq_n_f32(dmin, da), vcvtq_f32_s32(summ)));
      }
    }
#pragma GCC unroll 4
    for (int r = 0; r < R; ++r) out[r] = acc[r];
  }
};

}  // namespace

void loci_q4_k_q8_k_gemv__dotprod(size_t m, size_t n, size_t k, const void* a, size_t a_stride, const void* w,
                                  size_t w_stride, float* c, size_t c_stride) {
  for_each_tile<1>(m, n, a, a_stride, w, w_stride, c, c_stride, Tile<1>{k / loci::kQK_K});
}

void loci_q4_k_q8_k_gemm__dotprod(size_t m, size_t n, size_t k, const void* a, size_t a_stride, const void* w,
                                  size_t w_stride, float* c, size_t c_stride) {
  for_each_tile<4>(m, n, a, a_stride, w, w_stride, c, c_stride, Tile<4>{k / loci::kQK_K});
}
