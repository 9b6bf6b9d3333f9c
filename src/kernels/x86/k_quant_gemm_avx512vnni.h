// The AVX-512 VNNI gemm and gemv of the K-quants (Q4_K, Q6_K) against Q8_K
// rows. gemm: a 64-row weight panel is unpacked once per super-block into
// bytes laid out for vpdpbusd (16 rows, one per int32 lane), and every
// activation row of the call then meets it in a micro-tile of several rows x
// 16-row groups, instead of unpacking each block again per 4 rows.
//
// Per output and super-block the math is exact integer sums, then two float
// steps, the same in this gemm and in the VNNI gemv (below):
//   acc = fma(float(isum), d * a.d, acc)              isum = sum_g scale_g * sum(q * a)
//   acc = fnmadd(float(msum), dmin * a.d, acc)        Q4_K only: msum = sum_g min_g * bsums_g
// starting from +0 in block order, so gemv and gemm give the same bits.
// (Q6_K folds its -32 code offset into isum through the bsums.)
//
// Codes are unsigned (Q4_K 0..15, Q6_K 0..63) and Q8_K activations signed,
// which is what vpdpbusd takes: activations are used as stored, each 4-byte
// word broadcast from memory.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>

#include "kernels/x86/output_rows.h"
#include "kernels/x86/x86_intrin.h"
#include "loci/dtype.h"

