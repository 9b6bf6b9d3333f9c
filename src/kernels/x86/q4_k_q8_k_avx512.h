// Q4_K x Q8_K on AVX-512 (BW), shared by the avx512 and avx512vnni kernel
// files, which differ only in how sum_j scale_j * sum(q * a) is formed (the
// Sums policy, see k_quant_avx512.h).
//
// Per super-block, everything up to the two block scales is exact integer
// math: the scaled sum above over the eight 32-element sub-blocks, and
// sum_j min_j * sum(a) from the activation's bsums. Each output then takes
// two FMAs per block into a 16-lane float accumulator whose lane layout is
// fixed, so results do not depend on the tile shape.
#pragma once

#include "kernels/x86/k_quant_avx512.h"
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
};

}  // namespace
