// Q8_0 and Q8_1 activation rows on AVX-512, byte-identical to the scalar
// quantize_row_q8_0 / quantize_row_q8_1 for every input (NaN and inf too):
//  - amax ignores NaNs as fmax does (vmaxps returns its second operand on NaN);
//  - codes are x * (127 / amax) rounded to nearest even;
//  - NaN or out-of-range lanes become INT32_MIN and are narrowed by
//    truncation, which is what the scalar float->int8 conversion gives on x86.
// Nothing here has external linkage except the two converters.
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

// x * id rounded to nearest even as int32 lanes (INT32_MIN for NaN and inf).
__m512i round_even(__m512 x, __m512 id) {
  __m512 v = _mm512_mul_ps(x, id);
  __asm__("" : "+v"(v));  // the product is rounded on its own, never fused
  return _mm512_cvt_roundps_epi32(v, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
}

// One block: writes the 32 quants, returns the float scale d and the sum of
// the stored quants.
float quantize_block(const float* x, int8_t* qs, int* sum) {
  const __m512 x0 = _mm512_loadu_ps(x), x1 = _mm512_loadu_ps(x + 16);
  const __m512 m = _mm512_max_ps(_mm512_abs_ps(x1), _mm512_max_ps(_mm512_abs_ps(x0), _mm512_setzero_ps()));
  const float amax = _mm512_reduce_max_ps(m);
  const float d = amax / 127.0f;
  const float id = amax != 0.0f ? 127.0f / amax : 0.0f;
  const __m512 vid = _mm512_set1_ps(id);
  const __m128i q0 = _mm512_cvtepi32_epi8(round_even(x0, vid));
  const __m128i q1 = _mm512_cvtepi32_epi8(round_even(x1, vid));
  _mm_storeu_si128(reinterpret_cast<__m128i*>(qs), q0);
  _mm_storeu_si128(reinterpret_cast<__m128i*>(qs + 16), q1);
  if (sum) {
    // Signed byte sum: bias to unsigned, add with vpsadbw, remove the bias.
    const __m128i bias = _mm_set1_epi8(char(0x80));
    const __m128i s = _mm_add_epi64(_mm_sad_epu8(_mm_xor_si128(q0, bias), _mm_setzero_si128()),
                                    _mm_sad_epu8(_mm_xor_si128(q1, bias), _mm_setzero_si128()));
    *sum = _mm_cvtsi128_si32(s) + _mm_extract_epi16(s, 4) - int(kQK) * 128;
  }
  return d;
}

// A NaN in the block: the reference's libm fmaxf treats signaling NaNs its own
// way, so such (rare) blocks go through the reference itself.
bool has_nan(const float* x) { return _mm512_cmp_ps_mask(_mm512_loadu_ps(x), _mm512_loadu_ps(x + 16), _CMP_UNORD_Q) != 0; }

}  // namespace

void loci_quantize_q8_0__avx512(const float* x, void* y, size_t k) {
  quantize_rows_q8_0<has_nan, quantize_block, fp16_of>(x, y, k);
}

void loci_quantize_q8_1__avx512(const float* x, void* y, size_t k) {
  quantize_rows_q8_1<has_nan, quantize_block, fp16_of>(x, y, k);
}
