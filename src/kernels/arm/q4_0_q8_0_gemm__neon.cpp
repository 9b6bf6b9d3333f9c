// Q4_0 x Q8_0 on baseline aarch64 Advanced SIMD (no SDOT): per block, the
// exact integer dot product of the 32 codes (q - 8) with the int8 activations
// (SMULL/SMLAL into int16 lanes, then SADDLP), scaled by both block scales and
// accumulated in block order. One
// float lane per weight row; each output takes the same float operations as
// the ref, dotprod and i8mm kernels (one fma per block), so results do not
// change with the tile, the batch size or the CPU level.
#include <arm_neon.h>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstring>

#include "kernels/ukernel.h"

namespace {

using loci::BlockQ4_0;
using loci::BlockQ8_0;

constexpr int kCols = 4;  // weight rows per tile, one per float lane

template <typename T>
inline T load(const uint8_t* p) {
  T v;
  std::memcpy(&v, p, sizeof v);
  return v;
}

// The fp16 value at p as a float (exact: one FCVT).
inline float load_f16(const uint8_t* p) { return float(load<__fp16>(p)); }

// The fp16 scales at byte `off` of the tile's four weight rows, as floats (exact).
inline float32x4_t load_f16x4(const uint8_t* const* cols, size_t off) {
  uint16x4_t h = vdup_n_u16(0);
  h = vset_lane_u16(load<uint16_t>(cols[0] + off), h, 0);
  h = vset_lane_u16(load<uint16_t>(cols[1] + off), h, 1);
  h = vset_lane_u16(load<uint16_t>(cols[2] + off), h, 2);
  h = vset_lane_u16(load<uint16_t>(cols[3] + off), h, 3);
  return vcvt_f32_f16(vreinterpret_f16_u16(h));
}

// Lane j of the result is the sum of the lanes of p[j].
inline int32x4_t reduce4(const int32x4_t* p) {
  return vpaddq_s32(vpaddq_s32(p[0], p[1]), vpaddq_s32(p[2], p[3]));
}

// Runs `tile` over R x kCols tiles of c. Tail tiles repeat the last valid row
// or column (reads stay in bounds; the extra results are dropped), so every
// output, tail or not, takes the same operations on its own two rows only.
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

// A Q4_0 block's codes as int8 (q - 8): element j is the low nibble of qs[j]
// (lo), element j + 16 its high nibble (hi).
inline void unpack_q4_0(const uint8_t* qs, int8x16_t* lo, int8x16_t* hi) {
  const uint8x16_t q = vld1q_u8(qs);
  const int8x16_t eight = vdupq_n_s8(8);
  *lo = vsubq_s8(vreinterpretq_s8_u8(vandq_u8(q, vdupq_n_u8(0x0F))), eight);
  *hi = vsubq_s8(vreinterpretq_s8_u8(vshrq_n_u8(q, 4)), eight);
}

// The 32 products of a block pair in four int32 lanes. Codes are in [-8, 7],
// so each int16 lane's four products stay within +-4096.
inline int32x4_t block_dot(int8x16_t wlo, int8x16_t whi, int8x16_t alo, int8x16_t ahi) {
  int16x8_t p = vmull_s8(vget_low_s8(wlo), vget_low_s8(alo));
  p = vmlal_high_s8(p, wlo, alo);
  p = vmlal_s8(p, vget_low_s8(whi), vget_low_s8(ahi));
  return vpaddlq_s16(vmlal_high_s8(p, whi, ahi));
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
      const size_t woff = b * sizeof(BlockQ4_0), off = b * sizeof(BlockQ8_0);
      int8x16_t wlo[kCols], whi[kCols];
#pragma GCC unroll 4
      for (int j = 0; j < kCols; ++j) unpack_q4_0(cols[j] + woff + offsetof(BlockQ4_0, qs), &wlo[j], &whi[j]);
      const float32x4_t dw = load_f16x4(cols, woff + offsetof(BlockQ4_0, d));
#pragma GCC unroll 4
      for (int r = 0; r < R; ++r) {
        const int8_t* aq = reinterpret_cast<const int8_t*>(rows[r] + off + offsetof(BlockQ8_0, qs));
        const int8x16_t alo = vld1q_s8(aq), ahi = vld1q_s8(aq + 16);
        int32x4_t p[kCols];
#pragma GCC unroll 4
        for (int j = 0; j < kCols; ++j) p[j] = block_dot(wlo[j], whi[j], alo, ahi);
        const float da = load_f16(rows[r] + off + offsetof(BlockQ8_0, d));
        acc[r] = vfmaq_f32(acc[r], vcvtq_f32_s32(reduce4(p)), vmulq_n_f32(dw, da));
      }
    }
#pragma GCC unroll 4
    for (int r = 0; r < R; ++r) out[r] = acc[r];
  }
};

}  // namespace

void loci_q4_0_q8_0_gemv__neon(size_t m, size_t n, size_t k, const void* a, size_t a_stride, const void* w,
                               size_t w_stride, float* c, size_t c_stride) {
  for_each_tile<1>(m, n, a, a_stride, w, w_stride, c, c_stride, Tile<1>{k / loci::kQK});
}

// Four rows per tile: each weight block unpacked once serves four activation rows.
void loci_q4_0_q8_0_gemm__neon(size_t m, size_t n, size_t k, const void* a, size_t a_stride, const void* w,
                               size_t w_stride, float* c, size_t c_stride) {
  for_each_tile<4>(m, n, a, a_stride, w, w_stride, c, c_stride, Tile<4>{k / loci::kQK});
}
