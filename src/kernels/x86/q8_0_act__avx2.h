// Shared pieces of the AVX2 products whose activations are Q8_0 blocks (Q4_0
// and Q8_0 weights). The same scheme as q8_0_act__avx512.h without VNNI, on
// 8-lane vectors and 16 registers:
//  - gemm: a panel of 8-row groups (row l in int32 lane l, 4 bytes of k per
//    lane), activations + 128 as vpmaddubsw's unsigned side, and a packed
//    -128 * (sum of the weights) per row and block. Q4_0 weights are small
//    enough to sum a whole block in 16 bits; Q8_0 splits the activation into
//    nibbles. Float sums stay in a small local tile (not enough registers).
//  - gemv: weight blocks in GGUF order against the activation block; Q4_0 as
//    unsigned nibbles (corrected by 8 * the activation pair sums), Q8_0
//    widened to 16 bits. A vphaddd tree turns 4 rows' lanes into their 4
//    exact block sums.
// Every block's integer dot product is exact and scaled, from 0 and in k
// order, as sum = fma(float(isum), d_w * d_a, sum), in the gemm and the gemv
// alike: both (and the AVX-512 variants) give the same bits, whatever m, n or
// the tile position.
//
// Everything here has internal linkage: these bodies use AVX2 and must not be
// merged with same-named code built for other ISAs.
#pragma once

#include "kernels/x86/output_rows.h"
#include "kernels/x86/x86_intrin.h"

#include <cstddef>
#include <cstdint>
#include <cstring>

