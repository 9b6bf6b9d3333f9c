// Q4_K x Q8_K on AVX-512 (BW), shared by the avx512 and avx512vnni kernel
// files, which differ only in how sum_j scale_j * sum(q * a) is formed (the
// Sums policy below).
//
// Per super-block, everything up to the two block scales is exact integer
// math: the scaled sum above over the eight 32-element sub-blocks, and
// sum_j min_j * sum(a) from the activation's bsums. Each output then takes
// two FMAs per block into a 16-lane float accumulator whose lane layout is
// fixed, so results do not depend on the tile shape.
#pragma once

#include "kernels/x86/f32_gemm_x86.h"
#include "kernels/x86/q4_k_q8_k_x86.h"
#include "loci/dtype.h"

namespace {

using loci::BlockQ4_K;
using loci::BlockQ8_K;

// pshufb controls that spread per-sub-block bytes to int16 lanes: lane L of
// control c takes byte pick(c, L); 0x80 in each high byte zero-extends.
struct Q4KPicks {
  alignas(64) uint16_t v[4][32];
};

template <class F>
constexpr Q4KPicks q4k_picks(F pick) {
  Q4KPicks p{};
  for (int c = 0; c < 4; ++c)
    for (int lane = 0; lane < 32; ++lane) p.v[c][lane] = uint16_t(0x8000 | pick(c, lane));
  return p;
}

inline __m512i q4k_pick(const Q4KPicks& p, int c) { return _mm512_load_si512(p.v[c]); }

// Sums policy for AVX-512BW: maddubs pair sums of each 64-element chunk
// (lanes 0-15 sub-block 2c, 16-31 sub-block 2c+1) times int16 scales.
struct Q4KMaddSums {
  static constexpr Q4KPicks kPicks = q4k_picks([](int c, int lane) { return 2 * c + lane / 16; });
  static void spread(__m512i scale_bytes, __m512i* scale) {
    for (int c = 0; c < 4; ++c) scale[c] = _mm512_shuffle_epi8(scale_bytes, q4k_pick(kPicks, c));
  }
  static __m512i sum(const __m512i* q, const __m512i* scale, const int8_t* a) {
    __m512i isum = _mm512_setzero_si512();
    for (int c = 0; c < 4; ++c) {
      const __m512i pairs = _mm512_maddubs_epi16(q[c], _mm512_loadu_si512(a + 64 * c));
      isum = _mm512_add_epi32(isum, _mm512_madd_epi16(pairs, scale[c]));
    }
    return isum;
  }
};

#if defined(__AVX512VNNI__)
// Sums policy for AVX-512 VNNI: vpdpbusd 4-element sums per chunk (each at
// most 4 * 15 * 128, so packing two chunks to int16 is exact), then one
// vpdpwssd with the scales per pair of chunks. Once chunks 2p and 2p+1 are
// packed, 128-bit lane t holds sums of sub-block 4p + t/2 (x4), then of
// sub-block 4p + 2 + t/2 (x4).
struct Q4KVnniSums {
  static constexpr Q4KPicks kPicks =
      q4k_picks([](int c, int lane) { return 4 * c + (lane / 8) / 2 + 2 * ((lane % 8) / 4); });
  static void spread(__m512i scale_bytes, __m512i* scale) {
    for (int c = 0; c < 2; ++c) scale[c] = _mm512_shuffle_epi8(scale_bytes, q4k_pick(kPicks, c));
  }
  static __m512i sum(const __m512i* q, const __m512i* scale, const int8_t* a) {
    __m512i s[4];
    for (int c = 0; c < 4; ++c)
      s[c] = _mm512_dpbusd_epi32(_mm512_setzero_si512(), q[c], _mm512_loadu_si512(a + 64 * c));
    const __m512i isum = _mm512_dpwssd_epi32(_mm512_setzero_si512(), _mm512_packs_epi32(s[0], s[1]), scale[0]);
    return _mm512_dpwssd_epi32(isum, _mm512_packs_epi32(s[2], s[3]), scale[1]);
  }
};
#endif  // __AVX512VNNI__

// One weight super-block, unpacked once and met by several activation rows.
struct Q4KWeights {
  __m512i q[4];      // elements 64c..64c+63 as bytes 0..15
  __m512i scale[4];  // int16 sub-block scales laid out for the Sums policy
  __m256i mins;      // int16 min of each 16-element group, lined up with bsums
  __m512 d, dmin;    // broadcast
};

template <class Sums>
inline Q4KWeights q4k_unpack(const BlockQ4_K& b) {
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
  Sums::spread(_mm512_set1_epi64(int64_t(s.scales)), w.scale);
  const __m256i pick_min =
      _mm256_setr_epi16(short(0x8000), short(0x8000), short(0x8001), short(0x8001), short(0x8002), short(0x8002),
                        short(0x8003), short(0x8003), short(0x8004), short(0x8004), short(0x8005), short(0x8005),
                        short(0x8006), short(0x8006), short(0x8007), short(0x8007));
  w.mins = _mm256_shuffle_epi8(_mm256_set1_epi64x(int64_t(s.mins)), pick_min);
  w.d = _mm512_set1_ps(_cvtsh_ss(b.d));
  w.dmin = _mm512_set1_ps(_cvtsh_ss(b.dmin));
  return w;
}

// acc += (d * a.d) * isum - (dmin * a.d) * msum for one output.
template <class Sums>
inline void q4k_dot(const Q4KWeights& w, const BlockQ8_K& a, __m512& acc) {
  const __m512i isum = Sums::sum(w.q, w.scale, a.qs);
  const __m256i msum = _mm256_madd_epi16(w.mins, _mm256_loadu_si256(reinterpret_cast<const __m256i*>(a.bsums)));
  const __m512 ad = _mm512_set1_ps(a.d);
  acc = _mm512_fmadd_ps(_mm512_cvtepi32_ps(isum), _mm512_mul_ps(w.d, ad), acc);
  acc = _mm512_fnmadd_ps(_mm512_cvtepi32_ps(_mm512_zextsi256_si512(msum)), _mm512_mul_ps(w.dmin, ad), acc);
}

template <class Sums>
struct Q4KCodec {
  using Block = BlockQ4_K;
  using Weights = Q4KWeights;
  static Weights unpack(const Block& b) { return q4k_unpack<Sums>(b); }
  static void dot(const Weights& w, const BlockQ8_K& a, __m512& acc) { q4k_dot<Sums>(w, a, acc); }
};

}  // namespace
