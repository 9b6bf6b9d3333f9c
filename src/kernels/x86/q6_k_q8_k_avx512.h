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
//
// The avx512vnni build instead ends each block on one float per output, in
// its packed-panel gemm and its gemv alike (k_quant_gemm_avx512vnni.h).
#pragma once

#include <cstddef>

#include "kernels/x86/k_quant_avx512.h"
#if defined(__AVX512VNNI__)
#include "kernels/x86/k_quant_gemm_avx512vnni.h"
#endif
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

#if defined(__AVX512VNNI__)
  // The VNNI gemv's lane partials (k_quant_gemm_avx512vnni.h): the whole
  // integer sum folded to lanes 0-7.
  static constexpr bool kHasMin = false;
  static __m512i partials(const Weights& w, const BlockQ8_K& a) {
    const __m512i isum = Sums::sum(w.q, w.scale, a.qs);
    const __m256i folded = _mm256_add_epi32(_mm512_castsi512_si256(isum), _mm512_extracti64x4_epi64(isum, 1));
    return _mm512_zextsi256_si512(_mm256_add_epi32(folded, bsums_dot(w.neg32_scale, a)));
  }
#endif  // __AVX512VNNI__
};

#if defined(__AVX512VNNI__)
// The packed-panel gemm codec (k_quant_gemm_avx512vnni.h). A 16-element
// chain is one group; its sum S (|S| <= 16 * 63 * 128) is past int16, so it
// is split as S = 256 * (S >> 8) + (S & 255), both parts int16, by moving
// bytes [b0 b1 b2 b3] to [b0 0 b1 b2]. vpdpwssd with the int16 pair
// (scale, 256 * scale) (at most 2^15 in magnitude) then adds scale * S
// exactly: one shuffle and one multiply-add instead of vpmulld + add.
struct Q6KPanel {
  using Block = BlockQ6_K;
  using Panel = loci_x86_kq::KPanelBlock<16>;
  static constexpr size_t kChainsPerScale = 1;
  static constexpr bool kHasMin = false;

  static __m512i add_scaled(__m512i isum, __m512i part, __m512i scale) {
    const __m512i split =
        _mm512_broadcast_i32x4(_mm_setr_epi8(0, -128, 1, 2, 4, -128, 5, 6, 8, -128, 9, 10, 12, -128, 13, 14));
    return _mm512_dpwssd_epi32(isum, _mm512_shuffle_epi8(part, split), scale);
  }

  // The int16 pair (scale, 256 * scale) of each int32 lane (see add_scaled).
  static __m512i scale_pair(__m512i s) {
    return _mm512_or_si512(_mm512_and_si512(s, _mm512_set1_epi32(0xffff)), _mm512_slli_epi32(s, 24));
  }

  // Code word p of quarter t of half h: low bits from ql word 16h + 8(t % 2)
  // + p (nibble t / 2), top two from bits 2t, 2t + 1 of qh word 8h + p.
  static void pack(const uint8_t* const* row, size_t b, Panel* out) {
    const size_t base = b * sizeof(BlockQ6_K);
    const __m512i nibble = _mm512_set1_epi8(0x0F), bits45 = _mm512_set1_epi8(0x30);
    __m512i qh[16];
    loci_x86_kq::load_transposed(row, base + offsetof(BlockQ6_K, qh), qh);
    for (size_t h = 0; h < 2; ++h) {
      __m512i ql[16];
      loci_x86_kq::load_transposed(row, base + offsetof(BlockQ6_K, ql) + 64 * h, ql);
      for (size_t t = 0; t < 4; ++t)
        for (size_t p = 0; p < 8; ++p) {
          const __m512i low = ql[8 * (t % 2) + p];
          const __m512i lo = t / 2 ? _mm512_srli_epi16(low, 4) : low;
          const __m512i high = qh[8 * h + p];
          const __m512i top = t == 0   ? _mm512_slli_epi16(high, 4)
                              : t == 1 ? _mm512_slli_epi16(high, 2)
                              : t == 2 ? high
                                       : _mm512_srli_epi16(high, 2);
          // (lo & 0x0F) | (top & 0x30): top is masked first, then one ternlog.
          const __m512i code = _mm512_ternarylogic_epi32(lo, _mm512_and_si512(top, bits45), nibble, 0xEC);
          _mm512_store_si512(out->q[32 * h + 8 * t + p], code);
        }
    }
    // The 16 int8 group scales, 4 per word; -32 * scale (|.| <= 4096) pairs
    // up as the int16 coefficients of bsums[2s] and bsums[2s + 1].
    __m512i sw[4];
    loci_x86_kq::load_transposed16(row, base + offsetof(BlockQ6_K, scales), sw);
    for (int p = 0; p < 8; ++p) {
      const __m512i s0 = loci_x86_kq::byte_s(sw[p / 2], 2 * (p % 2)),
                    s1 = loci_x86_kq::byte_s(sw[p / 2], 2 * (p % 2) + 1);
      _mm512_store_si512(out->scale[2 * p], scale_pair(s0));
      _mm512_store_si512(out->scale[2 * p + 1], scale_pair(s1));
      const __m512i c0 = _mm512_sub_epi32(_mm512_setzero_si512(), _mm512_slli_epi32(s0, 5));
      const __m512i c1 = _mm512_sub_epi32(_mm512_setzero_si512(), _mm512_slli_epi32(s1, 21));
      _mm512_store_si512(out->pair[p], _mm512_or_si512(_mm512_and_si512(c0, _mm512_set1_epi32(0xffff)), c1));
    }
    alignas(32) uint16_t d16[16];
    for (size_t l = 0; l < loci_x86_kq::kLanes; ++l) d16[l] = reinterpret_cast<const BlockQ6_K*>(row[l] + base)->d;
    _mm512_store_ps(out->d, _mm512_cvtph_ps(_mm256_load_si256(reinterpret_cast<const __m256i*>(d16))));
  }
};
#endif  // __AVX512VNNI__

}  // namespace
