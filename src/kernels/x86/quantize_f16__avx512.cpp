// F16 and BF16 activation rows on AVX-512, bit-identical to the scalar
// convert_row_f32_to_f16 / _bf16 for every input. vcvtps2ph with imm 0 rounds
// to nearest even exactly as loci::f32_to_fp16 does for finite values and
// infinities; a NaN keeps its sign and becomes 0x7e00 there (vcvtps2ph would
// keep payload bits), so NaN lanes are patched.
#include "kernels/x86/x86_intrin.h"

#include <cstddef>
#include <cstdint>

namespace {

__mmask16 tail_mask(size_t n) { return n >= 16 ? __mmask16(0xffff) : __mmask16((1u << n) - 1u); }

// sign | 0x7e00 (f16) or sign | 0x7fc0-style quieting (bf16) is built from these.
__m512i sign_bits16(__m512i u) { return _mm512_srli_epi32(_mm512_and_si512(u, _mm512_set1_epi32(int(0x80000000u))), 16); }

__m256i to_f16(__m512 x) {
  const __m256i h = _mm512_cvtps_ph(x, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
  const __mmask16 nan = _mm512_cmp_ps_mask(x, x, _CMP_UNORD_Q);
  const __m512i fix = _mm512_or_si512(sign_bits16(_mm512_castps_si512(x)), _mm512_set1_epi32(0x7e00));
  return _mm256_mask_mov_epi16(h, nan, _mm512_cvtepi32_epi16(fix));
}

// (u + 0x7fff + lsb) >> 16, round to nearest even; NaN: (u >> 16) | 64.
__m256i to_bf16(__m512 x) {
  const __m512i u = _mm512_castps_si512(x);
  const __m512i lsb = _mm512_and_si512(_mm512_srli_epi32(u, 16), _mm512_set1_epi32(1));
  __m512i r = _mm512_srli_epi32(_mm512_add_epi32(u, _mm512_add_epi32(lsb, _mm512_set1_epi32(0x7fff))), 16);
  const __mmask16 nan = _mm512_cmp_ps_mask(x, x, _CMP_UNORD_Q);
  r = _mm512_mask_mov_epi32(r, nan, _mm512_or_si512(_mm512_srli_epi32(u, 16), _mm512_set1_epi32(64)));
  return _mm512_cvtepi32_epi16(r);
}

template <__m256i (*Convert)(__m512)>
void convert_row(const float* x, void* y, size_t n) {
  auto* out = static_cast<uint16_t*>(y);
  size_t i = 0;
  for (; i + 16 <= n; i += 16)
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(out + i), Convert(_mm512_loadu_ps(x + i)));
  if (i < n) {
    const __mmask16 m = tail_mask(n - i);
    _mm256_mask_storeu_epi16(out + i, m, Convert(_mm512_maskz_loadu_ps(m, x + i)));
  }
}

}  // namespace

void loci_quantize_f16__avx512(const float* x, void* y, size_t n) { convert_row<to_f16>(x, y, n); }
void loci_quantize_bf16__avx512(const float* x, void* y, size_t n) { convert_row<to_bf16>(x, y, n); }
