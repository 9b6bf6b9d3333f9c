// Q8_K activation rows on AVX2, byte-identical to the scalar
// quantize_row_q8_k for every input (NaN and inf too):
//  - max is the first element of largest magnitude (NaNs never win), as the
//    scalar strict-greater scan picks;
//  - vcvtps2dq rounds in the current mode, as nearbyintf does; NaN and
//    overflow give INT32_MIN, then the int clamp at 127 and a truncating
//    narrow, as the scalar int -> int8 code does on x86.
#include "kernels/x86/x86_intrin.h"

#include <cstddef>
#include <cstdint>
#include <cstring>

#include "loci/dtype.h"

namespace {

constexpr size_t kQK_K = 256;

__m256 abs_ps(__m256 v) { return _mm256_andnot_ps(_mm256_set1_ps(-0.0f), v); }

// The signed element of largest magnitude, the first one on ties; 0 if all are 0 (or NaN).
float signed_max(const float* x) {
  __m256 m = _mm256_setzero_ps();
  for (size_t i = 0; i < kQK_K; i += 8) m = _mm256_max_ps(abs_ps(_mm256_loadu_ps(x + i)), m);
  __m128 m4 = _mm_max_ps(_mm256_castps256_ps128(m), _mm256_extractf128_ps(m, 1));
  m4 = _mm_max_ps(m4, _mm_movehl_ps(m4, m4));
  m4 = _mm_max_ss(m4, _mm_movehdup_ps(m4));
  const float amax = _mm_cvtss_f32(m4);
  if (amax == 0.0f) return 0.0f;
  const __m256 target = _mm256_set1_ps(amax);
  for (size_t i = 0; i < kQK_K; i += 8) {  // bounded: never trust a float invariant to stop a scan
    const int hit = _mm256_movemask_ps(_mm256_cmp_ps(abs_ps(_mm256_loadu_ps(x + i)), target, _CMP_EQ_OQ));
    if (hit) return x[i + size_t(__builtin_ctz(unsigned(hit)))];
  }
  return 0.0f;  // unreachable: amax is some |x[j]|
}

// 16 quants: clamp at 127, keep the low byte of each lane (a truncating narrow).
__m128i quantize16(const float* x, __m256 scale) {
  const __m256i hi = _mm256_set1_epi32(127), low = _mm256_set1_epi32(0xff);
  const __m256i a = _mm256_min_epi32(_mm256_cvtps_epi32(_mm256_mul_ps(scale, _mm256_loadu_ps(x))), hi);
  const __m256i b = _mm256_min_epi32(_mm256_cvtps_epi32(_mm256_mul_ps(scale, _mm256_loadu_ps(x + 8))), hi);
  const __m256i ab = _mm256_packus_epi32(_mm256_and_si256(a, low), _mm256_and_si256(b, low));  // a0 b0 a1 b1
  const __m128i w = _mm_packus_epi16(_mm256_castsi256_si128(ab), _mm256_extracti128_si256(ab, 1));  // a0 b0 a1 b1
  return _mm_shuffle_epi32(w, _MM_SHUFFLE(3, 1, 2, 0));
}

// Sum of 16 signed bytes: bias to unsigned, add with vpsadbw, remove the bias.
int16_t sum16(__m128i q) {
  const __m128i s = _mm_sad_epu8(_mm_xor_si128(q, _mm_set1_epi8(char(0x80))), _mm_setzero_si128());
  return int16_t(_mm_cvtsi128_si32(s) + _mm_extract_epi16(s, 4) - 16 * 128);
}

void quantize_block(const float* x, loci::BlockQ8_K* y) {
  const float max = signed_max(x);
  if (max == 0.0f) {
    std::memset(y, 0, sizeof *y);
    return;
  }
  const float iscale = -127.0f / max;
  const __m256 vs = _mm256_set1_ps(iscale);
  for (size_t g = 0; g < kQK_K / 16; ++g) {
    const __m128i q = quantize16(x + 16 * g, vs);
    _mm_storeu_si128(reinterpret_cast<__m128i*>(y->qs + 16 * g), q);
    y->bsums[g] = sum16(q);
  }
  y->d = 1.0f / iscale;
}

}  // namespace

void loci_quantize_q8_k__avx2(const float* x, void* y, size_t k) {
  auto* out = static_cast<loci::BlockQ8_K*>(y);
  for (size_t b = 0; b < k / kQK_K; ++b) quantize_block(x + b * kQK_K, out + b);
}
