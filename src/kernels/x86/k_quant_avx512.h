// What the AVX-512 Q4_K and Q6_K kernels share: the int16 lane tables, the
// two ways of forming sum_g scale_g * sum(q * a) over a super-block, and the
// tile that unpacks each weight block once for several activation rows.
//
// Both types bring their quants as four 64-element chunks of unsigned bytes
// and their group scales as int16 lanes laid out for the chosen sum; every
// integer sum is exact, so the two forms agree bit for bit.
#pragma once

#include <cstddef>
#include <cstdint>

#include "kernels/x86/k_quant_x86.h"
#include "kernels/x86/x86_gemm_tiles.h"
#include "loci/dtype.h"

namespace {

// Per-lane tables of 16-bit indices, for pshufb (byte picks) or vpermw.
struct Int16Picks {
  alignas(64) uint16_t v[4][32];
};

// Lane L of vector c holds pick(c, L).
template <class F>
constexpr Int16Picks int16_picks(F pick) {
  Int16Picks p{};
  for (int c = 0; c < 4; ++c)
    for (int lane = 0; lane < 32; ++lane) p.v[c][lane] = uint16_t(pick(c, lane));
  return p;
}

inline __m512i load_picks(const Int16Picks& p, int c) { return _mm512_load_si512(p.v[c]); }

// AVX-512BW: maddubs pair sums of each 64-element chunk times the int16
// scale of their group (4 scale vectors, one per chunk).
struct MaddubsSums {
  static constexpr int kScaleVectors = 4;
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
// AVX-512 VNNI: vpdpbusd 4-element sums per chunk (each at most 4 * 63 * 128,
// so packing two chunks to int16 is exact), then one vpdpwssd with the scales
// per pair of chunks (2 scale vectors, matching the packed layout).
struct VnniSums {
  static constexpr int kScaleVectors = 2;
  static __m512i sum(const __m512i* q, const __m512i* scale, const int8_t* a) {
    __m512i s[4];
    for (int c = 0; c < 4; ++c)
      s[c] = _mm512_dpbusd_epi32(_mm512_setzero_si512(), q[c], _mm512_loadu_si512(a + 64 * c));
    const __m512i isum = _mm512_dpwssd_epi32(_mm512_setzero_si512(), _mm512_packs_epi32(s[0], s[1]), scale[0]);
    return _mm512_dpwssd_epi32(isum, _mm512_packs_epi32(s[2], s[3]), scale[1]);
  }
};
#endif  // __AVX512VNNI__

// With 32 vector registers a whole weight block fits unpacked, so it is
// unpacked once and then met by every activation row. A codec C provides:
//   Block, Weights         the GGUF block and its unpacked registers
//   unpack(block)          once per weight block, shared by the MR rows
//   dot(weights, a, acc)   acc += that block's part of one output
template <class C>
struct UnpackOnce : Avx512Math {
  using Block = typename C::Block;
  template <size_t MR, size_t NR>
  static void accumulate(const Block& block, const uint8_t* a, size_t a_stride, size_t b, __m512 (&acc)[MR][NR],
                         size_t j) {
    const typename C::Weights w = C::unpack(block);
    const Q8KRows rows{a, a_stride, b};
    for (size_t i = 0; i < MR; ++i) C::dot(w, rows[i], acc[i][j]);
  }
};

// The tile the AVX-512 K-quant kernels pass to gemm_tiles.
template <class C>
using SuperBlockTile512 = SuperBlockTile<UnpackOnce<C>>;

}  // namespace
