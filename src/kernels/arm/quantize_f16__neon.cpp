// F16 and BF16 activation rows on NEON, bit-identical to the scalar
// convert_row_f32_to_f16 / _bf16 for every input. FCVTN rounds in the current
// mode (nearest even by default), as loci::f32_to_fp16 does for finite values
// and infinities; a NaN keeps its sign and becomes 0x7e00 there (FCVTN would
// keep payload bits), so NaN lanes are patched.
#include <arm_neon.h>

#include <cstddef>
#include <cstdint>
#include <cstring>

namespace {

uint16x4_t to_f16(float32x4_t x) {
  const uint16x4_t h = vreinterpret_u16_f16(vcvt_f16_f32(x));
  const uint32x4_t u = vreinterpretq_u32_f32(x);
  const uint16x4_t fix = vorr_u16(vshrn_n_u32(vandq_u32(u, vdupq_n_u32(0x80000000u)), 16), vdup_n_u16(0x7e00));
  const uint16x4_t nan = vmovn_u32(vmvnq_u32(vceqq_f32(x, x)));
  return vbsl_u16(nan, fix, h);
}

// (u + 0x7fff + lsb) >> 16, round to nearest even; NaN: (u >> 16) | 64.
uint16x4_t to_bf16(float32x4_t x) {
  const uint32x4_t u = vreinterpretq_u32_f32(x);
  const uint32x4_t lsb = vandq_u32(vshrq_n_u32(u, 16), vdupq_n_u32(1));
  const uint16x4_t r = vshrn_n_u32(vaddq_u32(u, vaddq_u32(lsb, vdupq_n_u32(0x7fff))), 16);
  const uint16x4_t q = vorr_u16(vshrn_n_u32(u, 16), vdup_n_u16(64));
  const uint16x4_t nan = vmovn_u32(vmvnq_u32(vceqq_f32(x, x)));
  return vbsl_u16(nan, q, r);
}

template <uint16x4_t (*Convert)(float32x4_t)>
void convert_row(const float* x, void* y, size_t n) {
  auto* out = static_cast<uint16_t*>(y);
  size_t i = 0;
  for (; i + 4 <= n; i += 4) vst1_u16(out + i, Convert(vld1q_f32(x + i)));
  if (i < n) {  // the tail goes through a zero-padded copy
    float in[4] = {};
    uint16_t res[4];
    std::memcpy(in, x + i, (n - i) * sizeof(float));
    vst1_u16(res, Convert(vld1q_f32(in)));
    std::memcpy(out + i, res, (n - i) * sizeof(uint16_t));
  }
}

}  // namespace

void loci_quantize_f16__neon(const float* x, void* y, size_t n) { convert_row<to_f16>(x, y, n); }
void loci_quantize_bf16__neon(const float* x, void* y, size_t n) { convert_row<to_bf16>(x, y, n); }
