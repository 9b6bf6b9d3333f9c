// Q4_K x Q8_K on AVX-512 (BW), shared by the avx512 and avx512vnni kernel
// files, which differ only in how sum_j scale_j * sum(q * a) is formed (the
// Sums policy, see k_quant_avx512.h).
//
// Per super-block, everything up to the two block scales is exact integer
// math: the scaled sum above over the eight 32-element sub-blocks, and
// sum_j min_j * sum(a) from the activation's bsums. Each output then takes
// two FMAs per block into a 16-lane float accumulator whose lane layout is
// fixed, so results do not depend on the tile shape.
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

using loci::BlockQ4_K;
using loci::BlockQ8_K;

// The scale layouts are pshufb controls spreading the sub-block scale bytes
// to int16 lanes: 0x80 in each high byte zero-extends.

// maddubs: lanes 0-15 of chunk c are sub-block 2c, lanes 16-31 sub-block 2c+1.
struct Q4KMaddSums : MaddubsSums {
  static constexpr Int16Picks kPicks = int16_picks([](int c, int lane) { return 0x8000 | (2 * c + lane / 16); });
};

#if defined(__AVX512VNNI__)
// vnni: once chunks 2p and 2p+1 are packed, 128-bit lane t holds sums of
// sub-block 4p + t/2 (x4), then of sub-block 4p + 2 + t/2 (x4).
struct Q4KVnniSums : VnniSums {
  static constexpr Int16Picks kPicks =
      int16_picks([](int c, int lane) { return 0x8000 | (4 * c + (lane / 8) / 2 + 2 * ((lane % 8) / 4)); });
};
#endif  // __AVX512VNNI__

// One weight super-block, unpacked once and met by several activation rows.
struct Q4KWeights {
  __m512i q[4];      // elements 64c..64c+63 as bytes 0..15
  __m512i scale[4];  // int16 sub-block scales laid out for the Sums policy
  __m256i mins;      // int16 min of each 16-element group, lined up with bsums
  __m512 d, dmin;    // broadcast
};

// The SuperBlockTile512 codec (see k_quant_avx512.h).
template <class Sums>
struct Q4KCodec {
  using Block = BlockQ4_K;
  using Weights = Q4KWeights;

  static Weights unpack(const Block& b) {
    Q4KWeights w;
    // qs[32c..32c+31] holds sub-block 2c in its low and 2c+1 in its high
    // nibbles: put a copy in each 256-bit half and shift the upper one by 4.
    const __m512i nibble = _mm512_set1_epi8(0x0F);
    const __m512i shift = _mm512_set_epi64(4, 4, 4, 4, 0, 0, 0, 0);
    for (int c = 0; c < 4; ++c) {
      const __m256i packed = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(b.qs + 32 * c));
      w.q[c] = _mm512_and_si512(_mm512_srlv_epi64(_mm512_broadcast_i64x4(packed), shift), nibble);
    }
    const Q4KScales s = q4k_scales(b.scales);
    const __m512i scale_bytes = _mm512_set1_epi64(int64_t(s.scales));
    for (int c = 0; c < Sums::kScaleVectors; ++c)
      w.scale[c] = _mm512_shuffle_epi8(scale_bytes, load_picks(Sums::kPicks, c));
    w.mins = q4k_group_mins(s);
    w.d = _mm512_set1_ps(_cvtsh_ss(b.d));
    w.dmin = _mm512_set1_ps(_cvtsh_ss(b.dmin));
    return w;
  }

  // acc += (d * a.d) * isum - (dmin * a.d) * msum for one output.
  static void dot(const Weights& w, const BlockQ8_K& a, __m512& acc) {
    const __m512i isum = Sums::sum(w.q, w.scale, a.qs);
    const __m256i msum = bsums_dot(w.mins, a);
    const __m512 ad = _mm512_set1_ps(a.d);
    acc = _mm512_fmadd_ps(_mm512_cvtepi32_ps(isum), _mm512_mul_ps(w.d, ad), acc);
    acc = _mm512_fnmadd_ps(_mm512_cvtepi32_ps(_mm512_zextsi256_si512(msum)), _mm512_mul_ps(w.dmin, ad), acc);
  }

