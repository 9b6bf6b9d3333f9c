// Q6_K x Q8_K on SMMLA: two activation rows x two weight rows per
// instruction, eight bytes at a time. Per super-block the scale-weighted
// integer sum is exact and meets the float scales in the same per-output
// operations as the dotprod kernels and the ref kernel.
#include <arm_neon.h>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstring>

#include "kernels/ukernel.h"

namespace {

using loci::BlockQ6_K;
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

// 2P activation rows x kCols weight rows, all k.
template <int P>
struct Tile {
  size_t blocks;

  void operator()(const uint8_t* const* rows, const uint8_t* const* cols, float32x4_t* out) const {
    float32x4_t acc[P][2];
#pragma GCC unroll 2
    for (int p = 0; p < P; ++p) acc[p][0] = acc[p][1] = vdupq_n_f32(0.0f);
    for (size_t b = 0; b < blocks; ++b) {
      const size_t aoff = b * sizeof(BlockQ8_K), woff = b * sizeof(BlockQ6_K);
      const uint8_t* wb[kCols];
#pragma GCC unroll 4
      for (int j = 0; j < kCols; ++j) wb[j] = cols[j] + woff;
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
          const int8x16_t x = vld1q_s8(q8_k_codes(rows[2 * p], aoff) + 16 * g);
          const int8x16_t y = vld1q_s8(q8_k_codes(rows[2 * p + 1], aoff) + 16 * g);
          const int8x16_t a0 = zip_lo(x, y), a1 = zip_hi(x, y);
#pragma GCC unroll 2
          for (int q = 0; q < 2; ++q) {
            const int32x4_t t = vmmlaq_s32(vmmlaq_s32(vdupq_n_s32(0), a0, wq[q][0]), a1, wq[q][1]);
            sumi[p][q] = vmlaq_s32(sumi[p][q], t, scale_pair(pairs[q], g));
          }
        }
      }

      const float32x4_t dw = f16x4_to_f32(cols, woff + offsetof(BlockQ6_K, d));
      const float32x4_t da = f32x4(rows, aoff + offsetof(BlockQ8_K, d));
#pragma GCC unroll 2
      for (int p = 0; p < P; ++p)
#pragma GCC unroll 2
        for (int q = 0; q < 2; ++q) {
          const float32x4_t d = vmulq_f32(col_pair(dw, q), row_pair(da, p));
          acc[p][q] = vfmaq_f32(acc[p][q], d, vcvtq_f32_s32(sumi[p][q]));  // as the ref's fma
        }
    }
#pragma GCC unroll 2
    for (int p = 0; p < P; ++p) blocks_to_rows(acc[p], &out[2 * p], &out[2 * p + 1]);
  }
};

}  // namespace

void loci_q6_k_q8_k_gemm__i8mm(size_t m, size_t n, size_t k, const void* a, size_t a_stride, const void* w,
                               size_t w_stride, float* c, size_t c_stride) {
  for_each_tile<4>(m, n, a, a_stride, w, w_stride, c, c_stride, Tile<2>{k / loci::kQK_K});
}
