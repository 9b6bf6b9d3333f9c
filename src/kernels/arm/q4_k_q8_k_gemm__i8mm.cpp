// Q4_K x Q8_K on SMMLA: two activation rows x two weight rows per
// instruction, eight bytes at a time. Per super-block the scale-weighted and
// min-weighted integer sums are exact and meet the float scales in the same
// per-output operations as the dotprod kernels and the ref kernel.
#include <arm_neon.h>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstring>

#include "kernels/ukernel.h"

namespace {

using loci::BlockQ4_K;
using loci::BlockQ8_K;

constexpr int kCols = 4;  // weight rows per tile: two pairs, one lane each

uint16_t load_u16(const uint8_t* p) {
  uint16_t h;
  std::memcpy(&h, p, sizeof h);
  return h;
}

// The fp16 values at byte `off` of four rows, as floats.
float32x4_t f16x4_to_f32(const uint8_t* const* rows, size_t off) {
  uint16x4_t h = vdup_n_u16(0);
  h = vset_lane_u16(load_u16(rows[0] + off), h, 0);
  h = vset_lane_u16(load_u16(rows[1] + off), h, 1);
  h = vset_lane_u16(load_u16(rows[2] + off), h, 2);
  h = vset_lane_u16(load_u16(rows[3] + off), h, 3);
  return vcvt_f32_f16(vreinterpret_f16_u16(h));
}

// Runs `tile` over R x kCols tiles of c. Tail rows and columns repeat the last
// valid one (reads stay in bounds, the extra results are dropped), so an odd
// row or column is paired with a copy and takes the same operations as the rest.
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

// SMMLA works on 2 x 2 blocks of outputs, lanes (row 0, col 0), (row 0, col 1),
// (row 1, col 0), (row 1, col 1). These helpers move between that layout and
// one-lane-per-column rows.

// [x.lo, y.lo] and [x.hi, y.hi]: eight bytes of two rows, as SMMLA reads them.
int8x16_t zip_lo(int8x16_t x, int8x16_t y) {
  return vreinterpretq_s8_s64(vzip1q_s64(vreinterpretq_s64_s8(x), vreinterpretq_s64_s8(y)));
}
int8x16_t zip_hi(int8x16_t x, int8x16_t y) {
  return vreinterpretq_s8_s64(vzip2q_s64(vreinterpretq_s64_s8(x), vreinterpretq_s64_s8(y)));
}

// Per-column values v (lane j = column j) for column pair q, in 2 x 2 layout.
float32x4_t col_pair(float32x4_t v, int q) {
  return q == 0 ? vcombine_f32(vget_low_f32(v), vget_low_f32(v)) : vcombine_f32(vget_high_f32(v), vget_high_f32(v));
}
// Per-row values v (lane i = row i) for row pair p, in 2 x 2 layout.
float32x4_t row_pair(float32x4_t v, int p) { return p == 0 ? vzip1q_f32(v, v) : vzip2q_f32(v, v); }

// Rows 2p and 2p + 1 of a tile held as 2 x 2 blocks acc[p][0] (columns 0, 1)
// and acc[p][1] (columns 2, 3).
void blocks_to_rows(const float32x4_t* acc_p, float32x4_t* row0, float32x4_t* row1) {
  *row0 = vcombine_f32(vget_low_f32(acc_p[0]), vget_low_f32(acc_p[1]));
  *row1 = vcombine_f32(vget_high_f32(acc_p[0]), vget_high_f32(acc_p[1]));
}

// The codes of the Q8_K block at byte `off` of an activation row.
const int8_t* q8_k_codes(const uint8_t* row, size_t off) {
  return reinterpret_cast<const int8_t*>(row + off + offsetof(BlockQ8_K, qs));
}

// The floats at byte `off` of four rows.
float32x4_t f32x4(const uint8_t* const* rows, size_t off) {
  float v[4];
  for (int i = 0; i < 4; ++i) std::memcpy(&v[i], rows[i] + off, sizeof v[i]);
  return vld1q_f32(v);
}

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

// 2P activation rows x kCols weight rows, all k.
template <int P>
struct Tile {
  size_t blocks;

