// Q8_K activation rows on NEON, byte-identical to the scalar
// quantize_row_q8_k for every input (NaN and inf too):
//  - max is the first element of largest magnitude (NaNs never win), as the
//    scalar strict-greater scan picks;
//  - FRINTI rounds in the current mode, as nearbyintf does, and FCVTZS then
//    saturates like the scalar conversion; the clamp at 127 and a truncating
//    narrow follow the scalar int -> int8 code.
#include <arm_neon.h>

#include <cstddef>
#include <cstdint>
#include <cstring>

#include "loci/dtype.h"

namespace {

constexpr size_t kQK_K = 256;

// The signed element of largest magnitude, the first one on ties; 0 if all are
// 0 or NaN. Lanes keep |x| only when strictly greater, as the scalar scan does,
// so NaNs never win; the search is bounded to the block whatever the floats say.
float signed_max(const float* x) {
  float32x4_t m = vdupq_n_f32(0.0f);
  for (size_t i = 0; i < kQK_K; i += 4) {
    const float32x4_t a = vabsq_f32(vld1q_f32(x + i));
    m = vbslq_f32(vcgtq_f32(a, m), a, m);
  }
  float lanes[4];
  vst1q_f32(lanes, m);
  float amax = 0.0f;
  for (float l : lanes) amax = l > amax ? l : amax;
  if (amax == 0.0f) return 0.0f;
  for (size_t j = 0; j < kQK_K; ++j)
    if (__builtin_fabsf(x[j]) == amax) return x[j];
  return 0.0f;  // unreachable: amax is some |x[j]|
}

int32x4_t quantize4(const float* x, float32x4_t scale) {
  const int32x4_t q = vcvtq_s32_f32(vrndiq_f32(vmulq_f32(scale, vld1q_f32(x))));
  return vminq_s32(q, vdupq_n_s32(127));
}

void quantize_block(const float* x, loci::BlockQ8_K* y) {
  const float max = signed_max(x);
  if (max == 0.0f) {
    std::memset(y, 0, sizeof *y);
    return;
  }
  const float iscale = -127.0f / max;
  const float32x4_t vs = vdupq_n_f32(iscale);
  for (size_t g = 0; g < kQK_K / 16; ++g) {
    const float* xg = x + 16 * g;
    const int16x8_t lo = vcombine_s16(vmovn_s32(quantize4(xg, vs)), vmovn_s32(quantize4(xg + 4, vs)));
    const int16x8_t hi = vcombine_s16(vmovn_s32(quantize4(xg + 8, vs)), vmovn_s32(quantize4(xg + 12, vs)));
    const int8x16_t q = vcombine_s8(vmovn_s16(lo), vmovn_s16(hi));
    vst1q_s8(y->qs + 16 * g, q);
    y->bsums[g] = vaddlvq_s8(q);
  }
  y->d = 1.0f / iscale;
}

}  // namespace

void loci_quantize_q8_k__neon(const float* x, void* y, size_t k) {
  auto* out = static_cast<loci::BlockQ8_K*>(y);
  for (size_t b = 0; b < k / kQK_K; ++b) quantize_block(x + b * kQK_K, out + b);
}
