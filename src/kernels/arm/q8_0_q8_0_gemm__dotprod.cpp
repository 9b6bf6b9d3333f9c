// Q8_0 x Q8_0 on SDOT: per block, the exact integer dot product of 32 int8
// pairs, scaled by both block scales and accumulated in block order. One float
// lane per weight row; every output takes the same lane operations (and so
// matches the ref kernel's per-block fma), whatever the tile or its position.
#include <arm_neon.h>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstring>

#include "kernels/ukernel.h"

namespace {

using loci::BlockQ8_0;

constexpr int kCols = 4;  // weight rows per tile, one per float lane

uint16_t load_u16(const uint8_t* p) {
  uint16_t h;
  std::memcpy(&h, p, sizeof h);
  return h;
}

float f16_to_f32(const uint8_t* p) {
  return vgetq_lane_f32(vcvt_f32_f16(vreinterpret_f16_u16(vdup_n_u16(load_u16(p)))), 0);
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

// R activation rows x kCols weight rows, all k.
template <int R>
struct Tile {
  size_t blocks;

  void operator()(const uint8_t* const* rows, const uint8_t* const* cols, float32x4_t* out) const {
    float32x4_t acc[R];
#pragma GCC unroll 4
    for (int r = 0; r < R; ++r) acc[r] = vdupq_n_f32(0.0f);
    for (size_t b = 0; b < blocks; ++b) {
      const size_t off = b * sizeof(BlockQ8_0);
      int8x16_t wlo[kCols], whi[kCols];
#pragma GCC unroll 4
      for (int j = 0; j < kCols; ++j) {
        wlo[j] = vld1q_s8(reinterpret_cast<const int8_t*>(cols[j] + off + offsetof(BlockQ8_0, qs)));
        whi[j] = vld1q_s8(reinterpret_cast<const int8_t*>(cols[j] + off + offsetof(BlockQ8_0, qs) + 16));
      }
      const float32x4_t dw = f16x4_to_f32(cols, off);
#pragma GCC unroll 4
      for (int r = 0; r < R; ++r) {
        const int8_t* aq = reinterpret_cast<const int8_t*>(rows[r] + off + offsetof(BlockQ8_0, qs));
        const int8x16_t alo = vld1q_s8(aq), ahi = vld1q_s8(aq + 16);
        int32x4_t p[kCols];
#pragma GCC unroll 4
        for (int j = 0; j < kCols; ++j) p[j] = vdotq_s32(vdotq_s32(vdupq_n_s32(0), wlo[j], alo), whi[j], ahi);
        const float32x4_t d = vmulq_n_f32(dw, f16_to_f32(rows[r] + off));
        acc[r] = vfmaq_f32(acc[r], vcvtq_f32_s32(reduce4(p)), d);
      }
    }
#pragma GCC unroll 4
    for (int r = 0; r < R; ++r) out[r] = acc[r];
  }
};

}  // namespace

void loci_q8_0_q8_0_gemv__dotprod(size_t m, size_t n, size_t k, const void* a, size_t a_stride, const void* w,
                                  size_t w_stride, float* c, size_t c_stride) {
  for_each_tile<1>(m, n, a, a_stride, w, w_stride, c, c_stride, Tile<1>{k / loci::kQK});
}

void loci_q8_0_q8_0_gemm__dotprod(size_t m, size_t n, size_t k, const void* a, size_t a_stride, const void* w,
                                  size_t w_stride, float* c, size_t c_stride) {
  for_each_tile<4>(m, n, a, a_stride, w, w_stride, c, c_stride, Tile<4>{k / loci::kQK});
}
