// Q6_K x Q8_K on baseline aarch64 Advanced SIMD (no SDOT). Per super-block,
// one exact integer sum per output: the 6-bit codes rebuilt from ql/qh as int8
// (q - 32) meet the activation in SMULL/SMLAL int16 lanes per 16-element group,
// widened to int32 by the group's int8 scale. It meets the float scales as the
// ref, dotprod and i8mm kernels combine them, one float lane per weight row,
// so results do not change with the tile, the batch size or the CPU level.
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

// Four 16-element groups of half h of a super-block. Within a half, quarter t
// takes nibble t / 2 of ql[32 * (t % 2) ..+32] and bits 2t..2t+1 of qh; pass P
// reads ql[32P ..+32] once and yields quarters P (groups 2P, 2P+1) and P + 2
// (groups 2P+4, 2P+5), in that order.
template <int P>
inline void decode_pass(const uint8_t* block, int h, int8x16_t q[4]) {
  const uint8_t* ql = block + offsetof(BlockQ6_K, ql) + 64 * h + 32 * P;
  const uint8_t* qh = block + offsetof(BlockQ6_K, qh) + 32 * h;
  const uint8x16_t l0 = vld1q_u8(ql), l1 = vld1q_u8(ql + 16);
  const uint8x16_t h0 = vld1q_u8(qh), h1 = vld1q_u8(qh + 16);
  const uint8x16_t m4 = vdupq_n_u8(0x0F), m2 = vdupq_n_u8(0x30);
  const int8x16_t bias = vdupq_n_s8(32);
  // The two high bits of quarter t go to bits 4..5: a shift left by 4 - 2t.
  const uint8x16_t lo_bits0 = P == 0 ? vshlq_n_u8(h0, 4) : vshlq_n_u8(h0, 2);
  const uint8x16_t lo_bits1 = P == 0 ? vshlq_n_u8(h1, 4) : vshlq_n_u8(h1, 2);
  const uint8x16_t hi_bits0 = P == 0 ? h0 : vshrq_n_u8(h0, 2);
  const uint8x16_t hi_bits1 = P == 0 ? h1 : vshrq_n_u8(h1, 2);
  q[0] = vsubq_s8(vreinterpretq_s8_u8(vorrq_u8(vandq_u8(l0, m4), vandq_u8(lo_bits0, m2))), bias);
  q[1] = vsubq_s8(vreinterpretq_s8_u8(vorrq_u8(vandq_u8(l1, m4), vandq_u8(lo_bits1, m2))), bias);
  q[2] = vsubq_s8(vreinterpretq_s8_u8(vorrq_u8(vshrq_n_u8(l0, 4), vandq_u8(hi_bits0, m2))), bias);
  q[3] = vsubq_s8(vreinterpretq_s8_u8(vorrq_u8(vshrq_n_u8(l1, 4), vandq_u8(hi_bits1, m2))), bias);
}

// acc += scale[L] * (the 16 products of group w x a). |q| <= 32, so two
// products per int16 lane fit; the scale multiply widens to int32.
template <int L>
inline int32x4_t mac_group(int32x4_t acc, int8x16_t w, int8x16_t a, int16x8_t scales) {
  const int16x8_t p = vmlal_high_s8(vmull_s8(vget_low_s8(w), vget_low_s8(a)), w, a);
  acc = vmlal_laneq_s16(acc, vget_low_s16(p), scales, L);
  return vmlal_high_laneq_s16(acc, p, scales, L);
}

// Adds groups 2P, 2P+1, 2P+4 and 2P+5 of half h to every output of the tile,
// one weight row at a time so only its four decoded groups are live.
template <int P, int R>
inline void accumulate_pass(const uint8_t* const* rows, size_t aoff, const uint8_t* const* wb, int h,
                            int32x4_t (&sumi)[R][kCols]) {
#pragma GCC unroll 4
  for (int j = 0; j < kCols; ++j) {
    int8x16_t q[4];
    decode_pass<P>(wb[j], h, q);
    // The half's eight group scales, widened: lane g is group 8h + g.
    const auto* scales = reinterpret_cast<const int8_t*>(wb[j] + offsetof(BlockQ6_K, scales));
    const int16x8_t sc = vmovl_s8(vld1_s8(scales + 8 * h));
#pragma GCC unroll 4
    for (int r = 0; r < R; ++r) {
      const int8_t* aq = reinterpret_cast<const int8_t*>(rows[r] + aoff + offsetof(BlockQ8_K, qs)) + 128 * h + 32 * P;
      int32x4_t s = mac_group<2 * P>(sumi[r][j], q[0], vld1q_s8(aq), sc);
      s = mac_group<2 * P + 1>(s, q[1], vld1q_s8(aq + 16), sc);
      s = mac_group<2 * P + 4>(s, q[2], vld1q_s8(aq + 64), sc);
      sumi[r][j] = mac_group<2 * P + 5>(s, q[3], vld1q_s8(aq + 80), sc);
    }
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
      const size_t woff = b * sizeof(BlockQ6_K), aoff = b * sizeof(BlockQ8_K);
      const uint8_t* wb[kCols];
#pragma GCC unroll 4
      for (int j = 0; j < kCols; ++j) wb[j] = cols[j] + woff;
      int32x4_t sumi[R][kCols];
#pragma GCC unroll 4
      for (int r = 0; r < R; ++r)
#pragma GCC unroll 4
        for (int j = 0; j < kCols; ++j) sumi[r][j] = vdupq_n_s32(0);
      for (int h = 0; h < 2; ++h) {
        accumulate_pass<0>(rows, aoff, wb, h, sumi);
        accumulate_pass<1>(rows, aoff, wb, h, sumi);
      }

      const float32x4_t dw = load_f16x4(cols, woff + offsetof(BlockQ6_K, d));
#pragma GCC unroll 4
      for (int r = 0; r < R; ++r) {
        const float da = load<float>(rows[r] + aoff + offsetof(BlockQ8_K, d));
        acc[r] = vfmaq_f32(acc[r], vmulq_n_f32(dw, da), vcvtq_f32_s32(reduce4(sumi[r])));
      }
    }
#pragma GCC unroll 4
    for (int r = 0; r < R; ++r) out[r] = acc[r];
  }
};

}  // namespace

void loci_q6_k_q8_k_gemv__neon(size_t m, size_t n, size_t k, const void* a, size_t a_stride, const void* w,
                               size_t w_stride, float* c, size_t c_stride) {
  for_each_tile<1>(m, n, a, a_stride, w, w_stride, c, c_stride, Tile<1>{k / loci::kQK_K});
}

// Two rows per tile: each group of codes decoded once serves both rows (four
// rows spill heavily on the 32 NEON registers).
void loci_q6_k_q8_k_gemm__neon(size_t m, size_t n, size_t k, const void* a, size_t a_stride, const void* w,
                               size_t w_stride, float* c, size_t c_stride) {
  for_each_tile<2>(m, n, a, a_stride, w, w_stride, c, c_stride, Tile<2>{k / loci::kQK_K});
}
