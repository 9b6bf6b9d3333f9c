// Exact dot products of 32 int8 pairs into four int32 lanes without SDOT, for
// the baseline Advanced SIMD kernels (SDOT versions are in arm_dotprod.h).
// Each is a Dot policy: dot(wlo, whi, alo, ahi) takes elements 0-15 in lo and
// 16-31 in hi. The anonymous namespace gives each file its own copy.
#pragma once

#include <arm_neon.h>

namespace {

// For weight codes of at most 4-bit magnitude (Q4_0's q - 8 in [-8, 7], Q4_K's
// q in [0, 15]): each int16 lane sums four products, within +-7680, and is
// widened once at the end.
struct NarrowDot {
  static int32x4_t dot(int8x16_t wlo, int8x16_t whi, int8x16_t alo, int8x16_t ahi) {
    int16x8_t p = vmull_s8(vget_low_s8(wlo), vget_low_s8(alo));
    p = vmlal_high_s8(p, wlo, alo);
    p = vmlal_s8(p, vget_low_s8(whi), vget_low_s8(ahi));
    return vpaddlq_s16(vmlal_high_s8(p, whi, ahi));
  }
};

// For full-range int8 codes (Q8_0): each SMULL product is widened at once
// (SADALP), as two of them overflow int16 when all four codes are -128.
struct WideDot {
  static int32x4_t dot(int8x16_t wlo, int8x16_t whi, int8x16_t alo, int8x16_t ahi) {
    int32x4_t s = vpaddlq_s16(vmull_s8(vget_low_s8(wlo), vget_low_s8(alo)));
    s = vpadalq_s16(s, vmull_high_s8(wlo, alo));
    s = vpadalq_s16(s, vmull_s8(vget_low_s8(whi), vget_low_s8(ahi)));
    return vpadalq_s16(s, vmull_high_s8(whi, ahi));
  }
};

}  // namespace
