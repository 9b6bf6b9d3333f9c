// K-quant block decoding shared by the aarch64 Q4_K and Q6_K kernels: Q8_K
// activation fields, Q4_K's packed 6-bit scales and mins and its nibbles,
// Q6_K's 6-bit codes, and the float step that meets the integer sums. Baseline
// Advanced SIMD only, so every ISA level may include it; the anonymous
// namespace gives each file (and its -march) its own copy.
#pragma once

#include <arm_neon.h>

#include <cstddef>
#include <cstdint>

#include "kernels/arm/arm_lanes.h"
#include "loci/dtype.h"

namespace {

// The codes of the Q8_K block at `block`.
inline const int8_t* q8_k_codes(const uint8_t* block) {
  return reinterpret_cast<const int8_t*>(block + offsetof(loci::BlockQ8_K, qs));
}

// The float scale of the Q8_K block at `block`.
inline float q8_k_scale(const uint8_t* block) { return load<float>(block + offsetof(loci::BlockQ8_K, d)); }

// The activation's eight per-32 sums, lane s for sub-block s, from its sixteen
// per-16 bsums (each within +-2048 for a quantized block, so pairs fit int16).
inline int16x8_t q8_k_sums32(const uint8_t* block) {
  const auto* bsums = reinterpret_cast<const int16_t*>(block + offsetof(loci::BlockQ8_K, bsums));
  return vpaddq_s16(vld1q_s16(bsums), vld1q_s16(bsums + 8));
}

// The eight 6-bit scales or the eight 6-bit mins of a Q4_K block (as
// loci::k_scale_min decodes them) for four weight rows at once, lane j for row
// j: byte s % 4 of `lo` (s < 4) or `hi` (s >= 4) holds sub-block s's value.
struct Packed6 {
  uint32x4_t lo, hi;
};

// Words 0, 1 and 2 of each row's 12 packed bytes, lane j for row j (the
// 16-byte loads end inside the blocks' qs).
inline void packed_words(const uint8_t* const* blocks, uint32x4_t* w0, uint32x4_t* w1, uint32x4_t* w2) {
  uint32x4_t r[4];
  for (int j = 0; j < 4; ++j) r[j] = vreinterpretq_u32_u8(vld1q_u8(blocks[j] + offsetof(loci::BlockQ4_K, scales)));
  const uint32x4_t t0 = vtrn1q_u32(r[0], r[1]), t1 = vtrn2q_u32(r[0], r[1]);
  const uint32x4_t t2 = vtrn1q_u32(r[2], r[3]), t3 = vtrn2q_u32(r[2], r[3]);
  *w0 = vreinterpretq_u32_u64(vzip1q_u64(vreinterpretq_u64_u32(t0), vreinterpretq_u64_u32(t2)));
  *w1 = vreinterpretq_u32_u64(vzip1q_u64(vreinterpretq_u64_u32(t1), vreinterpretq_u64_u32(t3)));
  *w2 = vreinterpretq_u32_u64(vzip2q_u64(vreinterpretq_u64_u32(t0), vreinterpretq_u64_u32(t2)));
}

inline Packed6 q4_k_scales(const uint8_t* const* blocks) {
  uint32x4_t w0, w1, w2;
  packed_words(blocks, &w0, &w1, &w2);
  const uint32x4_t low2 = vdupq_n_u32(0x03030303);
  const uint32x4_t high2 = vshlq_n_u32(vandq_u32(vshrq_n_u32(w0, 6), low2), 4);
  return {vandq_u32(w0, vdupq_n_u32(0x3f3f3f3f)), vorrq_u32(vandq_u32(w2, vdupq_n_u32(0x0f0f0f0f)), high2)};
}

inline Packed6 q4_k_mins(const uint8_t* const* blocks) {
  uint32x4_t w0, w1, w2;
  packed_words(blocks, &w0, &w1, &w2);
  const uint32x4_t low2 = vdupq_n_u32(0x03030303);
  const uint32x4_t low4 = vandq_u32(vshrq_n_u32(w2, 4), vdupq_n_u32(0x0f0f0f0f));
  const uint32x4_t high2 = vshlq_n_u32(vandq_u32(vshrq_n_u32(w1, 6), low2), 4);
  return {vandq_u32(w1, vdupq_n_u32(0x3f3f3f3f)), vorrq_u32(low4, high2)};
}

// Sub-block s's value, as int32 lanes.
inline int32x4_t sub_block_value(const Packed6& p, int s) {
  const uint32x4_t v = s < 4 ? p.lo : p.hi;
  uint32x4_t shifted;
  switch (s % 4) {
    case 0: shifted = v; break;
    case 1: shifted = vshrq_n_u32(v, 8); break;
    case 2: shifted = vshrq_n_u32(v, 16); break;
    default: shifted = vshrq_n_u32(v, 24); break;
  }
  return vreinterpretq_s32_u32(vandq_u32(shifted, vdupq_n_u32(0xFF)));
}

// Sum over sub-blocks s of min[s] * (the activation's sum over sub-block s),
// lane j for weight row j.
inline int32x4_t min_sums(const Packed6& mins, const uint8_t* q8k_block) {
  const int16x8_t sums = q8_k_sums32(q8k_block);
  const int32x4_t lo = vmovl_s16(vget_low_s16(sums)), hi = vmovl_high_s16(sums);
  int32x4_t m = vmulq_laneq_s32(sub_block_value(mins, 0), lo, 0);
  m = vmlaq_laneq_s32(m, sub_block_value(mins, 1), lo, 1);
  m = vmlaq_laneq_s32(m, sub_block_value(mins, 2), lo, 2);
  m = vmlaq_laneq_s32(m, sub_block_value(mins, 3), lo, 3);
  m = vmlaq_laneq_s32(m, sub_block_value(mins, 4), hi, 0);
  m = vmlaq_laneq_s32(m, sub_block_value(mins, 5), hi, 1);
  m = vmlaq_laneq_s32(m, sub_block_value(mins, 6), hi, 2);
  return vmlaq_laneq_s32(m, sub_block_value(mins, 7), hi, 3);
}

// The 32 codes of one Q4_K sub-block from the 32 bytes at qs (qs[32c ..+32]
// holds sub-block 2c in its low nibbles and 2c + 1 in its high ones): the low
// nibbles (high == 0) or the high ones, elements 0-15 in lo and 16-31 in hi.
inline void unpack_q4_k(const uint8_t* qs, int high, int8x16_t* lo, int8x16_t* hi) {
  const uint8x16_t raw0 = vld1q_u8(qs), raw1 = vld1q_u8(qs + 16);
  if (high == 0) {
    *lo = vreinterpretq_s8_u8(vandq_u8(raw0, vdupq_n_u8(0xF)));
    *hi = vreinterpretq_s8_u8(vandq_u8(raw1, vdupq_n_u8(0xF)));
  } else {
    *lo = vreinterpretq_s8_u8(vshrq_n_u8(raw0, 4));
    *hi = vreinterpretq_s8_u8(vshrq_n_u8(raw1, 4));
  }
}

// acc + (d * sumi - dm * summ): a Q4_K super-block's scale-weighted and
// min-weighted integer sums meet d = dw * da and dm = dmin * da as in the ref.
inline float32x4_t q4_k_accumulate(float32x4_t acc, float32x4_t d, float32x4_t dm, int32x4_t sumi, int32x4_t summ) {
  return vaddq_f32(acc, vfmsq_f32(vmulq_f32(d, vcvtq_f32_s32(sumi)), dm, vcvtq_f32_s32(summ)));
}

// Quarter t of 32 Q6_K elements as int8 q - 32, from the 16 or 32 bytes of
// ql (l) and qh (h) that hold them: element i takes nibble t / 2 of l[i] and
// bits 2t..2t+1 of h[i]. In each 128-element half of a block, quarter t of
// element l (l < 32) is in ql[l + 32 * (t % 2)] and qh[l].
inline int8x16_t q6_k_quarter(uint8x16_t l, uint8x16_t h, int t) {
  const uint8x16_t low = t / 2 == 0 ? vandq_u8(l, vdupq_n_u8(0xF)) : vshrq_n_u8(l, 4);
  uint8x16_t high;  // bits 2t..2t+1 of h moved to bits 4..5
  switch (t) {
    case 0: high = vshlq_n_u8(h, 4); break;
    case 1: high = vshlq_n_u8(h, 2); break;
    case 2: high = h; break;
    default: high = vshrq_n_u8(h, 2); break;
  }
  const uint8x16_t q = vorrq_u8(low, vandq_u8(high, vdupq_n_u8(0x30)));
  return vsubq_s8(vreinterpretq_s8_u8(q), vdupq_n_s8(32));
}

// Group g (elements 16g..16g+15) of the Q6_K block at `block` as int8 q - 32.
inline int8x16_t unpack_q6_k(const uint8_t* block, int g) {
  const int half = g / 8, t = (g % 8) / 2, l0 = 16 * (g % 2);
  const uint8x16_t l = vld1q_u8(block + offsetof(loci::BlockQ6_K, ql) + 64 * half + 32 * (t % 2) + l0);
  const uint8x16_t h = vld1q_u8(block + offsetof(loci::BlockQ6_K, qh) + 32 * half + l0);
  return q6_k_quarter(l, h, t);
}

}  // namespace
