// Q6_K x Q8_K on AVX-512 (BW), shared by the avx512 and avx512vnni kernel
// files, which differ only in how the scaled sums are formed (the Sums policy,
// see k_quant_avx512.h).
//
// The 6-bit quants are used unsigned (0..63) so maddubs can take them; the
// -32 offset comes back exactly through the activation's bsums:
//   sum_e scale[e/16] * (q_e - 32) * a_e
//     = sum_e scale[e/16] * q_e * a_e - 32 * sum_g scale[g] * bsums[g].
// The whole super-block is integer math; each output then takes one FMA per
// block into a 16-lane float accumulator whose lane layout is fixed, so
// results do not depend on the tile shape.
#pragma once

#include "kernels/x86/k_quant_avx512.h"
#include "loci/dtype.h"

namespace {

using loci::BlockQ6_K;
using loci::BlockQ8_K;

// The scale layouts are vpermw indices: int16 lane L of vector c takes the
// scale of group pick(c, L).

// maddubs: pair lane L of chunk c covers group 4c + L/8.
struct Q6KMaddSums : MaddubsSums {
  static constexpr Int16Picks kPicks = int16_picks([](int c, int lane) { return 4 * c + lane / 8; });
};

#if defined(__AVX512VNNI__)
// vnni: once chunks 2p and 2p+1 are packed, 128-bit lane t holds sums of
// group 8p + t (x4), then of group 8p + 4 + t (x4).
struct Q6KVnniSums : VnniSums {
  static constexpr Int16Picks kPicks =
      int16_picks([](int c, int lane) { return 8 * c + (lane / 8) + 4 * ((lane % 8) / 4); });
};
#endif  // __AVX512VNNI__

// One weight super-block, unpacked once and met by several activation rows.
struct Q6KWeights {
  __m512i q[4];         // elements 64c..64c+63 as unsigned bytes 0..63
  __m512i scale[4];     // int16 group scales laid out for the Sums policy
  __m256i neg32_scale;  // -32 * the 16 group scales as int16, lined up with bsums
  __m512 d;             // broadcast
};

// The SuperBlockTile512 codec (see k_quant_avx512.h).
template <class Sums>
struct Q6KCodec {
  using Block = BlockQ6_K;
  using Weights = Q6KWeights;

  static Weights unpack(const Block& b) {
    Q6KWeights w;
    // In half h, elements 0..63 are the low nibbles of ql[64h..64h+63] and
    // 64..127 the high ones; their top two bits sit in qh[32h + l] at bits
    // 0-1, 2-3, 4-5, 6-7 for the four runs of 32. Each 256-bit half of a
    // broadcast qh is shifted to bring its pair to bits 4-5.
    const __m512i nibble = _mm512_set1_epi8(0x0F);
    const __m512i bits45 = _mm512_set1_epi8(0x30);
    const __m512i up_low = _mm512_set_epi64(2, 2, 2, 2, 4, 4, 4, 4);
    const __m512i down_high = _mm512_set_epi64(2, 2, 2, 2, 0, 0, 0, 0);
    for (int h = 0; h < 2; ++h) {
      const __m512i ql = _mm512_loadu_si512(b.ql + 64 * h);
      const __m512i qh = _mm512_broadcast_i64x4(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(b.qh + 32 * h)));
      w.q[2 * h] =
          _mm512_or_si512(_mm512_and_si512(ql, nibble), _mm512_and_si512(_mm512_sllv_epi64(qh, up_low), bits45));
      w.q[2 * h + 1] = _mm512_or_si512(_mm512_and_si512(_mm512_srli_epi16(ql, 4), nibble),
                                       _mm512_and_si512(_mm512_srlv_epi64(qh, down_high), bits45));
    }
    const __m256i scales16 = q6k_group_scales(b);
    for (int c = 0; c < Sums::kScaleVectors; ++c)
      w.scale[c] = _mm512_permutexvar_epi16(load_picks(Sums::kPicks, c), _mm512_castsi256_si512(scales16));
    w.neg32_scale = q6k_offset_coeffs(scales16);
    w.d = _mm512_set1_ps(_cvtsh_ss(b.d));
    return w;
  }

  // acc += (d * a.d) * (sum_e scale * q * a - 32 * sum_g scale_g * bsums_g).
  static void dot(const Weights& w, const BlockQ8_K& a, __m512& acc) {
    const __m512i isum = Sums::sum(w.q, w.scale, a.qs);
    const __m512i total = _mm512_add_epi32(isum, _mm512_zextsi256_si512(bsums_dot(w.neg32_scale, a)));
    acc = _mm512_fmadd_ps(_mm512_cvtepi32_ps(total), _mm512_mul_ps(w.d, _mm512_set1_ps(a.d)), acc);
  }
};

}  // namespace
