// Q8_0 and Q8_1 activation rows on AVX2, byte-identical to the scalar
// quantize_row_q8_0 / quantize_row_q8_1 for every input (NaN and inf too):
//  - amax ignores NaNs as fmax does (vmaxps returns its second operand on NaN);
//  - codes are x * (127 / amax) rounded to nearest even;
//  - NaN or out-of-range lanes become INT32_MIN and are narrowed by
//    truncation (not saturation), which is what the scalar float->int8
//    conversion gives on x86.
#include "kernels/x86/x86_intrin.h"

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
  if (f != f) {
    uint32_t u;
    std::memcpy(&u, &f, sizeof u);
    return uint16_t(((u >> 16) & 0x8000u) | 0x7e00u);
  }
  return uint16_t(_cvtss_sh(f, _MM_FROUND_TO_NEAREST_INT));
}

__m256 abs_ps(__m256 v) { return _mm256_andnot_ps(_mm256_set1_ps(-0.0f), v); }

// x * id rounded to nearest even as int32 lanes (INT32_MIN for NaN and inf).
__m256i round_even(__m256 x, __m256 id) {
  __m256 v = _mm256_mul_ps(x, id);
  __asm__("" : "+x"(v));  // the product is rounded on its own, never fused
  return _mm256_cvttps_epi32(_mm256_round_ps(v, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC));
}

// The low byte of each int32 lane of a..d, in order (a truncating narrow).
__m256i narrow_bytes(__m256i a, __m256i b, __m256i c, __m256i d) {
  const __m256i low = _mm256_set1_epi32(0xff);
  const __m256i ab = _mm256_packus_epi32(_mm256_and_si256(a, low), _mm256_and_si256(b, low));
  const __m256i cd = _mm256_packus_epi32(_mm256_and_si256(c, low), _mm256_and_si256(d, low));
  return _mm256_permutevar8x32_epi32(_mm256_packus_epi16(ab, cd), _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7));
}

// One block: writes the 32 quants, returns the float scale d and the sum of
// the stored quants.
float quantize_block(const float* x, int8_t* qs, int* sum) {
  __m256 v[4];
  __m256 m = _mm256_setzero_ps();
  for (int i = 0; i < 4; ++i) {
    v[i] = _mm256_loadu_ps(x + 8 * i);
    m = _mm256_max_ps(abs_ps(v[i]), m);
  }
  __m128 m4 = _mm_max_ps(_mm256_castps256_ps128(m), _mm256_extractf128_ps(m, 1));
  m4 = _mm_max_ps(m4, _mm_movehl_ps(m4, m4));
  m4 = _mm_max_ss(m4, _mm_movehdup_ps(m4));
  const float amax = _mm_cvtss_f32(m4);
  const float d = amax / 127.0f;
  const float id = amax != 0.0f ? 127.0f / amax : 0.0f;
  const __m256 vid = _mm256_set1_ps(id);
  const __m256i q = narrow_bytes(round_even(v[0], vid), round_even(v[1], vid), round_even(v[2], vid),
                                 round_even(v[3], vid));
  _mm256_storeu_si256(reinterpret_cast<__m256i*>(qs), q);
  if (sum) {
    // Signed byte sum: bias to unsigned, add with vpsadbw, remove the bias.
    const __m256i s4 = _mm256_sad_epu8(_mm256_xor_si256(q, _mm256_set1_epi8(char(0x80))), _mm256_setzero_si256());
    const __m128i s = _mm_add_epi64(_mm256_castsi256_si128(s4), _mm256_extracti128_si256(s4, 1));
    *sum = _mm_cvtsi128_si32(s) + _mm_extract_epi16(s, 4) - int(kQK) * 128;
  }
  return d;
}

// A NaN in the block: the reference's libm fmaxf treats signaling NaNs its own
// way, so such (rare) blocks go through the reference itself.
bool has_nan(const float* x) {
  const __m256 a = _mm256_cmp_ps(_mm256_loadu_ps(x), _mm256_loadu_ps(x + 8), _CMP_UNORD_Q);
  const __m256 b = _mm256_cmp_ps(_mm256_loadu_ps(x + 16), _mm256_loadu_ps(x + 24), _CMP_UNORD_Q);
  return _mm256_movemask_ps(_mm256_or_ps(a, b)) != 0;
}

}  // namespace

void loci_quantize_q8_0__avx2(const float* x, void* y, size_t k) {
  quantize_rows_q8_0<has_nan, quantize_block, fp16_of>(x, y, k);
}

void loci_quantize_q8_1__avx2(const float* x, void* y, size_t k) {
  quantize_rows_q8_1<has_nan, quantize_block, fp16_of>(x, y, k);
}