  void operator()(const uint8_t* const* rows, const uint8_t* const* cols, float32x4_t* out) const {
    float32x4_t acc[P][2];
#pragma GCC unroll 2
    for (int p = 0; p < P; ++p) acc[p][0] = acc[p][1] = vdupq_n_f32(0.0f);
    for (size_t b = 0; b < blocks; ++b) {
      const size_t aoff = b * sizeof(BlockQ8_K), woff = b * sizeof(BlockQ4_K);
      const uint8_t* wb[kCols];
#pragma GCC unroll 4
      for (int j = 0; j < kCols; ++j) wb[j] = cols[j] + woff;
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
        uint8x16_t raw[2][4];
#pragma GCC unroll 2
        for (int q = 0; q < 2; ++q) {
          const uint8_t* x = wb[2 * q] + offsetof(BlockQ4_K, qs) + 32 * pair;
          const uint8_t* y = wb[2 * q + 1] + offsetof(BlockQ4_K, qs) + 32 * pair;
          const int8x16_t x0 = vld1q_s8(reinterpret_cast<const int8_t*>(x));
          const int8x16_t x1 = vld1q_s8(reinterpret_cast<const int8_t*>(x + 16));
          const int8x16_t y0 = vld1q_s8(reinterpret_cast<const int8_t*>(y));
          const int8x16_t y1 = vld1q_s8(reinterpret_cast<const int8_t*>(y + 16));
          raw[q][0] = vreinterpretq_u8_s8(zip_lo(x0, y0));
          raw[q][1] = vreinterpretq_u8_s8(zip_hi(x0, y0));
          raw[q][2] = vreinterpretq_u8_s8(zip_lo(x1, y1));
          raw[q][3] = vreinterpretq_u8_s8(zip_hi(x1, y1));
        }
#pragma GCC unroll 2
        for (int h = 0; h < 2; ++h) {
          const int s = 2 * pair + h;
          int8x16_t wq[2][4];
#pragma GCC unroll 2
          for (int q = 0; q < 2; ++q)
#pragma GCC unroll 4
            for (int i = 0; i < 4; ++i)
              wq[q][i] = vreinterpretq_s8_u8(h == 0 ? vandq_u8(raw[q][i], vdupq_n_u8(0xF)) : vshrq_n_u8(raw[q][i], 4));
#pragma GCC unroll 2
          for (int p = 0; p < P; ++p) {
            const int8_t* x = q8_k_codes(rows[2 * p], aoff) + 32 * s;
            const int8_t* y = q8_k_codes(rows[2 * p + 1], aoff) + 32 * s;
            const int8x16_t x0 = vld1q_s8(x), x1 = vld1q_s8(x + 16), y0 = vld1q_s8(y), y1 = vld1q_s8(y + 16);
            const int8x16_t aq[4] = {zip_lo(x0, y0), zip_hi(x0, y0), zip_lo(x1, y1), zip_hi(x1, y1)};
#pragma GCC unroll 2
            for (int q = 0; q < 2; ++q) {
              int32x4_t t = vmmlaq_s32(vdupq_n_s32(0), aq[0], wq[q][0]);
              t = vmmlaq_s32(t, aq[1], wq[q][1]);
              t = vmmlaq_s32(t, aq[2], wq[q][2]);
              t = vmmlaq_s32(t, aq[3], wq[q][3]);
              sumi[p][q] = vmlaq_s32(sumi[p][q], t, sub_scales[s][q]);
            }
          }
        }
      };
      // Unrolled, the tile would outgrow the registers.
#pragma GCC unroll 1
      for (int pair = 0; pair < 4; ++pair) sub_block_pair(pair);

      const float32x4_t dw = f16x4_to_f32(cols, woff + offsetof(BlockQ4_K, d));
      const float32x4_t dmin = f16x4_to_f32(cols, woff + offsetof(BlockQ4_K, dmin));
      const float32x4_t da = f32x4(rows, aoff + offsetof(BlockQ8_K, d));
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
          // As the ref: (dw * da) * scaled - (dmin * da) * mins, then added.
          const float32x4_t scaled = vmulq_f32(vmulq_f32(col_pair(dw, q), dap), vcvtq_f32_s32(sumi[p][q]));
          const float32x4_t dm = vmulq_f32(col_pair(dmin, q), dap);
          acc[p][q] = vaddq_f32(acc[p][q], vfmsq_f32(scaled, dm, vcvtq_f32_s32(summ[q])));
        }
      }
    }
#pragma GCC unroll 2
    for (int p = 0; p < P; ++p) blocks_to_rows(acc[p], &out[2 * p], &out[2 * p + 1]);
  }
};

}  // namespace

void loci_q4_k_q8_k_gemm__i8mm(size_t m, size_t n, size_t k, const void* a, size_t a_stride, const void* w,
                               size_t w_stride, float* c, size_t c_stride) {
  for_each_tile<4>(m, n, a, a_stride, w, w_stride, c, c_stride, Tile<2>{k / loci::kQK_K});
}