namespace loci_x86_kq {
namespace {

using loci::BlockQ8_K;
using loci::kQK_K;

constexpr size_t kLanes = 16;         // weight rows per panel group, one per int32 lane
constexpr size_t kPanelGroups = 4;    // 64 rows, the driver's tile width
constexpr size_t kWords = kQK_K / 4;  // 4-byte code words per row and super-block
constexpr size_t kChainWords = 4;     // 16 elements: one Q6_K group, half a Q4_K sub-block

inline size_t min_size(size_t a, size_t b) { return a < b ? a : b; }

inline __mmask16 lane_mask(size_t lanes) { return lanes >= 16 ? __mmask16(0xffff) : __mmask16((1u << lanes) - 1u); }

inline int32_t load_i32(const void* p) {
  int32_t v;
  std::memcpy(&v, p, sizeof v);
  return v;
}

// Stops GCC from folding a reused load into every use as a memory operand.
inline void keep_in_register(__m512i& v) { __asm__("" : "+v"(v)); }

// 16 x 16 int32 transpose: r[i] (row i) becomes r[j] (column j of the rows).
inline void transpose_16x16(__m512i* r) {
  __m512i t[16], u[16];
  for (int k = 0; k < 8; ++k) {
    t[2 * k] = _mm512_unpacklo_epi32(r[2 * k], r[2 * k + 1]);
    t[2 * k + 1] = _mm512_unpackhi_epi32(r[2 * k], r[2 * k + 1]);
  }
  // u[4k + q], 128-bit lane L: element 4L + q of rows 4k..4k+3.
  for (int k = 0; k < 4; ++k) {
    u[4 * k] = _mm512_unpacklo_epi64(t[4 * k], t[4 * k + 2]);
    u[4 * k + 1] = _mm512_unpackhi_epi64(t[4 * k], t[4 * k + 2]);
    u[4 * k + 2] = _mm512_unpacklo_epi64(t[4 * k + 1], t[4 * k + 3]);
    u[4 * k + 3] = _mm512_unpackhi_epi64(t[4 * k + 1], t[4 * k + 3]);
  }
  // Column 4L + q gathers lane L of u[q], u[4 + q], u[8 + q], u[12 + q].
  for (int q = 0; q < 4; ++q) {
    const __m512i lo01 = _mm512_shuffle_i32x4(u[q], u[4 + q], 0x44),
                  lo23 = _mm512_shuffle_i32x4(u[8 + q], u[12 + q], 0x44);
    const __m512i hi01 = _mm512_shuffle_i32x4(u[q], u[4 + q], 0xee),
                  hi23 = _mm512_shuffle_i32x4(u[8 + q], u[12 + q], 0xee);
    r[q] = _mm512_shuffle_i32x4(lo01, lo23, 0x88);
    r[4 + q] = _mm512_shuffle_i32x4(lo01, lo23, 0xdd);
    r[8 + q] = _mm512_shuffle_i32x4(hi01, hi23, 0x88);
    r[12 + q] = _mm512_shuffle_i32x4(hi01, hi23, 0xdd);
  }
}

// 64 bytes at `offset` of each of 16 rows, transposed: out[w] = word w of
// every row.
inline void load_transposed(const uint8_t* const* row, size_t offset, __m512i* out) {
  for (size_t l = 0; l < kLanes; ++l) out[l] = _mm512_loadu_si512(row[l] + offset);
  transpose_16x16(out);
}

// 16 bytes at `offset` of each of 16 rows, transposed: out[w] = word w of
// every row (w < 4). Each 128-bit lane L of z[k] holds row k + 4L, so the
// 4 x 4 transpose inside the lanes lines the rows up in order.
inline void load_transposed16(const uint8_t* const* row, size_t offset, __m512i* out) {
  __m512i z[4];
  for (int k = 0; k < 4; ++k) {
    z[k] = _mm512_castsi128_si512(_mm_loadu_si128(reinterpret_cast<const __m128i*>(row[k] + offset)));
    z[k] = _mm512_inserti32x4(z[k], _mm_loadu_si128(reinterpret_cast<const __m128i*>(row[k + 4] + offset)), 1);
    z[k] = _mm512_inserti32x4(z[k], _mm_loadu_si128(reinterpret_cast<const __m128i*>(row[k + 8] + offset)), 2);
    z[k] = _mm512_inserti32x4(z[k], _mm_loadu_si128(reinterpret_cast<const __m128i*>(row[k + 12] + offset)), 3);
  }
  const __m512i t0 = _mm512_unpacklo_epi32(z[0], z[1]), t1 = _mm512_unpackhi_epi32(z[0], z[1]);
  const __m512i t2 = _mm512_unpacklo_epi32(z[2], z[3]), t3 = _mm512_unpackhi_epi32(z[2], z[3]);
  out[0] = _mm512_unpacklo_epi64(t0, t2);
  out[1] = _mm512_unpackhi_epi64(t0, t2);
  out[2] = _mm512_unpacklo_epi64(t1, t3);
  out[3] = _mm512_unpackhi_epi64(t1, t3);
}

// Byte j (0..3) of each int32 lane, zero- or sign-extended.
inline __m512i byte_u(__m512i v, int j) {
  return _mm512_and_si512(_mm512_srli_epi32(v, 8 * j), _mm512_set1_epi32(0xFF));
}
inline __m512i byte_s(__m512i v, int j) { return _mm512_srai_epi32(_mm512_slli_epi32(v, 24 - 8 * j), 24); }

// fp16 values in the low (hi = false) or high half of each int32 lane, as floats.
inline __m512 half_to_float(__m512i v, bool hi) {
  return _mm512_cvtph_ps(_mm512_cvtepi32_epi16(hi ? _mm512_srli_epi32(v, 16) : v));
}

// The 16 row addresses of a panel group; missing rows repeat the last one
// (their lanes are never stored).
inline void panel_rows(const uint8_t* w, size_t w_stride, size_t rows, const uint8_t** row) {
  for (size_t l = 0; l < kLanes; ++l) row[l] = w + min_size(l, rows - 1) * w_stride;
}

// One packed super-block of a 16-row group. kScales chains share a scale
// vector each; pair[s] holds the int16 coefficients of bsums[2s], bsums[2s+1].
template <size_t kScales>
struct alignas(64) KPanelBlock {
  int8_t q[kWords][64];  // q[w]: code word w of each row, row l in lane l
  int32_t scale[kScales][kLanes];
  int32_t pair[8][kLanes];
  float d[kLanes], dmin[kLanes];
};

// A panel codec K provides:
//   Panel                          its KPanelBlock
//   pack(row, b, out)              block b of 16 rows into *out
//   kChainsPerScale                16-element chains sharing one scale
//   add_scaled(isum, part, scale)  isum += scale * part, exact
//   kHasMin                        whether pair[] feeds a separate msum (Q4_K)
//                                  rather than isum (Q6_K)

// MR activation rows x NR panel groups over nblocks super-blocks, adding
// each block's float steps into c (from +0 when `first`). Only the last
// group's lanes are masked by `last_mask`.
template <class K, size_t MR, size_t NR>
__attribute__((noinline)) void micro_tile(const typename K::Panel* panel, size_t panel_stride, const uint8_t* a,
                                          size_t a_stride, size_t b0, size_t nblocks, float* c, size_t c_stride,
                                          bool first, __mmask16 last_mask) {
  for (size_t b = 0; b < nblocks; ++b) {
    const BlockQ8_K* act[MR];
    for (size_t i = 0; i < MR; ++i) act[i] = reinterpret_cast<const BlockQ8_K*>(a + i * a_stride) + b0 + b;
    const typename K::Panel* pb[NR];
    for (size_t jv = 0; jv < NR; ++jv) pb[jv] = panel + jv * panel_stride + b;

    __m512i isum[MR][NR];
#pragma GCC unroll 16
    for (size_t ch = 0; ch < kWords / kChainWords; ++ch) {
      __m512i part[MR][NR];
#pragma GCC unroll 4
      for (size_t t = 0; t < kChainWords; ++t) {
        const size_t w = ch * kChainWords + t;
        __m512i wv[NR];
#pragma GCC unroll 4
        for (size_t jv = 0; jv < NR; ++jv) {
          wv[jv] = _mm512_load_si512(pb[jv]->q[w]);
          keep_in_register(wv[jv]);
        }
#pragma GCC unroll 4
        for (size_t i = 0; i < MR; ++i) {
          const __m512i av = _mm512_set1_epi32(load_i32(act[i]->qs + 4 * w));
#pragma GCC unroll 4
          for (size_t jv = 0; jv < NR; ++jv)
            part[i][jv] = _mm512_dpbusd_epi32(t == 0 ? _mm512_setzero_si512() : part[i][jv], wv[jv], av);
        }
      }
#pragma GCC unroll 4
      for (size_t jv = 0; jv < NR; ++jv) {
        const __m512i scale = _mm512_load_si512(pb[jv]->scale[ch / K::kChainsPerScale]);
#pragma GCC unroll 4
        for (size_t i = 0; i < MR; ++i)
          isum[i][jv] = K::add_scaled(ch == 0 ? _mm512_setzero_si512() : isum[i][jv], part[i][jv], scale);
      }
    }

    // The bsums terms: into msum (Q4_K mins) or isum (Q6_K offset).
    __m512i msum[MR][NR];
#pragma GCC unroll 8
    for (size_t s = 0; s < 8; ++s) {
#pragma GCC unroll 4
      for (size_t i = 0; i < MR; ++i) {
        const __m512i bs = _mm512_set1_epi32(load_i32(act[i]->bsums + 2 * s));
#pragma GCC unroll 4
        for (size_t jv = 0; jv < NR; ++jv) {
          const __m512i coeff = _mm512_load_si512(pb[jv]->pair[s]);
          if constexpr (K::kHasMin) {
            msum[i][jv] = _mm512_dpwssd_epi32(s == 0 ? _mm512_setzero_si512() : msum[i][jv], coeff, bs);
          } else {
            isum[i][jv] = _mm512_dpwssd_epi32(isum[i][jv], coeff, bs);
          }
        }
      }
    }

#pragma GCC unroll 4
    for (size_t jv = 0; jv < NR; ++jv) {
      const __m512 d = _mm512_load_ps(pb[jv]->d);
      const __mmask16 mask = jv + 1 < NR ? __mmask16(0xffff) : last_mask;
#pragma GCC unroll 4
      for (size_t i = 0; i < MR; ++i) {
        float* ci = row_ptr(c, c_stride, i) + jv * kLanes;
        const __m512 ad = _mm512_set1_ps(act[i]->d);
        __m512 acc = first && b == 0 ? _mm512_setzero_ps() : _mm512_maskz_loadu_ps(mask, ci);
        acc = _mm512_fmadd_ps(_mm512_cvtepi32_ps(isum[i][jv]), _mm512_mul_ps(d, ad), acc);
        if constexpr (K::kHasMin)
          acc = _mm512_fnmadd_ps(_mm512_cvtepi32_ps(msum[i][jv]), _mm512_mul_ps(_mm512_load_ps(pb[jv]->dmin), ad), acc);
        _mm512_mask_storeu_ps(ci, mask, acc);
      }
    }
  }
}

template <class K, size_t MR>
inline void micro_tile_nr(size_t nr, const typename K::Panel* panel, size_t panel_stride, const uint8_t* a,
                          size_t a_stride, size_t b0, size_t nblocks, float* c, size_t c_stride, bool first,
                          __mmask16 last_mask) {
  static_assert(kPanelGroups == 4, "covers up to 4 groups");
  switch (nr) {
    case 1:
      return micro_tile<K, MR, 1>(panel, panel_stride, a, a_stride, b0, nblocks, c, c_stride, first, last_mask);
    case 2:
      return micro_tile<K, MR, 2>(panel, panel_stride, a, a_stride, b0, nblocks, c, c_stride, first, last_mask);
    case 3:
      return micro_tile<K, MR, 3>(panel, panel_stride, a, a_stride, b0, nblocks, c, c_stride, first, last_mask);
    default:
      return micro_tile<K, MR, 4>(panel, panel_stride, a, a_stride, b0, nblocks, c, c_stride, first, last_mask);
  }
}

// 16 rows at a time are too many streams for the hardware prefetcher once
// rows are long, so packing asks for the block kPackAhead further on in
// each row. Prefetches never fault, so past a row's end is harmless.
constexpr size_t kPackAhead = 1;

template <class Block>
inline void prefetch_block(const uint8_t* const* row, size_t b) {
  for (size_t l = 0; l < kLanes; ++l) {
    const uintptr_t at = reinterpret_cast<uintptr_t>(row[l]) + b * sizeof(Block);
    for (size_t off = 0; off < sizeof(Block); off += 64)
      _mm_prefetch(reinterpret_cast<const char*>(at + off), _MM_HINT_T0);
  }
}

constexpr size_t kMr = 3;           // activation rows per micro-tile
constexpr size_t kChunkBlocks = 1;  // super-blocks per packed panel chunk (16 KiB for 4 groups)

// Rows for the next micro-tile: 4 left go as 2 + 2 rather than 3 + 1.
inline size_t rows_next(size_t left) { return left == 4 ? 2 : min_size(kMr, left); }

template <class K>
void gemm(size_t m, size_t n, size_t k, const void* a, size_t a_stride, const void* w, size_t w_stride, float* c,
          size_t c_stride) {
  const size_t nb = k / kQK_K;
  if (nb == 0) return zero_rows(m, n, c, c_stride);  // an empty sum
  const auto* ab = static_cast<const uint8_t*>(a);
  const auto* wb = static_cast<const uint8_t*>(w);
  typename K::Panel panel[kPanelGroups * kChunkBlocks];
  for (size_t j0 = 0; j0 < n; j0 += kPanelGroups * kLanes) {
    const size_t nn = min_size(kPanelGroups * kLanes, n - j0);
    const size_t groups = (nn + kLanes - 1) / kLanes;
    const __mmask16 last_mask = lane_mask(nn - (groups - 1) * kLanes);
    for (size_t b0 = 0; b0 < nb; b0 += kChunkBlocks) {
      const size_t cb = min_size(kChunkBlocks, nb - b0);
      for (size_t g = 0; g < groups; ++g) {
        const uint8_t* row[kLanes];
        panel_rows(wb + (j0 + g * kLanes) * w_stride, w_stride, min_size(kLanes, nn - g * kLanes), row);
        for (size_t b = 0; b < cb; ++b) {
          prefetch_block<typename K::Block>(row, b0 + b + kPackAhead);
          K::pack(row, b0 + b, panel + g * kChunkBlocks + b);
        }
      }
      for (size_t i0 = 0, mr = 0; i0 < m; i0 += mr) {
        mr = rows_next(m - i0);
        const uint8_t* ai = ab + i0 * a_stride;
        float* ci = row_ptr(c, c_stride, i0) + j0;
        switch (mr) {
          case 1:
            micro_tile_nr<K, 1>(groups, panel, kChunkBlocks, ai, a_stride, b0, cb, ci, c_stride, b0 == 0, last_mask);
            break;
          case 2:
            micro_tile_nr<K, 2>(groups, panel, kChunkBlocks, ai, a_stride, b0, cb, ci, c_stride, b0 == 0, last_mask);
            break;
          default:
            micro_tile_nr<K, 3>(groups, panel, kChunkBlocks, ai, a_stride, b0, cb, ci, c_stride, b0 == 0, last_mask);
            break;
        }
      }
    }
  }
}

// --- GEMV -----------------------------------------------------------------------
// Weight rows are streamed in GGUF layout: each block is unpacked once for up
// to 3 activation rows and its per-output lane partials formed as before
// (k_quant_avx512.h). The float steps above need each block's totals, so 4
// weight rows' partials are reduced together, one lane per output. A gemv
// codec G provides Block, Weights, unpack(block), partials(weights, a) (int32
// lane partials of isum in lanes 0-7 and of msum in 8-15) and kHasMin.

constexpr size_t kGemvRows = 4;  // weight rows per gemv tile, one float lane each
constexpr size_t kGemvMr = 3;    // activation rows per gemv tile

// Lane r of the result's 128-bit lane L: the sum of v[r]'s four int32 lanes
// in lane L (exact).
inline __m512i transpose_add4(const __m512i* v) {
  const __m512i a = _mm512_add_epi32(_mm512_unpacklo_epi32(v[0], v[1]), _mm512_unpackhi_epi32(v[0], v[1]));
  const __m512i b = _mm512_add_epi32(_mm512_unpacklo_epi32(v[2], v[3]), _mm512_unpackhi_epi32(v[2], v[3]));
  return _mm512_add_epi32(_mm512_unpacklo_epi64(a, b), _mm512_unpackhi_epi64(a, b));
}

// Block b's d (and dmin) of each weight row, lane r = row r.
template <class G>
inline void gemv_scales(const uint8_t* const* row, size_t b, __m128& d, __m128& dmin) {
  alignas(16) uint16_t d16[8];
  for (size_t r = 0; r < kGemvRows; ++r) {
    const auto& blk = reinterpret_cast<const typename G::Block*>(row[r])[b];
    d16[r] = blk.d;
    if constexpr (G::kHasMin) d16[4 + r] = blk.dmin;
  }
  if constexpr (!G::kHasMin) std::memset(d16 + 4, 0, 8);
  const __m256 f = _mm256_cvtph_ps(_mm_load_si128(reinterpret_cast<const __m128i*>(d16)));
  d = _mm256_castps256_ps128(f);
  dmin = _mm256_extractf128_ps(f, 1);
}

// MR activation rows x 4 weight rows (the first `rows` real; the others
// repeat the last and are not stored), over the whole of k.
template <class G, size_t MR>
__attribute__((noinline)) void gemv_tile(size_t rows, size_t nb, const uint8_t* a, size_t a_stride, const uint8_t* w,
                                         size_t w_stride, float* c, size_t c_stride) {
  const uint8_t* row[kGemvRows];
  for (size_t r = 0; r < kGemvRows; ++r) row[r] = w + min_size(r, rows - 1) * w_stride;
  __m128 acc[MR];
  for (size_t i = 0; i < MR; ++i) acc[i] = _mm_setzero_ps();
  for (size_t b = 0; b < nb; ++b) {
    __m512i part[MR][kGemvRows];
    for (size_t r = 0; r < kGemvRows; ++r) {
      const auto& blk = reinterpret_cast<const typename G::Block*>(row[r])[b];
      // The same block of the next tile's rows: each row is too short for the
      // hardware prefetcher to ramp up on. Past the matrix end is harmless.
      const uintptr_t ahead = reinterpret_cast<uintptr_t>(&blk) + kGemvRows * w_stride;
      for (size_t off = 0; off < sizeof blk; off += 64)
        _mm_prefetch(reinterpret_cast<const char*>(ahead + off), _MM_HINT_T1);
      const typename G::Weights wt = G::unpack(blk);
      for (size_t i = 0; i < MR; ++i)
        part[i][r] = G::partials(wt, reinterpret_cast<const BlockQ8_K*>(a + i * a_stride)[b]);
    }
    __m128 d, dmin;
    gemv_scales<G>(row, b, d, dmin);
    for (size_t i = 0; i < MR; ++i) {
      // 128-bit lanes 0-1: isum, 2-3: msum; sum each pair.
      const __m512i t = transpose_add4(part[i]);
      const __m256i s = _mm256_add_epi32(_mm512_castsi512_si256(_mm512_shuffle_i32x4(t, t, _MM_SHUFFLE(0, 0, 2, 0))),
                                         _mm512_castsi512_si256(_mm512_shuffle_i32x4(t, t, _MM_SHUFFLE(0, 0, 3, 1))));
      const __m128 ad = _mm_set1_ps(reinterpret_cast<const BlockQ8_K*>(a + i * a_stride)[b].d);
      acc[i] = _mm_fmadd_ps(_mm_cvtepi32_ps(_mm256_castsi256_si128(s)), _mm_mul_ps(d, ad), acc[i]);
      if constexpr (G::kHasMin)
        acc[i] = _mm_fnmadd_ps(_mm_cvtepi32_ps(_mm256_extracti128_si256(s, 1)), _mm_mul_ps(dmin, ad), acc[i]);
    }
  }
  const __mmask8 mask = __mmask8((1u << rows) - 1u);
  for (size_t i = 0; i < MR; ++i) _mm_mask_storeu_ps(row_ptr(c, c_stride, i), mask, acc[i]);
}

template <class G>
void gemv(size_t m, size_t n, size_t k, const void* a, size_t a_stride, const void* w, size_t w_stride, float* c,
          size_t c_stride) {
  const size_t nb = k / kQK_K;
  const auto* ab = static_cast<const uint8_t*>(a);
  const auto* wb = static_cast<const uint8_t*>(w);
  for (size_t j0 = 0; j0 < n; j0 += kGemvRows) {
    const size_t rows = min_size(kGemvRows, n - j0);
    for (size_t i0 = 0; i0 < m; i0 += kGemvMr) {
      const uint8_t* ai = ab + i0 * a_stride;
      const uint8_t* wj = wb + j0 * w_stride;
      float* ci = row_ptr(c, c_stride, i0) + j0;
      switch (min_size(kGemvMr, m - i0)) {
        case 1:
          gemv_tile<G, 1>(rows, nb, ai, a_stride, wj, w_stride, ci, c_stride);
          break;
        case 2:
          gemv_tile<G, 2>(rows, nb, ai, a_stride, wj, w_stride, ci, c_stride);
          break;
        default:
          gemv_tile<G, 3>(rows, nb, ai, a_stride, wj, w_stride, ci, c_stride);
          break;
      }
    }
  }
}

}  // namespace
}  // namespace loci_x86_kq
