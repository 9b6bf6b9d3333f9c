// Q4_K x Q8_K on baseline aarch64 Advanced SIMD (no SDOT). Per super-block,
// two exact integer sums per output: the scale-weighted dot product of the
// 4-bit codes with the activation (SMULL/SMLAL into int16 lanes per 32-element
// sub-block, widened and scaled in int32) and the min-weighted sum of the
// activation's per-32 sums (from its bsums). They meet the float scales as the
// ref, dotprod and i8mm kernels combine them, one float lane per weight row,
// so results do not change with the tile, the batch size or the CPU level.
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

template <typename T>
inline T load(const uint8_t* p) {
  T v;
  std::memcpy(&v, p, sizeof v);
  return v;
}

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

static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__, "scale bytes are unpacked as little-endian words");

// k_scale_min for all eight sub-blocks at once, one byte lane per sub-block:
// scales/mins 0..3 are the low six bits of bytes 0..3/4..7; 4..7 take their
// low nibble from bytes 8..11 and their top two bits from bytes 0..3/4..7.
struct ScalesMins {
  uint64_t scales, mins;
};

inline ScalesMins unpack_scales(const uint8_t* s) {
  const uint32_t lo = load<uint32_t>(s), mid = load<uint32_t>(s + 4), hi = load<uint32_t>(s + 8);
  const uint32_t sc_lo = lo & 0x3f3f3f3fu, sc_hi = (hi & 0x0f0f0f0fu) | ((lo >> 2) & 0x30303030u);
  const uint32_t mn_lo = mid & 0x3f3f3f3fu, mn_hi = ((hi >> 4) & 0x0f0f0f0fu) | ((mid >> 2) & 0x30303030u);
  return {uint64_t(sc_lo) | uint64_t(sc_hi) << 32, uint64_t(mn_lo) | uint64_t(mn_hi) << 32};
}

inline int32_t byte_of(uint64_t v, int i) { return int32_t((v >> (8 * i)) & 0xFF); }

// The activation's eight per-32 sums, from its sixteen per-16 bsums (each
// within +-2048 for a quantized block, so pairs fit int16).
inline int16x8_t sums32(const uint8_t* q8k_block) {
  const auto* bsums = reinterpret_cast<const int16_t*>(q8k_block + offsetof(BlockQ8_K, bsums));
  return vpaddq_s16(vld1q_s16(bsums), vld1q_s16(bsums + 8));
}

// 64 codes of a super-block: qs[32c ..+32] holds sub-block 2c in its low
// nibbles (lo) and sub-block 2c + 1 in its high ones (hi).
inline void unpack_chunk(const uint8_t* qs, int c, int8x16_t lo[2], int8x16_t hi[2]) {
  const uint8x16_t q0 = vld1q_u8(qs + 32 * c), q1 = vld1q_u8(qs + 32 * c + 16);
  const uint8x16_t m4 = vdupq_n_u8(0x0F);
  lo[0] = vreinterpretq_s8_u8(vandq_u8(q0, m4));
  lo[1] = vreinterpretq_s8_u8(vandq_u8(q1, m4));
  hi[0] = vreinterpretq_s8_u8(vshrq_n_u8(q0, 4));
  hi[1] = vreinterpretq_s8_u8(vshrq_n_u8(q1, 4));
}

