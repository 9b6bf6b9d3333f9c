// Q4_0 x Q8_0 on SMMLA: two activation rows x two weight rows per
// instruction, eight bytes at a time; the 4-bit codes become int8 (q - 8). Per block the integer sums are exact and
// meet the scales in the same per-output float operations as the dotprod
// kernels and the ref kernel, so the results match them bit for bit.
#include <arm_neon.h>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstring>

#include "kernels/ukernel.h"

namespace {

using loci::BlockQ4_0;
using loci::BlockQ8_0;

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

// A Q8_0 block's 32 codes of rows x and y as four SMMLA operands (bytes 0-7, 8-15,
// 16-23, 24-31 of both).
void load_pair(const uint8_t* x, const uint8_t* y, int8x16_t* v) {
  const int8_t* qx = reinterpret_cast<const int8_t*>(x + offsetof(BlockQ8_0, qs));
  const int8_t* qy = reinterpret_cast<const int8_t*>(y + offsetof(BlockQ8_0, qs));
  const int8x16_t x0 = vld1q_s8(qx), x1 = vld1q_s8(qx + 16), y0 = vld1q_s8(qy), y1 = vld1q_s8(qy + 16);
  v[0] = zip_lo(x0, y0);
  v[1] = zip_hi(x0, y0);
  v[2] = zip_lo(x1, y1);
  v[3] = zip_hi(x1, y1);
}

// A Q4_0 block of rows x and y as four SMMLA operands, minus 8: elements
// 0-7, 8-15 (low nibbles), 16-23, 24-31 (high nibbles) of both.
void load_q4_0_pair(const uint8_t* x, const uint8_t* y, int8x16_t* v) {
  const uint8x16_t qx = vld1q_u8(x + offsetof(BlockQ4_0, qs)), qy = vld1q_u8(y + offsetof(BlockQ4_0, qs));
  const uint8x16_t lo = vreinterpretq_u8_u64(vzip1q_u64(vreinterpretq_u64_u8(qx), vreinterpretq_u64_u8(qy)));
  const uint8x16_t hi = vreinterpretq_u8_u64(vzip2q_u64(vreinterpretq_u64_u8(qx), vreinterpretq_u64_u8(qy)));
  const uint8x16_t mask = vdupq_n_u8(0xF);
  const int8x16_t eight = vdupq_n_s8(8);
  v[0] = vsubq_s8(vreinterpretq_s8_u8(vandq_u8(lo, mask)), eight);
  v[1] = vsubq_s8(vreinterpretq_s8_u8(vandq_u8(hi, mask)), eight);
  v[2] = vsubq_s8(vreinterpretq_s8_u8(vshrq_n_u8(lo, 4)), eight);
  v[3] = vsubq_s8(vreinterpretq_s8_u8(vshrq_n_u8(hi, 4)), eight);
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
      const size_t off = b * sizeof(BlockQ8_0), woff = b * sizeof(BlockQ4_0);
      int8x16_t wq[2][4];
      load_q4_0_pair(cols[0] + woff, cols[1] + woff, wq[0]);
      load_q4_0_pair(cols[2] + woff, cols[3] + woff, wq[1]);
      const float32x4_t dw = f16x4_to_f32(cols, woff);
      const float32x4_t da = f16x4_to_f32(rows, off);
#pragma GCC unroll 2
      for (int p = 0; p < P; ++p) {
        int8x16_t aq[4];
        load_pair(rows[2 * p] + off, rows[2 * p + 1] + off, aq);
#pragma GCC unroll 2
        for (int q = 0; q < 2; ++q) {
          int32x4_t isum = vmmlaq_s32(vdupq_n_s32(0), aq[0], wq[q][0]);
          isum = vmmlaq_s32(isum, aq[1], wq[q][1]);
          isum = vmmlaq_s32(isum, aq[2], wq[q][2]);
          isum = vmmlaq_s32(isum, aq[3], wq[q][3]);
          const float32x4_t d = vmulq_f32(col_pair(dw, q), row_pair(da, p));
          acc[p][q] = vfmaq_f32(acc[p][q], vcvtq_f32_s32(isum), d);
        }
      }
    }
#pragma GCC unroll 2
    for (int p = 0; p < P; ++p) blocks_to_rows(acc[p], &out[2 * p], &out[2 * p + 1]);
  }
};

}  // namespace

void loci_q4_0_q8_0_gemm__i8mm(size_t m, size_t n, size_t k, const void* a, size_t a_stride, const void* w,
                               size_t w_stride, float* c, size_t c_stride) {
  for_each_tile<4>(m, n, a, a_stride, w, w_stride, c, c_stride, Tile<2>{k / loci::kQK});
}
