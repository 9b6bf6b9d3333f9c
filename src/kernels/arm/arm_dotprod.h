// The SDOT dot product for the dotprod kernels. Include only from files built
// with +dotprod: the intrinsic needs it. The anonymous namespace gives each
// file its own copy, so no other level's code can be merged with it.
#pragma once

#include <arm_neon.h>

namespace {

// Dot policy (see arm_dot.h): 32 int8 pairs, exact in four int32 lanes.
struct SdotDot {
  static int32x4_t dot(int8x16_t wlo, int8x16_t whi, int8x16_t alo, int8x16_t ahi) {
    return vdotq_s32(vdotq_s32(vdupq_n_s32(0), wlo, alo), whi, ahi);
  }
};

}  // namespace
