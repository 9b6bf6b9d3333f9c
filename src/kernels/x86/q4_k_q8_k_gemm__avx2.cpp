// Q4_K x Q8_K products on AVX2.
//
// Per super-block, everything up to the two block scales is exact integer
// math: sum_j scale_j * sum(q * a) over the eight 32-element sub-blocks
// (maddubs pair sums times int16 scales), and sum_j min_j * sum(a) from the
// activation's bsums. Each output then takes two FMAs per block into an
// 8-lane float accumulator whose lane layout is fixed, so results do not
// depend on the tile shape.
#include "kernels/ukernel.h"
#include "kernels/x86/k_quant_x86.h"
#include "kernels/x86/x86_gemm_tiles.h"

namespace {

using loci::BlockQ4_K;
using loci::BlockQ8_K;

// Byte j of a broadcast 8-byte field as 16 int16 lanes (pshufb, with 0x80 in
// each high byte to zero-extend).
__m256i spread_byte(__m256i bytes, int j) { return _mm256_shuffle_epi8(bytes, _mm256_set1_epi16(short(0x8000 | j))); }

// With 16 vector registers, a weight block is unpacked one 64-element chunk
// at a time and met by all MR rows.
struct Q4KCodec256 : Avx2Math {
  using Block = BlockQ4_K;
  template <size_t MR, size_t NR>
  static void accumulate(const BlockQ4_K& wb, const uint8_t* a, size_t a_stride, size_t b, __m256 (&acc)[MR][NR],
                         size_t j) {
    const Q8KRows rows{a, a_stride, b};
    const __m256i nibble = _mm256_set1_epi8(0x0F);
    const Q4KScales s = q4k_scales(wb.scales);
    const __m256i scale_bytes = _mm256_set1_epi64x(int64_t(s.scales));
    __m256i isum[MR];
    for (size_t i = 0; i < MR; ++i) isum[i] = _mm256_setzero_si256();
    // qs[32c..32c+31]: sub-block 2c in the low nibbles, 2c+1 in the high.
    for (int ch = 0; ch < 4; ++ch) {
      const __m256i packed = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(wb.qs + 32 * ch));
      const __m256i lo = _mm256_and_si256(packed, nibble);
      const __m256i hi = _mm256_and_si256(_mm256_srli_epi16(packed, 4), nibble);
      const __m256i scale_lo = spread_byte(scale_bytes, 2 * ch);
      const __m256i scale_hi = spread_byte(scale_bytes, 2 * ch + 1);
      for (size_t i = 0; i < MR; ++i) {
        const int8_t* aq = rows[i].qs + 64 * ch;
        const __m256i p_lo = _mm256_maddubs_epi16(lo, _mm256_loadu_si256(reinterpret_cast<const __m256i*>(aq)));
        const __m256i p_hi = _mm256_maddubs_epi16(hi, _mm256_loadu_si256(reinterpret_cast<const __m256i*>(aq + 32)));
        isum[i] = _mm256_add_epi32(
            isum[i], _mm256_add_epi32(_mm256_madd_epi16(p_lo, scale_lo), _mm256_madd_epi16(p_hi, scale_hi)));
      }
    }
    const __m256i mins = q4k_group_mins(s);
    const __m256 d = _mm256_set1_ps(_cvtsh_ss(wb.d));
    const __m256 dmin = _mm256_set1_ps(_cvtsh_ss(wb.dmin));
    for (size_t i = 0; i < MR; ++i) {
      const __m256 ad = _mm256_set1_ps(rows[i].d);
      acc[i][j] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(isum[i]), _mm256_mul_ps(d, ad), acc[i][j]);
      acc[i][j] = _mm256_fnmadd_ps(_mm256_cvtepi32_ps(bsums_dot(mins, rows[i])), _mm256_mul_ps(dmin, ad), acc[i][j]);
    }
  }
};

}  // namespace

// gemv: up to 3 activation rows per weight row; gemm: 4. Every output gets the
// same operations either way.
void loci_q4_k_q8_k_gemv__avx2(size_t m, size_t n, size_t k, const void* a, size_t a_stride, const void* w,
                               size_t w_stride, float* c, size_t c_stride) {
  gemm_tiles<SuperBlockTile<Q4KCodec256>, 3, 1>(m, n, k, a, a_stride, w, w_stride, c, c_stride);
}

void loci_q4_k_q8_k_gemm__avx2(size_t m, size_t n, size_t k, const void* a, size_t a_stride, const void* w,
                               size_t w_stride, float* c, size_t c_stride) {
  gemm_tiles<SuperBlockTile<Q4KCodec256>, 4, 1>(m, n, k, a, a_stride, w, w_stride, c, c_stride);
}
