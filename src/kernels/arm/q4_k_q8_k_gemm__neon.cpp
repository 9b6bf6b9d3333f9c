// Q4_K x Q8_K on baseline aarch64 Advanced SIMD (no SDOT). Per super-block,
// two exact integer sums per output: the scale-weighted dot product of the
// 4-bit codes with the activation (SMULL/SMLAL into int16 lanes per 32-element
// sub-block, widened and scaled in int32) and the min-weighted sum of the
// activation's per-32 sums (from its bsums). They meet the float scales as the
// ref, dotprod and i8mm kernels combine them, one float lane per weight row,
// so results do not change with the tile, the batch size or the CPU level.
#include <arm_neon.h>

#include <cstddef>
#include <cstdint>

#include "kernels/arm/arm_dot.h"
#include "kernels/arm/arm_kquants.h"
#include "kernels/arm/arm_lanes.h"
#include "kernels/arm/arm_tiles.h"
#include "kernels/ukernel.h"

namespace {

using loci::BlockQ4_K;
using loci::BlockQ8_K;

static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__, "scale bytes are unpacked as little-endian words");

// k_scale_min for all eight sub-blocks of one row, one byte per sub-block, as
// scalars for the by-scalar multiplies below (arm_kquants.h's Packed6 holds
// them in vector lanes): scales/mins 0..3 are the low six bits of bytes
// 0..3/4..7; 4..7 take their low nibble from bytes 8..11 and their top two
// bits from bytes 0..3/4..7.
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

// The LaneTile kernel (arm_tiles.h): adds super-block b of R activation rows
// x kCols weight rows to acc.
struct Q4_KLanes {
  static constexpr size_t kBlockElems = loci::kQK_K;

  template <int R>
  static void accumulate(const uint8_t* const* rows, const uint8_t* const* cols, size_t b, float32x4_t* acc) {
    const size_t woff = b * sizeof(BlockQ4_K), aoff = b * sizeof(BlockQ8_K);
    const uint8_t* wb[kCols];
    blocks_at(cols, woff, wb);
    uint64_t scales[kCols];
    int32x4_t summ[R];  // lane j: sum of min * activation sums, weight row j
    {
      int32x4_t pm[R][kCols];
#pragma GCC unroll 4
      for (int j = 0; j < kCols; ++j) {
        const ScalesMins sm = unpack_scales(wb[j] + offsetof(BlockQ4_K, scales));
        scales[j] = sm.scales;
        const int16x8_t mins = vreinterpretq_s16_u16(vmovl_u8(vcreate_u8(sm.mins)));
#pragma GCC unroll 4
        for (int r = 0; r < R; ++r) {
          const int16x8_t s = q8_k_sums32(rows[r] + aoff);
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
        // Sub-blocks 2ch (low nibbles) and 2ch + 1 (high nibbles).
        int8x16_t lo[2], hi[2];
        unpack_q4_k(wb[j] + offsetof(BlockQ4_K, qs) + 32 * ch, 0, &lo[0], &lo[1]);
        unpack_q4_k(wb[j] + offsetof(BlockQ4_K, qs) + 32 * ch, 1, &hi[0], &hi[1]);
        const int32_t sc_lo = byte_of(scales[j], 2 * ch), sc_hi = byte_of(scales[j], 2 * ch + 1);
#pragma GCC unroll 4
        for (int r = 0; r < R; ++r) {
          const int8_t* aq = q8_k_codes(rows[r] + aoff) + 64 * ch;
          const int32x4_t dlo = NarrowDot::dot(lo[0], lo[1], vld1q_s8(aq), vld1q_s8(aq + 16));
          const int32x4_t dhi = NarrowDot::dot(hi[0], hi[1], vld1q_s8(aq + 32), vld1q_s8(aq + 48));
          sumi[r][j] = vmlaq_n_s32(vmlaq_n_s32(sumi[r][j], dlo, sc_lo), dhi, sc_hi);
        }
      }
    }

    const float32x4_t dw = load_f16x4(cols, woff + offsetof(BlockQ4_K, d));
    const float32x4_t dmin = load_f16x4(cols, woff + offsetof(BlockQ4_K, dmin));
#pragma GCC unroll 4
    for (int r = 0; r < R; ++r) {
      const float da = q8_k_scale(rows[r] + aoff);
      acc[r] = q4_k_accumulate(acc[r], vmulq_n_f32(dw, da), vmulq_n_f32(dmin, da), reduce4(sumi[r]), summ[r]);
    }
  }
};

}  // namespace

void loci_q4_k_q8_k_gemv__neon(size_t m, size_t n, size_t k, const void* a, size_t a_stride, const void* w,
                               size_t w_stride, float* c, size_t c_stride) {
  lane_gemm<1, Q4_KLanes>(m, n, k, a, a_stride, w, w_stride, c, c_stride);
}

// Two rows per tile: each chunk of codes unpacked once serves both rows (four
// rows spill heavily on the 32 NEON registers).
void loci_q4_k_q8_k_gemm__neon(size_t m, size_t n, size_t k, const void* a, size_t a_stride, const void* w,
                               size_t w_stride, float* c, size_t c_stride) {
  lane_gemm<2, Q4_KLanes>(m, n, k, a, a_stride, w, w_stride, c, c_stride);
}
