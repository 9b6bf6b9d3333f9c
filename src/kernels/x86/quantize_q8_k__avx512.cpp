// Q8_K activation rows on AVX-512, byte-identical to the scalar
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
constexpr size_t kVecs = kQK_K / 16;

// The signed element of largest magnitude, the first one on ties; 0 if all are 0 (or NaN).
float signed_max(const float* x) {
  __m512 m = _mm512_setzero_ps();
  for (size_t v = 0; v < kVecs; ++v) m = _mm512_max_ps(_mm512_abs_ps(_mm512_loadu_ps(x + 16 * v)), m);
  const float amax = _mm512_reduce_max_ps(m);
  if (amax == 0.0f) return 0.0f;
  const __m512 target = _mm512_set1_ps(amax);
  for (size_t v = 0; v < kVecs; ++v) {  // bounded: never trust a float invariant to stop a scan
    const __mmask16 hit = _mm512_cmp_ps_mask(_mm512_abs_ps(_mm512_loadu_ps(x + 16 * v)), target, _CMP_EQ_OQ);
    if (hit) return x[16 * v + size_t(__builtin_ctz(hit))];
  }
  return 0.0f;  // unreachable: amax is some |x[j]|
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
  const __m512 vs = _mm512_set1_ps(iscale);
  for (size_t v = 0; v < kVecs; ++v) {
    const __m512i i = _mm512_cvtps_epi32(_mm512_mul_ps(vs, _mm512_loadu_ps(x + 16 * v)));
    const __m128i q = _mm512_cvtepi32_epi8(_mm512_min_epi32(i, _mm512_set1_epi32(127)));
    _mm_storeu_si128(reinterpret_cast<__m128i*>(y->qs + 16 * v), q);
    y->bsums[v] = sum16(q);
  }
  y->d = 1.0f / iscale;
}

}  // namespace

void loci_quantize_q8_k__avx512(const float* x, void* y, size_t k) {
  auto* out = static_cast<loci::BlockQ8_K*>(y);
  for (size_t b = 0; b < k / kQK_K; ++b) quantize_block(x + b * kQK_K, out + b);
}
