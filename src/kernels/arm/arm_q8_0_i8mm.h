// The SMMLA kernel for products with Q8_0 activations (Q4_0 and Q8_0 weights),
// which differ only in how a pair of weight blocks becomes SMMLA operands.
// Include only from files built with +i8mm; the anonymous namespace gives each
// file its own copy.
#pragma once

#include <arm_neon.h>

#include <cstddef>
#include <cstdint>

#include "kernels/arm/arm_i8mm.h"
#include "kernels/arm/arm_lanes.h"
#include "kernels/arm/arm_q8_0.h"
#include "kernels/arm/arm_tiles.h"
#include "loci/dtype.h"

namespace {

// Pair policy: a block policy (arm_q8_0.h) whose pair(x, y, v) gives the 32
// codes of blocks x and y as four SMMLA operands (load_zip32 order).
struct Q8_0Pair : Q8_0Block {
  static void pair(const uint8_t* x, const uint8_t* y, int8x16_t* v) {
    const size_t qs = offsetof(loci::BlockQ8_0, qs);
    load_zip32(reinterpret_cast<const int8_t*>(x + qs), reinterpret_cast<const int8_t*>(y + qs), v);
  }
};

// The SmmlaTile kernel (arm_i8mm.h) for weights of pair policy W. Per block
// the integer sums are exact and meet the scales in the same per-output float
// operations as the dotprod kernels and the ref kernel, so the results match
// them bit for bit.
template <typename W>
struct Q8_0Smmla {
  static constexpr size_t kBlockElems = loci::kQK;

  template <int P>
  static void accumulate(const uint8_t* const* rows, const uint8_t* const* cols, size_t b, float32x4_t (*acc)[2]) {
    const size_t woff = b * W::kBytes, off = b * Q8_0Pair::kBytes;
    int8x16_t wq[2][4];
    W::pair(cols[0] + woff, cols[1] + woff, wq[0]);
    W::pair(cols[2] + woff, cols[3] + woff, wq[1]);
    const float32x4_t dw = load_f16x4(cols, woff + W::kScale);
    const float32x4_t da = load_f16x4(rows, off + Q8_0Pair::kScale);
#pragma GCC unroll 2
    for (int p = 0; p < P; ++p) {
      int8x16_t aq[4];
      Q8_0Pair::pair(rows[2 * p] + off, rows[2 * p + 1] + off, aq);
#pragma GCC unroll 2
      for (int q = 0; q < 2; ++q) {
        const float32x4_t d = vmulq_f32(col_pair(dw, q), row_pair(da, p));
        acc[p][q] = vfmaq_f32(acc[p][q], vcvtq_f32_s32(smmla32(aq, wq[q])), d);
      }
    }
  }
};

}  // namespace
