// SMMLA data layout for the i8mm kernels. SMMLA works on 2 x 2 blocks of
// outputs, lanes (row 0, col 0), (row 0, col 1), (row 1, col 0), (row 1, col 1),
// reading eight bytes of each of two rows per operand; these helpers move
// between that layout and one-lane-per-column rows, and SmmlaTile is the
// micro-tile that keeps its sums in it. Include only from files built with
// +i8mm; the anonymous namespace gives each file its own copy.
#pragma once

#include <arm_neon.h>

#include <cstddef>
#include <cstdint>

#include "kernels/arm/arm_tiles.h"

namespace {

// [x.lo, y.lo] and [x.hi, y.hi]: eight bytes of two rows, as SMMLA reads them.
inline int8x16_t zip_lo(int8x16_t x, int8x16_t y) {
  return vreinterpretq_s8_s64(vzip1q_s64(vreinterpretq_s64_s8(x), vreinterpretq_s64_s8(y)));
}
inline int8x16_t zip_hi(int8x16_t x, int8x16_t y) {
  return vreinterpretq_s8_s64(vzip2q_s64(vreinterpretq_s64_s8(x), vreinterpretq_s64_s8(y)));
}

// The 32 bytes at x and at y as four SMMLA operands: bytes 0-7, 8-15, 16-23
// and 24-31 of both.
inline void load_zip32(const int8_t* x, const int8_t* y, int8x16_t* v) {
  const int8x16_t x0 = vld1q_s8(x), x1 = vld1q_s8(x + 16), y0 = vld1q_s8(y), y1 = vld1q_s8(y + 16);
  v[0] = zip_lo(x0, y0);
  v[1] = zip_hi(x0, y0);
  v[2] = zip_lo(x1, y1);
  v[3] = zip_hi(x1, y1);
}

// The 2 x 2 integer dot products of 32 bytes, a and w as load_zip32 makes them.
inline int32x4_t smmla32(const int8x16_t* a, const int8x16_t* w) {
  int32x4_t s = vmmlaq_s32(vdupq_n_s32(0), a[0], w[0]);
  s = vmmlaq_s32(s, a[1], w[1]);
  s = vmmlaq_s32(s, a[2], w[2]);
  return vmmlaq_s32(s, a[3], w[3]);
}

// Per-column values v (lane j = column j) for column pair q, in 2 x 2 layout.
inline float32x4_t col_pair(float32x4_t v, int q) {
  return q == 0 ? vcombine_f32(vget_low_f32(v), vget_low_f32(v)) : vcombine_f32(vget_high_f32(v), vget_high_f32(v));
}
// Per-row values v (lane i = row i) for row pair p, in 2 x 2 layout.
inline float32x4_t row_pair(float32x4_t v, int p) { return p == 0 ? vzip1q_f32(v, v) : vzip2q_f32(v, v); }

// Rows 2p and 2p + 1 of a tile held as 2 x 2 blocks acc_p[0] (columns 0, 1)
// and acc_p[1] (columns 2, 3).
inline void blocks_to_rows(const float32x4_t* acc_p, float32x4_t* row0, float32x4_t* row1) {
  *row0 = vcombine_f32(vget_low_f32(acc_p[0]), vget_low_f32(acc_p[1]));
  *row1 = vcombine_f32(vget_high_f32(acc_p[0]), vget_high_f32(acc_p[1]));
}

// 2P activation rows x kCols weight rows over all k, the sums held as 2 x 2
// blocks acc[p][q] (rows 2p, 2p + 1 x columns 2q, 2q + 1) and accumulated one
// weight block at a time. K supplies kBlockElems and accumulate<P>(rows, cols,
// b, acc), which adds block b's products to acc.
template <int P, typename K>
struct SmmlaTile {
  size_t blocks;

  void operator()(const uint8_t* const* rows, const uint8_t* const* cols, float32x4_t* out) const {
    float32x4_t acc[P][2];
#pragma GCC unroll 2
    for (int p = 0; p < P; ++p) acc[p][0] = acc[p][1] = vdupq_n_f32(0.0f);
    for (size_t b = 0; b < blocks; ++b) K::template accumulate<P>(rows, cols, b, acc);
#pragma GCC unroll 2
    for (int p = 0; p < P; ++p) blocks_to_rows(acc[p], &out[2 * p], &out[2 * p + 1]);
  }
};

// c = a * w^T in SmmlaTile<2, K> tiles: four activation rows.
template <typename K>
void smmla_gemm(size_t m, size_t n, size_t k, const void* a, size_t a_stride, const void* w, size_t w_stride,
                float* c, size_t c_stride) {
  for_each_tile<4>(m, n, a, a_stride, w, w_stride, c, c_stride, SmmlaTile<2, K>{k / K::kBlockElems});
}

}  // namespace