namespace loci_x86_q8act_avx2 {
namespace {

constexpr size_t kQK = 32;
constexpr size_t kQ8BlockBytes = 34;

inline size_t min_size(size_t a, size_t b) { return a < b ? a : b; }

inline uint16_t load_u16(const uint8_t* p) {
  uint16_t v;
  std::memcpy(&v, p, sizeof v);
  return v;
}

inline int32_t load_i32(const uint8_t* p) {
  int32_t v;
  std::memcpy(&v, p, sizeof v);
  return v;
}

inline __m256i load256(const void* p) { return _mm256_loadu_si256(static_cast<const __m256i*>(p)); }
inline __m128i load128(const void* p) { return _mm_loadu_si128(static_cast<const __m128i*>(p)); }

// Stops the compiler from folding a reused load into each use, or from
// deferring a running sum.
inline void keep_in_register(__m256i& v) { __asm__("" : "+x"(v)); }

inline __m256i low_nibbles(__m256i v) { return _mm256_and_si256(v, _mm256_set1_epi8(0x0f)); }
inline __m256i high_nibbles(__m256i v) { return _mm256_and_si256(_mm256_srli_epi16(v, 4), _mm256_set1_epi8(0x0f)); }

// int32 lanes of eight 16-bit pair sums: sum(s16) * factor per lane.
inline __m256i widen_pairs(__m256i s16, short factor) { return _mm256_madd_epi16(s16, _mm256_set1_epi16(factor)); }

// Lane mask (all ones in the first `lanes` int32 lanes) for maskload/maskstore.
inline __m256i lane_mask(size_t lanes) {
  return _mm256_cmpgt_epi32(_mm256_set1_epi32(int(lanes)), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
}

// ---------------------------------------------------------------------------
// GEMM

enum class GemmDot {
  kSmallWeights,  // |weight| <= 8: vpmaddubsw sums a whole block in 16 bits
  kSplitAct,      // activation + 128 split into nibbles, two vpmaddubsw
};

constexpr size_t kLanes = 8;        // weight rows per panel group
constexpr size_t kPanelGroups = 8;  // 64 rows, the driver's tile width
constexpr size_t kChunkBlocks = 8;  // blocks per packed k-chunk

constexpr size_t max_rows(GemmDot dot) { return dot == GemmDot::kSplitAct ? 2 : 3; }
constexpr size_t max_groups(GemmDot dot) { return dot == GemmDot::kSplitAct ? 2 : 3; }

// 8 weight rows x one block: q[g] holds bytes 4g..4g+3 of each row.
struct alignas(32) PanelBlock {
  int8_t q[8][32];
  int32_t corr[8];  // -128 * sum of row l's bytes: undoes the activation shift
  float d[8];
};

// One activation row's k-chunk: bytes + 128 (kSplitAct: high nibbles in q,
// low nibbles in lo), scales as floats.
struct alignas(32) ActChunk {
  uint8_t q[kChunkBlocks][kQK];
  uint8_t lo[kChunkBlocks][kQK];
  float d[kChunkBlocks];
};

// r[l] = 8 dwords of row l -> w[g] = dword g of rows 0..7.
inline void transpose_8x8(const __m256i* r, __m256i* w) {
  __m256i t[8], u[8];
  for (int p = 0; p < 4; ++p) {
    t[2 * p] = _mm256_unpacklo_epi32(r[2 * p], r[2 * p + 1]);
    t[2 * p + 1] = _mm256_unpackhi_epi32(r[2 * p], r[2 * p + 1]);
  }
  for (int h = 0; h < 2; ++h) {
    const int s = 4 * h;
    u[s + 0] = _mm256_unpacklo_epi64(t[s], t[s + 2]);
    u[s + 1] = _mm256_unpackhi_epi64(t[s], t[s + 2]);
    u[s + 2] = _mm256_unpacklo_epi64(t[s + 1], t[s + 3]);
    u[s + 3] = _mm256_unpackhi_epi64(t[s + 1], t[s + 3]);
  }
  for (int g = 0; g < 4; ++g) {
    w[g] = _mm256_permute2x128_si256(u[g], u[g + 4], 0x20);
    w[g + 4] = _mm256_permute2x128_si256(u[g], u[g + 4], 0x31);
  }
}

// The 8 row addresses of a panel group; missing rows repeat the last one.
inline void panel_rows(const uint8_t* w, size_t w_stride, size_t rows, size_t offset, const uint8_t** row) {
  for (size_t l = 0; l < kLanes; ++l) {
    const uint8_t* p = w + min_size(l, rows - 1) * w_stride + offset;
    __asm__("" : "+r"(p));
    row[l] = p;
  }
}

// Scales through memory with scalar moves (see q8_0_act__avx512.h).
inline void copy_panel_scales(const uint8_t* const* row, size_t block_bytes, size_t nblocks,
                              uint16_t (*d16)[kLanes]) {
  for (size_t b = 0; b < nblocks; ++b)
    for (size_t l = 0; l < kLanes; ++l)
      *static_cast<volatile uint16_t*>(&d16[b][l]) = load_u16(row[l] + b * block_bytes);
}

inline void store_panel_block(const __m256i* w, const uint16_t* d16, PanelBlock* p) {
  const __m256i ones = _mm256_set1_epi8(1);
  __m256i pairs = _mm256_setzero_si256();  // at most 8 * 256 per 16-bit lane
  for (int g = 0; g < 8; ++g) {
    _mm256_store_si256(reinterpret_cast<__m256i*>(p->q[g]), w[g]);
    pairs = _mm256_add_epi16(pairs, _mm256_maddubs_epi16(ones, w[g]));
  }
  _mm256_store_si256(reinterpret_cast<__m256i*>(p->corr), widen_pairs(pairs, -128));
  _mm256_store_ps(p->d, _mm256_cvtph_ps(_mm_load_si128(reinterpret_cast<const __m128i*>(d16))));
}

template <GemmDot kDot>
inline void prepare_act(const uint8_t* a, size_t a_stride, size_t rows, size_t b0, size_t nblocks, ActChunk* out) {
  static_assert(kChunkBlocks == 8, "scales convert 8 at a time");
  const __m256i k128 = _mm256_set1_epi8(char(0x80));
  for (size_t i = 0; i < rows; ++i) {
    const uint8_t* src = a + i * a_stride + b0 * kQ8BlockBytes;
    uint16_t d16[kChunkBlocks] = {};
    for (size_t b = 0; b < nblocks; ++b, src += kQ8BlockBytes) {
      const __m256i q = _mm256_xor_si256(load256(src + 2), k128);
      if constexpr (kDot == GemmDot::kSplitAct) {
        _mm256_store_si256(reinterpret_cast<__m256i*>(out[i].q[b]), high_nibbles(q));
        _mm256_store_si256(reinterpret_cast<__m256i*>(out[i].lo[b]), low_nibbles(q));
      } else {
        _mm256_store_si256(reinterpret_cast<__m256i*>(out[i].q[b]), q);
      }
      d16[b] = load_u16(src);
    }
    _mm256_store_ps(out[i].d, _mm256_cvtph_ps(_mm_set_epi16(short(d16[7]), short(d16[6]), short(d16[5]), short(d16[4]),
                                                            short(d16[3]), short(d16[2]), short(d16[1]), short(d16[0]))));
  }
}

// MR activation rows x NR panel groups over one k-chunk. Float sums live in
// `sums` (loaded from c, or zero when `first`, and stored back at the end;
// only the last group is masked, by last_mask).
template <GemmDot kDot, size_t MR, size_t NR>
__attribute__((noinline)) void micro_tile(const PanelBlock* panel, const ActChunk* act, size_t nblocks, float* c,
                                          size_t c_stride, bool first, __m256i last_mask) {
  constexpr bool kTwoSums = kDot == GemmDot::kSplitAct;
  alignas(32) float sums[MR][NR][kLanes];
  const __m256i all = _mm256_set1_epi32(-1);
  for (size_t i = 0; i < MR; ++i)
    for (size_t jv = 0; jv < NR; ++jv) {
      const __m256i mk = jv + 1 == NR ? last_mask : all;
      _mm256_store_ps(sums[i][jv], first ? _mm256_setzero_ps()
                                         : _mm256_maskload_ps(row_ptr(c, c_stride, i) + jv * kLanes, mk));
    }
  for (size_t b = 0; b < nblocks; ++b) {
    __m256i acc[MR][NR], acc_lo[kTwoSums ? MR : 1][kTwoSums ? NR : 1];
#pragma GCC unroll 8
    for (size_t g = 0; g < 8; ++g) {
      __m256i wv[NR];
#pragma GCC unroll 4
      for (size_t jv = 0; jv < NR; ++jv) {
        wv[jv] = _mm256_load_si256(reinterpret_cast<const __m256i*>(panel[jv * kChunkBlocks + b].q[g]));
        keep_in_register(wv[jv]);
      }
#pragma GCC unroll 4
      for (size_t i = 0; i < MR; ++i) {
        // 16-bit sums: at most 16 products of 255 * 8 (Q4_0) or 15 * 128 (nibbles).
        const __m256i av = _mm256_set1_epi32(load_i32(act[i].q[b] + 4 * g));
#pragma GCC unroll 4
        for (size_t jv = 0; jv < NR; ++jv) {
          const __m256i p = _mm256_maddubs_epi16(av, wv[jv]);
          acc[i][jv] = g == 0 ? p : _mm256_add_epi16(acc[i][jv], p);
          keep_in_register(acc[i][jv]);  // else GCC keeps every product for a tree sum, and spills
        }
        if constexpr (kTwoSums) {
          const __m256i avl = _mm256_set1_epi32(load_i32(act[i].lo[b] + 4 * g));
#pragma GCC unroll 4
          for (size_t jv = 0; jv < NR; ++jv) {
            const __m256i p = _mm256_maddubs_epi16(avl, wv[jv]);
            acc_lo[i][jv] = g == 0 ? p : _mm256_add_epi16(acc_lo[i][jv], p);
            keep_in_register(acc_lo[i][jv]);
          }
        }
      }
    }
#pragma GCC unroll 4
    for (size_t jv = 0; jv < NR; ++jv) {
      const PanelBlock& pb = panel[jv * kChunkBlocks + b];
      const __m256 dw = _mm256_load_ps(pb.d);
      const __m256i corr = _mm256_load_si256(reinterpret_cast<const __m256i*>(pb.corr));
#pragma GCC unroll 4
      for (size_t i = 0; i < MR; ++i) {
        __m256i isum = _mm256_add_epi32(corr, widen_pairs(acc[i][jv], kTwoSums ? 16 : 1));
        if constexpr (kTwoSums) isum = _mm256_add_epi32(isum, widen_pairs(acc_lo[i][jv], 1));
        const __m256 scale = _mm256_mul_ps(dw, _mm256_set1_ps(act[i].d[b]));
        _mm256_store_ps(sums[i][jv], _mm256_fmadd_ps(_mm256_cvtepi32_ps(isum), scale, _mm256_load_ps(sums[i][jv])));
      }
    }
  }
  for (size_t i = 0; i < MR; ++i)
    for (size_t jv = 0; jv < NR; ++jv)
      _mm256_maskstore_ps(row_ptr(c, c_stride, i) + jv * kLanes, jv + 1 == NR ? last_mask : all,
                          _mm256_load_ps(sums[i][jv]));
}

template <GemmDot kDot, size_t MR>
inline void micro_tile_nr(size_t nr, const PanelBlock* panel, const ActChunk* act, size_t nblocks, float* c,
                          size_t c_stride, bool first, __m256i last_mask) {
  switch (nr) {
    case 1: micro_tile<kDot, MR, 1>(panel, act, nblocks, c, c_stride, first, last_mask); break;
    case 2: micro_tile<kDot, MR, 2>(panel, act, nblocks, c, c_stride, first, last_mask); break;
    default:
      if constexpr (max_groups(kDot) >= 3) micro_tile<kDot, MR, 3>(panel, act, nblocks, c, c_stride, first, last_mask);
      break;
  }
}

template <GemmDot kDot>
inline void micro_tile_mr(size_t mr, size_t nr, const PanelBlock* panel, const ActChunk* act, size_t nblocks,
                          float* c, size_t c_stride, bool first, __m256i last_mask) {
  switch (mr) {
    case 1: micro_tile_nr<kDot, 1>(nr, panel, act, nblocks, c, c_stride, first, last_mask); break;
    case 2: micro_tile_nr<kDot, 2>(nr, panel, act, nblocks, c, c_stride, first, last_mask); break;
    default:
      if constexpr (max_rows(kDot) >= 3) micro_tile_nr<kDot, 3>(nr, panel, act, nblocks, c, c_stride, first, last_mask);
      break;
  }
}

template <GemmDot kDot, typename PackFn>
inline void gemm(PackFn pack, size_t m, size_t n, size_t k, const void* a, size_t a_stride, const void* w,
                 size_t w_stride, float* c, size_t c_stride) {
  constexpr size_t kMr = max_rows(kDot), kNr = max_groups(kDot);
  const size_t nb = k / kQK;
  if (nb == 0) return zero_rows(m, n, c, c_stride);  // an empty sum; the chunk loop below writes nothing
  const auto* ab = static_cast<const uint8_t*>(a);
  const auto* wb = static_cast<const uint8_t*>(w);
  PanelBlock panel[kPanelGroups * kChunkBlocks];
  ActChunk act[kMr];
  const __m256i all = _mm256_set1_epi32(-1);
  for (size_t j0 = 0; j0 < n; j0 += kPanelGroups * kLanes) {
    const size_t nn = min_size(kPanelGroups * kLanes, n - j0);
    const size_t groups = (nn + kLanes - 1) / kLanes;
    for (size_t b0 = 0; b0 < nb; b0 += kChunkBlocks) {
      const size_t cb = min_size(kChunkBlocks, nb - b0);
      for (size_t g = 0; g < groups; ++g)
        pack(wb + (j0 + g * kLanes) * w_stride, w_stride, min_size(kLanes, nn - g * kLanes), b0, cb,
             panel + g * kChunkBlocks);
      for (size_t i0 = 0; i0 < m; i0 += kMr) {
        const size_t mr = min_size(kMr, m - i0);
        prepare_act<kDot>(ab + i0 * a_stride, a_stride, mr, b0, cb, act);
        for (size_t g0 = 0; g0 < groups; g0 += kNr) {
          const size_t nr = min_size(kNr, groups - g0);
          const bool last = g0 + nr == groups;
          const __m256i mask = last ? lane_mask(nn - (groups - 1) * kLanes) : all;
          micro_tile_mr<kDot>(mr, nr, panel + g0 * kChunkBlocks, act, cb, row_ptr(c, c_stride, i0) + j0 + g0 * kLanes,
                              c_stride, b0 == 0, mask);
        }
      }
    }
  }
}

// ---------------------------------------------------------------------------
// GEMV: 4 blocks per step and 4 weight rows at a time; for each block a
// vphaddd tree sums the 4 rows' lanes into their 4 exact totals, whose float
// sums then run through the blocks in order, exactly as the gemm's do.

constexpr size_t kStepBlocks = 4;
constexpr size_t kGemvRows = 4;
constexpr size_t kGemvMa = 2;

// Four int32 lane vectors -> their 4 totals, vector r in lane r.
inline __m128i lane_totals(__m256i x0, __m256i x1, __m256i x2, __m256i x3) {
  const __m256i h = _mm256_hadd_epi32(_mm256_hadd_epi32(x0, x1), _mm256_hadd_epi32(x2, x3));
  return _mm_add_epi32(_mm256_castsi256_si128(h), _mm256_extracti128_si256(h, 1));
}

// The fp16 scales at 4 addresses, as floats.
inline __m128 load_scales4(const uint8_t* p0, const uint8_t* p1, const uint8_t* p2, const uint8_t* p3) {
  const uint64_t v = uint64_t(load_u16(p0)) | uint64_t(load_u16(p1)) << 16 | uint64_t(load_u16(p2)) << 32 |
                     uint64_t(load_u16(p3)) << 48;
  return _mm_cvtph_ps(_mm_cvtsi64_si128(int64_t(v)));
}

// How weight and activation blocks meet.
enum class GemvDot {
  kNibbles,  // Q4_0: unsigned nibbles x signed activations, minus 8 * (a + a')
  kWiden,    // Q8_0: both widened to 16 bits, vpmaddwd
};

// One activation block as the weights need it.
struct GemvActBlock {
  __m256i a;  // kNibbles: the 32 bytes; kWiden: elements 0-15 in 16 bits
  __m256i b;  // kNibbles: 8 * (a + a') per 16-bit pair; kWiden: elements 16-31
};

struct GemvActStep {
  GemvActBlock blk[kStepBlocks];
  float d[kStepBlocks];
};

// Filled in place: returning it by value costs a rep movs per step.
template <GemvDot kDot>
inline void load_act_step(const uint8_t* p, size_t nblocks, GemvActStep& s) {
  for (size_t t = 0; t < nblocks; ++t) {
    const uint8_t* q = p + t * kQ8BlockBytes + 2;
    s.d[t] = _cvtsh_ss(load_u16(p + t * kQ8BlockBytes));
    if constexpr (kDot == GemvDot::kNibbles) {
      s.blk[t].a = load256(q);
      s.blk[t].b = _mm256_maddubs_epi16(_mm256_set1_epi8(8), s.blk[t].a);
    } else {
      s.blk[t].a = _mm256_cvtepi8_epi16(load128(q));
      s.blk[t].b = _mm256_cvtepi8_epi16(load128(q + 16));
    }
  }
}

// The exact int32 lanes of one weight block against one activation block.
template <GemvDot kDot>
inline __m256i block_lanes(const uint8_t* q, const GemvActBlock& a) {
  if constexpr (kDot == GemvDot::kNibbles) {
    // Pairs of at most 2 * 15 * 128, minus at most 2 * 8 * 128: inside int16.
    const __m128i x = load128(q);
    const __m256i w = low_nibbles(_mm256_inserti128_si256(_mm256_castsi128_si256(x), _mm_srli_epi16(x, 4), 1));
    return _mm256_madd_epi16(_mm256_sub_epi16(_mm256_maddubs_epi16(w, a.a), a.b), _mm256_set1_epi16(1));
  } else {
    const __m256i lo = _mm256_madd_epi16(_mm256_cvtepi8_epi16(load128(q)), a.a);
    return _mm256_add_epi32(lo, _mm256_madd_epi16(_mm256_cvtepi8_epi16(load128(q + 16)), a.b));
  }
}

// Prefetches `bytes` at p in each of `rows` rows into L2: the same step of
// the next row group (see q8_0_act__avx512.h). Prefetches never fault.
inline void prefetch_rows(const uint8_t* p, size_t stride, size_t rows, size_t bytes) {
  for (size_t r = 0; r < rows; ++r, p += stride)
    for (size_t off = 0; off < bytes; off += 64) _mm_prefetch(reinterpret_cast<const char*>(p + off), _MM_HINT_T1);
}

// MA activation rows x 4 weight rows (the first `rows` real; the others
// repeat the last real row and are not stored), whole k.
template <GemvDot kDot, size_t MA>
inline void gemv_rows(size_t w_block_bytes, size_t nb, const uint8_t* a, size_t a_stride, const uint8_t* w,
                      size_t w_stride, size_t rows, float* c, size_t c_stride) {
  const uint8_t* wr[kGemvRows];
  for (size_t r = 0; r < kGemvRows; ++r) wr[r] = w + min_size(r, rows - 1) * w_stride;
  __m128 sum[MA];
  for (size_t i = 0; i < MA; ++i) sum[i] = _mm_setzero_ps();
  for (size_t b = 0; b < nb; b += kStepBlocks) {
    const size_t sb = min_size(kStepBlocks, nb - b);
    GemvActStep act[MA];
    for (size_t i = 0; i < MA; ++i) load_act_step<kDot>(a + i * a_stride + b * kQ8BlockBytes, sb, act[i]);
    prefetch_rows(w + kGemvRows * w_stride + b * w_block_bytes, w_stride, kGemvRows, sb * w_block_bytes);
    for (size_t t = 0; t < sb; ++t) {
      const size_t off = (b + t) * w_block_bytes;
      const __m128 dw = load_scales4(wr[0] + off, wr[1] + off, wr[2] + off, wr[3] + off);
      for (size_t i = 0; i < MA; ++i) {
        __m256i x[kGemvRows];
        for (size_t r = 0; r < kGemvRows; ++r) x[r] = block_lanes<kDot>(wr[r] + off + 2, act[i].blk[t]);
        const __m128 total = _mm_cvtepi32_ps(lane_totals(x[0], x[1], x[2], x[3]));
        const __m128 scale = _mm_mul_ps(dw, _mm_set1_ps(act[i].d[t]));
        sum[i] = _mm_fmadd_ps(total, scale, sum[i]);
      }
    }
  }
  const __m128i mask = _mm_cmpgt_epi32(_mm_set1_epi32(int(rows)), _mm_setr_epi32(0, 1, 2, 3));
  for (size_t i = 0; i < MA; ++i) _mm_maskstore_ps(row_ptr(c, c_stride, i), mask, sum[i]);
}

template <GemvDot kDot, size_t MA>
inline void gemv_all_rows(size_t w_block_bytes, size_t nb, const uint8_t* a, size_t a_stride, const uint8_t* w,
                          size_t w_stride, size_t n, float* c, size_t c_stride) {
  for (size_t j = 0; j < n; j += kGemvRows)
    gemv_rows<kDot, MA>(w_block_bytes, nb, a, a_stride, w + j * w_stride, w_stride, min_size(kGemvRows, n - j), c + j,
                        c_stride);
}

template <GemvDot kDot>
inline void gemv(size_t w_block_bytes, size_t m, size_t n, size_t k, const void* a, size_t a_stride, const void* w,
                 size_t w_stride, float* c, size_t c_stride) {
  const size_t nb = k / kQK;
  const auto* ab = static_cast<const uint8_t*>(a);
  const auto* wb = static_cast<const uint8_t*>(w);
  for (size_t i0 = 0; i0 < m; i0 += kGemvMa) {
    const uint8_t* ai = ab + i0 * a_stride;
    float* ci = row_ptr(c, c_stride, i0);
    if (m - i0 == 1) {
      gemv_all_rows<kDot, 1>(w_block_bytes, nb, ai, a_stride, wb, w_stride, n, ci, c_stride);
    } else {
      gemv_all_rows<kDot, 2>(w_block_bytes, nb, ai, a_stride, wb, w_stride, n, ci, c_stride);
    }
  }
}

}  // namespace
}  // namespace loci_x86_q8act_avx2
