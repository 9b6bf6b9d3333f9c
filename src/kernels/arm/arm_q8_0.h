// Products with Q8_0 activations (Q4_0 and Q8_0 weights) on aarch64: the two
// 32-element block formats as policies, and the lane kernel that the NEON and
// dotprod kernels share, which differ only in their Dot policy (arm_dot.h,
// arm_dotprod.h). Baseline Advanced SIMD only; the anonymous namespace gives
// each file (and its -march) its own copy.
#pragma once

#include <arm_neon.h>

#include <cstddef>
#include <cstdint>

#include "kernels/arm/arm_lanes.h"
#include "kernels/arm/arm_tiles.h"
#include "loci/dtype.h"

namespace {

// Block policy: kBytes per block, its fp16 scale at kScale, and codes() for
// its 32 codes as int8, elements 0-15 in lo and 16-31 in hi.
struct Q8_0Block {
  static constexpr size_t kBytes = sizeof(loci::BlockQ8_0);
  static constexpr size_t kScale = offsetof(loci::BlockQ8_0, d);
  static void codes(const uint8_t* block, int8x16_t* lo, int8x16_t* hi) {
    const int8_t* qs = reinterpret_cast<const int8_t*>(block + offsetof(loci::BlockQ8_0, qs));
    *lo = vld1q_s8(qs);
    *hi = vld1q_s8(qs + 16);
  }
};

// Codes q - 8: element j is the low nibble of qs[j], element j + 16 its high one.
struct Q4_0Block {
  static constexpr size_t kBytes = sizeof(loci::BlockQ4_0);
  static constexpr size_t kScale = offsetof(loci::BlockQ4_0, d);
  static void codes(const uint8_t* block, int8x16_t* lo, int8x16_t* hi) {
    const uint8x16_t q = vld1q_u8(block + offsetof(loci::BlockQ4_0, qs));
    const int8x16_t eight = vdupq_n_s8(8);
    *lo = vsubq_s8(vreinterpretq_s8_u8(vandq_u8(q, vdupq_n_u8(0x0F))), eight);
    *hi = vsubq_s8(vreinterpretq_s8_u8(vshrq_n_u8(q, 4)), eight);
  }
};

// The LaneTile kernel (arm_tiles.h) for weights of block format W. Per block,
// the exact integer dot product meets both scales in one fma, in block order:
// the ref kernel's float operations, so every level and tile shape gives the
// same bits.
template <typename W, typename Dot>
struct Q8_0Lanes {
  static constexpr size_t kBlockElems = loci::kQK;

  template <int R>
  static void accumulate(const uint8_t* const* rows, const uint8_t* const* cols, size_t b, float32x4_t* acc) {
    const size_t woff = b * W::kBytes, off = b * Q8_0Block::kBytes;
    int8x16_t wlo[kCols], whi[kCols];
#pragma GCC unroll 4
    for (int j = 0; j < kCols; ++j) W::codes(cols[j] + woff, &wlo[j], &whi[j]);
    const float32x4_t dw = load_f16x4(cols, woff + W::kScale);
#pragma GCC unroll 4
    for (int r = 0; r < R; ++r) {
      int8x16_t alo, ahi;
      Q8_0Block::codes(rows[r] + off, &alo, &ahi);
      int32x4_t p[kCols];
#pragma GCC unroll 4
      for (int j = 0; j < kCols; ++j) p[j] = Dot::dot(wlo[j], whi[j], alo, ahi);
      const float da = load_f16(rows[r] + off + Q8_0Block::kScale);
      acc[r] = vfmaq_f32(acc[r], vcvtq_f32_s32(reduce4(p)), vmulq_n_f32(dw, da));
    }
  }
};

}  // namespace
