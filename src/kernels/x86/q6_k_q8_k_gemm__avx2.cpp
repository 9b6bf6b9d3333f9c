// Q6_K x Q8_K products on AVX2.
//
// The 6-bit quants are used unsigned (0..63) so maddubs can take them; the
// -32 offset comes back exactly through the activation's bsums:
//   sum_e scale[e/16] * (q_e - 32) * a_e
//     = sum_e scale[e/16] * q_e * a_e - 32 * sum_g scale[g] * bsums[g].
// The whole super-block is integer math; each output then takes one FMA per
// block into an 8-lane float accumulator whose lane layout is fixed, so
// results do not depend on the tile shape.
#include "kernels/ukernel.h"
#include "kernels/x86/k_quant_x86.h"
#include "kernels/x86/x86_gemm_tiles.h"

namespace {

using loci::BlockQ6_K;
using loci::BlockQ8_K;

// Run t (0..3) of 32 elements in a 128-element half: low (t < 2) or high
// nibbles of ql[32 * (t % 2)..], top two bits from bits 2t..2t+1 of qh.
template <int T>
__m256i q6k_run(__m256i ql0, __m256i ql1, __m256i qh) {
  const __m256i nibble = _mm256_set1_epi8(0x0F), bits45 = _mm256_set1_epi8(0x30);
  const __m256i ql = T % 2 ? ql1 : ql0;
  const __m256i low = T < 2 ? _mm256_and_si256(ql, nibble) : _mm256_and_si256(_mm256_srli_epi16(ql, 4), nibble);
  __m256i high;  // bits 2T..2T+1 of each qh byte moved to bits 4-5
  if constexpr (T == 0) high = _mm256_slli_epi16(qh, 4);
  if constexpr (T == 1) high = _mm256_slli_epi16(qh, 2);
  if constexpr (T == 2) high = qh;
  if constexpr (T == 3) high = _mm256_srli_epi16(qh, 2);
  return _mm256_or_si256(low, _mm256_and_si256(high, bits45));
}

// The int16 scales of run t: its two 16-element groups, one per 128-bit lane.
// scales8 holds the half's eight scales as int16 in both lanes.
template <int T>
__m256i q6k_run_scales(__m256i scales8) {
  const short lo = short(0x0100 + 0x0202 * (2 * T)), hi = short(0x0100 + 0x0202 * (2 * T + 1));
  return _mm256_shuffle_epi8(scales8,
                             _mm256_setr_epi16(lo, lo, lo, lo, lo, lo, lo, lo, hi, hi, hi, hi, hi, hi, hi, hi));
}

template <int T, size_t MR>
void q6k_accumulate_run(__m256i q, __m256i scale, const Q8KRows& rows, size_t elem0, __m256i* isum) {
  for (size_t i = 0; i < MR; ++i) {
    const __m256i av = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(rows[i].qs + elem0 + 32 * T));
    isum[i] = _mm256_add_epi32(isum[i], _mm256_madd_epi16(_mm256_maddubs_epi16(q, av), scale));
  }
}

// With 16 vector registers, a weight block is unpacked 32 elements at a time
// and met by all MR rows.
struct Q6KCodec256 : Avx2Math {
  using Block = BlockQ6_K;
  template <size_t MR, size_t NR>
  static void accumulate(const BlockQ6_K& wb, const uint8_t* a, size_t a_stride, size_t b, __m256 (&acc)[MR][NR],
                         size_t j) {
    const Q8KRows rows{a, a_stride, b};
    __m256i isum[MR];
    for (size_t i = 0; i < MR; ++i) isum[i] = _mm256_setzero_si256();
    for (int h = 0; h < 2; ++h) {
      const __m256i ql0 = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(wb.ql + 64 * h));
      const __m256i ql1 = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(wb.ql + 64 * h + 32));
      const __m256i qh = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(wb.qh + 32 * h));
      const __m128i half_scales = _mm_loadl_epi64(reinterpret_cast<const __m128i*>(wb.scales + 8 * h));
      const __m256i scales8 = _mm256_broadcastsi128_si256(_mm_cvtepi8_epi16(half_scales));
      const size_t elem0 = 128 * size_t(h);
      q6k_accumulate_run<0, MR>(q6k_run<0>(ql0, ql1, qh), q6k_run_scales<0>(scales8), rows, elem0, isum);
      q6k_accumulate_run<1, MR>(q6k_run<1>(ql0, ql1, qh), q6k_run_scales<1>(scales8), rows, elem0, isum);
      q6k_accumulate_run<2, MR>(q6k_run<2>(ql0, ql1, qh), q6k_run_scales<2>(scales8), rows, elem0, isum);
      q6k_accumulate_run<3, MR>(q6k_run<3>(ql0, ql1, qh), q6k_run_scales<3>(scales8), rows, elem0, isum);
    }
    const __m256i neg32_scale = q6k_offset_coeffs(q6k_group_scales(wb));
    const __m256 d = _mm256_set1_ps(_cvtsh_ss(wb.d));
    for (size_t i = 0; i < MR; ++i) {
      const __m256 total = _mm256_cvtepi32_ps(_mm256_add_epi32(isum[i], bsums_dot(neg32_scale, rows[i])));
      acc[i][j] = _mm256_fmadd_ps(total, _mm256_mul_ps(d, _mm256_set1_ps(rows[i].d)), acc[i][j]);
    }
  }
};

}  // namespace

// gemv: up to 3 activation rows per weight row; gemm: 4. Every output gets the
// same operations either way.
void loci_q6_k_q8_k_gemv__avx2(size_t m, size_t n, size_t k, const void* a, size_t a_stride, const void* w,
                               size_t w_stride, float* c, size_t c_stride) {
  gemm_tiles<SuperBlockTile<Q6KCodec256>, 3, 1>(m, n, k, a, a_stride, w, w_stride, c, c_stride);
}

void loci_q6_k_q8_k_gemm__avx2(size_t m, size_t n, size_t k, const void* a, size_t a_stride, const void* w,
                               size_t w_stride, float* c, size_t c_stride) {
  gemm_tiles<SuperBlockTile<Q6KCodec256>, 4, 1>(m, n, k, a, a_stride, w, w_stride, c, c_stride);
}
