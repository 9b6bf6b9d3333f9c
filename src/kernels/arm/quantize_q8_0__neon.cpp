// Q8_0 and Q8_1 activation rows on NEON, byte-identical to the scalar
// quantize_row_q8_0 / quantize_row_q8_1 for every input (NaN and inf too):
//  - amax ignores NaNs as fmax does (FMAXNM is fmax);
//  - codes are x * (127 / amax); FCVTNS rounds ties to even, as nearbyintf,
//    and saturates to int32 like the scalar FCVTZS does; the narrow to int8
//    truncates, as the scalar int -> int8 conversion does.
#include <arm_neon.h>

#include <cstddef>
#include <cstdint>
#include <cstring>

#include "loci/dtype.h"
#include "kernels/quantize_q8_rows.h"
#include "loci/quant.h"

namespace {

constexpr size_t kQK = 32;

// Half bits of f, RNE; NaN becomes sign|0x7e00 like loci::f32_to_fp16.
uint16_t fp16_of(float f) {
  uint32_t u;
  std::memcpy(&u, &f, sizeof u);
  if (f != f) return uint16_t(((u >> 16) & 0x8000u) | 0x7e00u);
  return vget_lane_u16(vreinterpret_u16_f16(vcvt_f16_f32(vdupq_n_f32(f))), 0);
}

// x * id rounded to nearest even for 8 lanes, narrowed to int8 by truncation.
int8x8_t round_even8(float32x4_t a, float32x4_t b, float32x4_t id) {
  const int32x4_t qa = vcvtnq_s32_f32(vmulq_f32(a, id));
  const int32x4_t qb = vcvtnq_s32_f32(vmulq_f32(b, id));
  return vmovn_s16(vcombine_s16(vmovn_s32(qa), vmovn_s32(qb)));
}

// One block: writes the 32 quants, returns the float scale d and the sum of
// the stored quants.
float quantize_block(const float* x, int8_t* qs, int* sum) {
  float32x4_t v[8];
  float32x4_t m = vdupq_n_f32(0.0f);
  for (int i = 0; i < 8; ++i) {
    v[i] = vld1q_f32(x + 4 * i);
    m = vmaxnmq_f32(m, vabsq_f32(v[i]));
  }
  const float amax = vmaxnmvq_f32(m);
  const float d = amax / 127.0f;
  const float id = amax != 0.0f ? 127.0f / amax : 0.0f;
  const float32x4_t vid = vdupq_n_f32(id);
  const int8x16_t q0 = vcombine_s8(round_even8(v[0], v[1], vid), round_even8(v[2], v[3], vid));
  const int8x16_t q1 = vcombine_s8(round_even8(v[4], v[5], vid), round_even8(v[6], v[7], vid));
  vst1q_s8(qs, q0);
  vst1q_s8(qs + 16, q1);
  if (sum) *sum = int(vaddlvq_s8(q0)) + int(vaddlvq_s8(q1));
  return d;
}

// A NaN in the block: the reference's libm fmaxf treats signaling NaNs its own
// way, so such (rare) blocks go through the reference itself.
bool has_nan(const float* x) {
  uint32x4_t ok = vdupq_n_u32(~0u);
  for (int i = 0; i < 8; ++i) {
    const float32x4_t v = vld1q_f32(x + 4 * i);
    ok = vandq_u32(ok, vceqq_f32(v, v));
  }
  return vminvq_u32(ok) == 0;
}

}  // namespace

void loci_quantize_q8_0__neon(const float* x, void* y, size_t k) {
  quantize_rows_q8_0<has_nan, quantize_block, fp16_of>(x, y, k);
}

void loci_quantize_q8_1__neon(const float* x, void* y, size_t k) {
  quantize_rows_q8_1<has_nan, quantize_block, fp16_of>(x, y, k);
}