#if defined(__AVX512VNNI__)
  // The VNNI gemv's lane partials (k_quant_gemm_avx512vnni.h): the scaled
  // sums folded to lanes 0-7, the min sums in 8-15.
  static constexpr bool kHasMin = true;
  static __m512i partials(const Weights& w, const BlockQ8_K& a) {
    const __m512i isum = Sums::sum(w.q, w.scale, a.qs);
    const __m256i folded = _mm256_add_epi32(_mm512_castsi512_si256(isum), _mm512_extracti64x4_epi64(isum, 1));
    return _mm512_inserti64x4(_mm512_castsi256_si512(folded), bsums_dot(w.mins, a), 1);
  }
#endif  // __AVX512VNNI__
};

#if defined(__AVX512VNNI__)
// The packed-panel gemm codec (k_quant_gemm_avx512vnni.h). A 16-element
// chain is half a sub-block: its sum is at most 16 * 15 * 128 in magnitude,
// so it sits sign-extended in the low int16 of each lane and vpdpwssd with
// the scale (high int16 zero) multiplies it exactly.
struct Q4KPanel {
  using Block = BlockQ4_K;
  using Panel = loci_x86_kq::KPanelBlock<8>;
  static constexpr size_t kChainsPerScale = 2;
  static constexpr bool kHasMin = true;

  static __m512i add_scaled(__m512i isum, __m512i part, __m512i scale) {
    return _mm512_dpwssd_epi32(isum, part, scale);
  }

  // qs word p of each 32-byte run c holds code word p of sub-block 2c (low
  // nibbles) and of sub-block 2c + 1 (high nibbles).
  static void pack(const uint8_t* const* row, size_t b, Panel* out) {
    const size_t base = b * sizeof(BlockQ4_K);
    const __m512i nibble = _mm512_set1_epi8(0x0F);
    for (size_t h = 0; h < 2; ++h) {
      __m512i t[16];
      loci_x86_kq::load_transposed(row, base + offsetof(BlockQ4_K, qs) + 64 * h, t);
      for (size_t p = 0; p < 16; ++p) {
        const size_t word = 32 * h + 16 * (p / 8) + p % 8;
        _mm512_store_si512(out->q[word], _mm512_and_si512(t[p], nibble));
        _mm512_store_si512(out->q[word + 8], _mm512_and_si512(_mm512_srli_epi16(t[p], 4), nibble));
      }
    }
    // Words 0-3 of the 16 rows: d | dmin, then the 12 scale bytes (see q4k_scales).
    __m512i head[4];
    loci_x86_kq::load_transposed16(row, base, head);
    const __m512i low6 = _mm512_set1_epi8(0x3f), low4 = _mm512_set1_epi8(0x0f), bits45 = _mm512_set1_epi8(0x30);
    const __m512i u0 = head[1], u1 = head[2], u2 = head[3];
    const __m512i sc[2] = {
        _mm512_and_si512(u0, low6),
        _mm512_or_si512(_mm512_and_si512(u2, low4), _mm512_and_si512(_mm512_srli_epi32(u0, 2), bits45))};
    const __m512i mn[2] = {_mm512_and_si512(u1, low6),
                           _mm512_or_si512(_mm512_and_si512(_mm512_srli_epi32(u2, 4), low4),
                                           _mm512_and_si512(_mm512_srli_epi32(u1, 2), bits45))};
    for (int j = 0; j < 8; ++j) {
      _mm512_store_si512(out->scale[j], loci_x86_kq::byte_u(sc[j / 4], j % 4));
      const __m512i min = loci_x86_kq::byte_u(mn[j / 4], j % 4);
      _mm512_store_si512(out->pair[j], _mm512_or_si512(min, _mm512_slli_epi32(min, 16)));  // both bsums of sub-block j
    }
    _mm512_store_ps(out->d, loci_x86_kq::half_to_float(head[0], false));
    _mm512_store_ps(out->dmin, loci_x86_kq::half_to_float(head[0], true));
  }
};
#endif  // __AVX512VNNI__

}  // namespace
