// K-quant helpers shared by the x86 Q4_K and Q6_K kernels, AVX2 and AVX-512
// alike: unpacking block scales and applying them through the bsums.
#pragma once

#include <cstdint>
#include <cstring>

#include "kernels/x86/x86_intrin.h"
#include "loci/dtype.h"

namespace {

// The eight 6-bit scales and mins of a Q4_K block, one per byte (byte j is
// sub-block j), unpacked from the 12-byte field with word-wide bit moves.
struct Q4KScales {
  uint64_t scales, mins;
};

inline Q4KScales q4k_scales(const uint8_t* s) {
  uint32_t u0, u1, u2;
  std::memcpy(&u0, s, 4);
  std::memcpy(&u1, s + 4, 4);
  std::memcpy(&u2, s + 8, 4);
  const uint32_t low6 = 0x3f3f3f3fu, low4 = 0x0f0f0f0fu, bits45 = 0x30303030u;
  const uint32_t sc_lo = u0 & low6, mn_lo = u1 & low6;               // sub-blocks 0..3
  const uint32_t sc_hi = (u2 & low4) | ((u0 >> 2) & bits45);         // 4..7: top 2 bits
  const uint32_t mn_hi = ((u2 >> 4) & low4) | ((u1 >> 2) & bits45);  // come from bytes 0..7
  return {sc_lo | uint64_t(sc_hi) << 32, mn_lo | uint64_t(mn_hi) << 32};
}

// The int16 min of each 16-element group (two per sub-block), lined up with
// the activation's bsums.
inline __m256i q4k_group_mins(const Q4KScales& s) {
  const __m256i pick_min =
      _mm256_setr_epi16(short(0x8000), short(0x8000), short(0x8001), short(0x8001), short(0x8002), short(0x8002),
                        short(0x8003), short(0x8003), short(0x8004), short(0x8004), short(0x8005), short(0x8005),
                        short(0x8006), short(0x8006), short(0x8007), short(0x8007));
  return _mm256_shuffle_epi8(_mm256_set1_epi64x(int64_t(s.mins)), pick_min);
}

// sum_g coeff_g * bsums_g over a Q8_K block's sixteen 16-element groups, as
// eight int32 pair sums (exact: |coeff| * |bsum| stays far below 2^31).
inline __m256i bsums_dot(__m256i coeff16, const loci::BlockQ8_K& a) {
  return _mm256_madd_epi16(coeff16, _mm256_loadu_si256(reinterpret_cast<const __m256i*>(a.bsums)));
}

// Q6_K: the sixteen int8 group scales as int16.
inline __m256i q6k_group_scales(const loci::BlockQ6_K& b) {
  return _mm256_cvtepi8_epi16(_mm_loadu_si128(reinterpret_cast<const __m128i*>(b.scales)));
}

// Q6_K quants are used unsigned (0..63); -32 * scale_g per group brings the
// offset back through the bsums (|scale| <= 128, so the product fits int16).
inline __m256i q6k_offset_coeffs(__m256i scales16) { return _mm256_mullo_epi16(scales16, _mm256_set1_epi16(-32)); }

}  // namespace
