// Q6_K x Q8_K on baseline aarch64 Advanced SIMD (no SDOT). Per super-block,
// one exact integer sum per output: the 6-bit codes rebuilt from ql/qh as int8
// (q - 32) meet the activation in SMULL/SMLAL int16 lanes per 16-element group,
// widened to int32 by the group's int8 scale. It meets the float scales as the
// ref, dotprod and i8mm kernels combine them, one float lane per weight row,
// so results do not change with the tile, the batch size or the CPU level.
#include <arm_neon.h>

#include <cstddef>
#include <cstdint>

#include "kernels/arm/arm_kquants.h"
#include "kernels/arm/arm_lanes.h"
#include "kernels/arm/arm_tiles.h"
#include "kernels/ukernel.h"

namespace {

using loci::BlockQ6_K;
using loci::BlockQ8_K;

// acc += scale[L] * (the 16 products of group w x a). |q| <= 32, so two
// products per int16 lane fit; the scale multiply widens to int32.
template <int L>
inline int32x4_t mac_group(int32x4_t acc, int8x16_t w, int8x16_t a, int16x8_t scales) {
  const int16x8_t p = vmlal_high_s8(vmull_s8(vget_low_s8(w), vget_low_s8(a)), w, a);
  acc = vmlal_laneq_s16(acc, vget_low_s16(p), scales, L);
  return vmlal_high_laneq_s16(acc, p, scales, L);
}

// Adds groups 2P, 2P+1, 2P+4 and 2P+5 of half h (the two quarters that share
// ql[32P ..+32]) to every output of the tile, one weight row at a time so only
// its four decoded groups are live.
template <int P, int R>
inline void accumulate_pass(const uint8_t* const* rows, size_t aoff, const uint8_t* const* wb, int h,
                            int32x4_t (&sumi)[R][kCols]) {
#pragma GCC unroll 4
  for (int j = 0; j < kCols; ++j) {
    // Quarters P and P + 2 of the half share their ql bytes: one load serves both.
    const uint8_t* ql = wb[j] + offsetof(BlockQ6_K, ql) + 64 * h + 32 * P;
    const uint8_t* qh = wb[j] + offsetof(BlockQ6_K, qh) + 32 * h;
    const uint8x16_t l0 = vld1q_u8(ql), l1 = vld1q_u8(ql + 16), h0 = vld1q_u8(qh), h1 = vld1q_u8(qh + 16);
    const int8x16_t q[4] = {q6_k_quarter(l0, h0, P), q6_k_quarter(l1, h1, P), q6_k_quarter(l0, h0, P + 2),
                            q6_k_quarter(l1, h1, P + 2)};
    // The half's eight group scales, widened: lane g is group 8h + g.
    const auto* scales = reinterpret_cast<const int8_t*>(wb[j] + offsetof(BlockQ6_K, scales));
    const int16x8_t sc = vmovl_s8(vld1_s8(scales + 8 * h));
#pragma GCC unroll 4
    for (int r = 0; r < R; ++r) {
      const int8_t* aq = q8_k_codes(rows[r] + aoff) + 128 * h + 32 * P;
      int32x4_t s = mac_group<2 * P>(sumi[r][j], q[0], vld1q_s8(aq), sc);
      s = mac_group<2 * P + 1>(s, q[1], vld1q_s8(aq + 16), sc);
      s = mac_group<2 * P + 4>(s, q[2], vld1q_s8(aq + 64), sc);
      sumi[r][j] = mac_group<2 * P + 5>(s, q[3], vld1q_s8(aq + 80), sc);
    }
  }
}

// The LaneTile kernel (arm_tiles.h): adds super-block b of R activation rows
// x kCols weight rows to acc.
struct Q6_KLanes {
  static constexpr size_t kBlockElems = loci::kQK_K;

  template <int R>
  static void accumulate(const uint8_t* const* rows, const uint8_t* const* cols, size_t b, float32x4_t* acc) {
    const size_t woff = b * sizeof(BlockQ6_K), aoff = b * sizeof(BlockQ8_K);
    const uint8_t* wb[kCols];
    blocks_at(cols, woff, wb);
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
      const float da = q8_k_scale(rows[r] + aoff);
      acc[r] = vfmaq_f32(acc[r], vmulq_n_f32(dw, da), vcvtq_f32_s32(reduce4(sumi[r])));
    }
  }
};

}  // namespace

void loci_q6_k_q8_k_gemv__neon(size_t m, size_t n, size_t k, const void* a, size_t a_stride, const void* w,
                               size_t w_stride, float* c, size_t c_stride) {
  lane_gemm<1, Q6_KLanes>(m, n, k, a, a_stride, w, w_stride, c, c_stride);
}

// Two rows per tile: each group of codes decoded once serves both rows (four
// rows spill heavily on the 32 NEON registers).
void loci_q6_k_q8_k_gemm__neon(size_t m, size_t n, size_t k, const void* a, size_t a_stride, const void* w,
                               size_t w_stride, float* c, size_t c_stride) {
  lane_gemm<2, Q6_KLanes>(m, n, k, a, a_stride, w, w_stride, c, c_stride);
}
