// F16 and BF16 activation rows on AVX2 + F16C, bit-identical to the scalar
// convert_row_f32_to_f16 / _bf16 for every input. vcvtps2ph with imm 0 rounds
// to nearest even exactly as loci::f32_to_fp16 does for finite values and
// infinities; a NaN keeps its sign and becomes 0x7e00 there (vcvtps2ph would
// keep payload bits), so NaN lanes are patched.
#include "kernels/x86/x86_intrin.h"

#include <cstddef>
#include <cstdint>
#include <cstring>

namespace {

// Eight int32 lanes holding 16-bit values, narrowed in order.
__m128i narrow16(__m256i v) {
  return _mm_packus_epi32(_mm256_castsi256_si128(v), _mm256_extracti128_si256(v, 1));
}

__m128i to_f16(__m256 x) {
  const __m128i h = _mm256_cvtps_ph(x, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
  const __m256i u = _mm256_castps_si256(x);
  const __m256i sign = _mm256_srli_epi32(_mm256_and_si256(u, _mm256_set1_epi32(int(0x80000000u))), 16);
  const __m128i fix = narrow16(_mm256_or_si256(sign, _mm256_set1_epi32(0x7e00)));
  const __m256i nan32 = _mm256_castps_si256(_mm256_cmp_ps(x, x, _CMP_UNORD_Q));
  const __m128i nan = _mm_packs_epi32(_mm256_castsi256_si128(nan32), _mm256_extracti128_si256(nan32, 1));
  return _mm_blendv_epi8(h, fix, nan);
}

// (u + 0x7fff + lsb) >> 16, round to nearest even; NaN: (u >> 16) | 64.
__m128i to_bf16(__m256 x) {
  const __m256i u = _mm256_castps_si256(x);
  const __m256i lsb = _mm256_and_si256(_mm256_srli_epi32(u, 16), _mm256_set1_epi32(1));
  const __m256i r = _mm256_srli_epi32(_mm256_add_epi32(u, _mm256_add_epi32(lsb, _mm256_set1_epi32(0x7fff))), 16);
  const __m256i q = _mm256_or_si256(_mm256_srli_epi32(u, 16), _mm256_set1_epi32(64));
  const __m256i nan = _mm256_castps_si256(_mm256_cmp_ps(x, x, _CMP_UNORD_Q));
  return narrow16(_mm256_blendv_epi8(r, q, nan));
}

template <__m128i (*Convert)(__m256)>
void convert_row(const float* x, void* y, size_t n) {
  auto* out = static_cast<uint16_t*>(y);
  size_t i = 0;
  for (; i + 8 <= n; i += 8) _mm_storeu_si128(reinterpret_cast<__m128i*>(out + i), Convert(_mm256_loadu_ps(x + i)));
  if (i < n) {  // the tail goes through a zero-padded copy
    float in[8] = {};
    uint16_t res[8];
    std::memcpy(in, x + i, (n - i) * sizeof(float));
    _mm_storeu_si128(reinterpret_cast<__m128i*>(res), Convert(_mm256_loadu_ps(in)));
    std::memcpy(out + i, res, (n - i) * sizeof(uint16_t));
  }
}

}  // namespace

void loci_quantize_f16__avx2(const float* x, void* y, size_t n) { convert_row<to_f16>(x, y, n); }
void loci_quantize_bf16__avx2(const float* x, void* y, size_t n) { convert_row<to_bf16>(x, y, n); }