// A sub-block's 32 products in int32 lanes. Codes are in [0, 15], so each
// int16 lane's four products stay within +-7680.
inline int32x4_t dot32(const int8x16_t w[2], int8x16_t a0, int8x16_t a1) {
  int16x8_t p = vmull_s8(vget_low_s8(w[0]), vget_low_s8(a0));
  p = vmlal_high_s8(p, w[0], a0);
  p = vmlal_s8(p, vget_low_s8(w[1]), vget_low_s8(a1));
  return vpaddlq_s16(vmlal_high_s8(p, w[1], a1));
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
      const size_t woff = b * sizeof(BlockQ4_K), aoff = b * sizeof(BlockQ8_K);
      const uint8_t* wb[kCols];
      uint64_t scales[kCols];
      int32x4_t summ[R];  // lane j: sum of min * activation sums, weight row j
      {
        int32x4_t pm[R][kCols];
#pragma GCC unroll 4
        for (int j = 0; j < kCols; ++j) {
          wb[j] = cols[j] + woff;
          const ScalesMins sm = unpack_scales(wb[j] + offsetof(BlockQ4_K, scales));
          scales[j] = sm.scales;
          const int16x8_t mins = vreinterpretq_s16_u16(vmovl_u8(vcreate_u8(sm.mins)));
#pragma GCC unroll 4
          for (int r = 0; r < R; ++r) {
            const int16x8_t s = sums32(rows[r] + aoff);
            pm[r][j] = vmlal_high_s16(vmull_s16(vget_low_s16(mins), vget_low_s16(s)), mins, s);
          }
        }
#pragma GCC unroll 4
        for (int r = 0; r < R; ++r) summ[r] = reduce4(pm[r]);
      }

      int32x4_t sumi[R][kCols];
#pragma GCC unroll 4
      for (int r = 0; r < R; ++r)
#pragma GCC unroll 4
        for (int j = 0; j < kCols; ++j) sumi[r][j] = vdupq_n_s32(0);
      for (int ch = 0; ch < 4; ++ch) {
#pragma GCC unroll 4
        for (int j = 0; j < kCols; ++j) {
          int8x16_t lo[2], hi[2];
          unpack_chunk(wb[j] + offsetof(BlockQ4_K, qs), ch, lo, hi);
          const int32_t sc_lo = byte_of(scales[j], 2 * ch), sc_hi = byte_of(scales[j], 2 * ch + 1);
#pragma GCC unroll 4
          for (int r = 0; r < R; ++r) {
            const int8_t* aq = reinterpret_cast<const int8_t*>(rows[r] + aoff + offsetof(BlockQ8_K, qs)) + 64 * ch;
            sumi[r][j] = vmlaq_n_s32(sumi[r][j], dot32(lo, vld1q_s8(aq), vld1q_s8(aq + 16)), sc_lo);
            sumi[r][j] = vmlaq_n_s32(sumi[r][j], dot32(hi, vld1q_s8(aq + 32), vld1q_s8(aq + 48)), sc_hi);
          }
        }
      }

      const float32x4_t dw = load_f16x4(cols, woff + offsetof(BlockQ4_K, d));
      const float32x4_t dmin = load_f16x4(cols, woff + offsetof(BlockQ4_K, dmin));
#pragma GCC unroll 4
      for (int r = 0; r < R; ++r) {
        const float da = load<float>(rows[r] + aoff + offsetof(BlockQ8_K, d));
        // (dw * da) * scaled - (dmin * da) * mins, then added: as the other levels.
        const float32x4_t scaled = vmulq_f32(vmulq_n_f32(dw, da), vcvtq_f32_s32(reduce4(sumi[r])));
        acc[r] = vaddq_f32(acc[r], vfmsq_f32(scaled, vmulq_n_f32(dmin, da), vcvtq_f32_s32(summ[r])));
      }
    }
#pragma GCC unroll 4
    for (int r = 0; r < R; ++r) out[r] = acc[r];
  }
};

}  // namespace

void loci_q4_k_q8_k_gemv__neon(size_t m, size_t n, size_t k, const void* a, size_t a_stride, const void* w,
                               size_t w_stride, float* c, size_t c_stride) {
  for_each_tile<1>(m, n, a, a_stride, w, w_stride, c, c_stride, Tile<1>{k / loci::kQK_K});
}

// Two rows per tile: each chunk of codes unpacked once serves both rows (four
// rows spill heavily on the 32 NEON registers).
void loci_q4_k_q8_k_gemm__neon(size_t m, size_t n, size_t k, const void* a, size_t a_stride, const void* w,
                               size_t w_stride, float* c, size_t c_stride) {
  for_each_tile<2>(m, n, a, a_stride, w, w_stride, c, c_stride, Tile<2>{k / loci::kQK_K});
}
