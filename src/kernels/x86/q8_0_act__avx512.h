// Shared pieces of the AVX-512 products whose activations are Q8_0 blocks
// (Q4_0 and Q8_0 weights), for the avx512 and avx512vnni builds: the file is
// compiled once per ISA, and __AVX512VNNI__ picks the integer dot product.
//
// vpdpbusd multiplies unsigned bytes by signed bytes, so one side is shifted:
//  - gemm: weights stay signed and activations get +128; a packed weight block
//    carries -128 * (sum of its bytes), which starts each integer accumulator.
//  - gemv: weights become unsigned (Q4_0 nibbles, Q8_0 + 128) and each step
//    starts from -offset * (sum of the activation bytes it meets).
// Without VNNI the same sums come from vpmaddubsw, used only where its 16-bit
// pair sums cannot saturate: Q4_0 weights are small, and full-range unsigned
// bytes are split into nibbles first. Every block's integer dot product is
// exact either way, and is then scaled, starting from 0 and in k order:
//   c[i][j] = fma(float(isum), d_w * d_a, c[i][j])
// in the gemm and the gemv alike, so both (and every ISA variant) give the
// same bits, whatever m, n or the tile position.
//
// Everything here has internal linkage: these bodies use AVX-512 and must not
// be merged with same-named code built for other ISAs.
#pragma once

#include "kernels/x86/output_rows.h"
#include "kernels/x86/x86_intrin.h"

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <type_traits>

namespace loci_x86_q8act {
namespace {

#if defined(__AVX512VNNI__)
constexpr bool kVnni = true;
#else
constexpr bool kVnni = false;
#endif

constexpr size_t kQK = 32;
constexpr size_t kQ8BlockBytes = 34;

inline size_t min_size(size_t a, size_t b) { return a < b ? a : b; }

inline __mmask16 lane_mask(size_t lanes) { return lanes >= 16 ? __mmask16(0xffff) : __mmask16((1u << lanes) - 1u); }

inline __mmask64 byte_mask(size_t bytes) {
  return bytes >= 64 ? ~__mmask64(0) : __mmask64((uint64_t(1) << bytes) - 1u);
}

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

// Stops the compiler from folding a reused load into each use as a memory
// operand (GCC does, tripling the loads of the micro-kernel), or from
// deferring a running sum.
inline void keep_in_register(__m512i& v) { __asm__("" : "+v"(v)); }
inline void keep_in_register(__m512& v) { __asm__("" : "+v"(v)); }

// A 64-byte load the compiler cannot merge with another of the same address:
// starting each accumulator from its own load costs a load port, where one
// load plus register copies (what compilers emit) costs vector ALU slots.
inline __m512i load_unshared(const void* p) {
  __m512i v;
  __asm__("vmovdqu64 %1, %0" : "=v"(v) : "m"(*static_cast<const __m512i*>(p)));
  return v;
}

// Low and high nibbles of unsigned bytes.
inline __m512i low_nibbles(__m512i v) { return _mm512_and_si512(v, _mm512_set1_epi8(0x0f)); }
inline __m512i high_nibbles(__m512i v) { return _mm512_and_si512(_mm512_srli_epi16(v, 4), _mm512_set1_epi8(0x0f)); }

// int32 lanes of sixteen 16-bit pair sums: sum(s16) * factor per lane.
inline __m512i widen_pairs(__m512i s16, short factor) { return _mm512_madd_epi16(s16, _mm512_set1_epi16(factor)); }

// ---------------------------------------------------------------------------
// GEMM: a 64-row weight panel is packed per k-chunk and shared by all
// activation rows of the call.

// How a block's integer dot product is formed (see the file comment).
enum class GemmDot {
  kVnni,          // vpdpbusd
  kSmallWeights,  // |weight| <= 8: vpmaddubsw sums a whole block in 16 bits
  kSplitAct,      // activation + 128 split into nibbles, two vpmaddubsw
};

constexpr size_t kLanes = 16;       // weight rows per panel group, one per int32 lane
constexpr size_t kPanelGroups = 4;  // groups per panel: 64 rows, the driver's tile width
constexpr size_t kChunkBlocks = 8;   // blocks per packed k-chunk

// Activation rows per micro-tile: the split form needs two 16-bit sums each.
constexpr size_t max_rows(GemmDot dot) { return dot == GemmDot::kSplitAct ? 2 : 3; }

// 16 weight rows x one block, laid out for a broadcast activation word:
// q[g] holds bytes 4g..4g+3 of each row, row l in lane l.
struct alignas(64) PanelBlock {
  int8_t q[8][64];
  int32_t corr[16];  // -128 * sum of row l's bytes: undoes the activation shift
  float d[16];       // row l's scale
};

// One activation row's k-chunk: bytes + 128 (kSplitAct: their high nibbles in
// q and low nibbles in lo), scales as floats.
struct alignas(64) ActChunk {
  uint8_t q[kChunkBlocks][kQK];
  uint8_t lo[kChunkBlocks][kQK];
  alignas(32) float d[kChunkBlocks];
};

// The 4x4 dword transpose inside each 128-bit lane of z[0..3].
inline void transpose_4x4_lanes(const __m512i* z, __m512i* out) {
  const __m512i t0 = _mm512_unpacklo_epi32(z[0], z[1]);
  const __m512i t1 = _mm512_unpackhi_epi32(z[0], z[1]);
  const __m512i t2 = _mm512_unpacklo_epi32(z[2], z[3]);
  const __m512i t3 = _mm512_unpackhi_epi32(z[2], z[3]);
  out[0] = _mm512_unpacklo_epi64(t0, t2);
  out[1] = _mm512_unpackhi_epi64(t0, t2);
  out[2] = _mm512_unpacklo_epi64(t1, t3);
  out[3] = _mm512_unpackhi_epi64(t1, t3);
}

// Turns 16 rows x 32 bytes into w[g] = bytes 4g..4g+3 of every row. z[q] holds
// four 16-byte quarters of rows: for q < 4 rows q and q+4, for q >= 4 rows q+4
// and q+8. kLo/kHi pick, per quarter position, where elements 0-15 and 16-31 sit.
template <int kLo, int kHi>
inline void transpose_16_rows(const __m512i* z, __m512i* w) {
  __m512i u[4], v[4];
  transpose_4x4_lanes(z, u);
  transpose_4x4_lanes(z + 4, v);
  for (int t = 0; t < 4; ++t) {
    w[t] = _mm512_shuffle_i32x4(u[t], v[t], kLo);
    w[t + 4] = _mm512_shuffle_i32x4(u[t], v[t], kHi);
  }
}

// Rows whose quarters go into z[q] (the second one is this + 4).
constexpr int kFirstRowOfQuarter[8] = {0, 1, 2, 3, 8, 9, 10, 11};

// The 16 row addresses of a panel group; missing rows repeat the last one
// (their lanes are never stored). Opaque to the vectoriser, which would
// otherwise keep them in vector registers and extract each one on use.
inline void panel_rows(const uint8_t* w, size_t w_stride, size_t rows, size_t offset, const uint8_t** row) {
  for (size_t l = 0; l < kLanes; ++l) {
    const uint8_t* p = w + min_size(l, rows - 1) * w_stride + offset;
    __asm__("" : "+r"(p));
    row[l] = p;
  }
}

// Copies fp16 scales with scalar moves into memory. The pack is bound by the
// shuffle port, and a vector built with pinsrw (what compilers make of this
// otherwise) would add 32 shuffle uops per block; load/store ports are idle.
inline void copy_scale(const uint8_t* src, uint16_t* dst) { *static_cast<volatile uint16_t*>(dst) = load_u16(src); }

// The fp16 scales of 16 rows x nblocks blocks, block b of row l at
// row[l] + b * block_bytes, into d16[b][l].
inline void copy_panel_scales(const uint8_t* const* row, size_t block_bytes, size_t nblocks,
                              uint16_t (*d16)[kLanes]) {
  for (size_t b = 0; b < nblocks; ++b)
    for (size_t l = 0; l < kLanes; ++l) copy_scale(row[l] + b * block_bytes, &d16[b][l]);
}

// Stores one packed block: the signed weights, their correction and scales.
inline void store_panel_block(const __m512i* w, const uint16_t* d16, PanelBlock* p) {
  __m512i sum0 = _mm512_setzero_si512(), sum1 = _mm512_setzero_si512();
  for (int g = 0; g < 8; g += 2) {
    _mm512_store_si512(p->q[g], w[g]);
    _mm512_store_si512(p->q[g + 1], w[g + 1]);
    if constexpr (kVnni) {
      const __m512i k128 = _mm512_set1_epi8(char(0x80));
      sum0 = _mm512_dpbusd_epi32(sum0, k128, w[g]);
      sum1 = _mm512_dpbusd_epi32(sum1, k128, w[g + 1]);
    } else {
      const __m512i ones = _mm512_set1_epi8(1);
      const __m512i pairs = _mm512_add_epi16(_mm512_maddubs_epi16(ones, w[g]), _mm512_maddubs_epi16(ones, w[g + 1]));
      sum0 = _mm512_add_epi32(sum0, widen_pairs(pairs, 128));
    }
  }
  _mm512_store_si512(p->corr, _mm512_sub_epi32(_mm512_setzero_si512(), _mm512_add_epi32(sum0, sum1)));
  _mm512_store_ps(p->d, _mm512_cvtph_ps(_mm256_load_si256(reinterpret_cast<const __m256i*>(d16))));
}

// Activation rows -> ActChunk: +128 on every byte, fp16 scales to float.
template <GemmDot kDot>
inline void prepare_act(const uint8_t* a, size_t a_stride, size_t rows, size_t b0, size_t nblocks, ActChunk* out) {
  static_assert(kChunkBlocks % 8 == 0, "scales convert 8 at a time");
  const __m256i k128 = _mm256_set1_epi8(char(0x80));
  const __m256i k0f = _mm256_set1_epi8(0x0f);
  for (size_t i = 0; i < rows; ++i) {
    const uint8_t* src = a + i * a_stride + b0 * kQ8BlockBytes;
    uint16_t d16[kChunkBlocks] = {};
    for (size_t b = 0; b < nblocks; ++b, src += kQ8BlockBytes) {
      const __m256i q = _mm256_xor_si256(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(src + 2)), k128);
      if constexpr (kDot == GemmDot::kSplitAct) {
        _mm256_store_si256(reinterpret_cast<__m256i*>(out[i].q[b]), _mm256_and_si256(_mm256_srli_epi16(q, 4), k0f));
        _mm256_store_si256(reinterpret_cast<__m256i*>(out[i].lo[b]), _mm256_and_si256(q, k0f));
      } else {
        _mm256_store_si256(reinterpret_cast<__m256i*>(out[i].q[b]), q);
      }
      d16[b] = load_u16(src);
    }
    // Few enough that building the vectors in registers beats a store-forwarding stall.
    for (size_t h = 0; h < nblocks; h += 8) {
      const uint16_t* d = d16 + h;
      const __m128i v = _mm_set_epi16(short(d[7]), short(d[6]), short(d[5]), short(d[4]), short(d[3]), short(d[2]),
                                      short(d[1]), short(d[0]));
      _mm256_store_ps(out[i].d + h, _mm256_cvtph_ps(v));
    }
  }
}

// The integer dot products of one block for MR x NR (activation row, panel
// group) pairs, each lane exact.
template <GemmDot kDot, size_t MR, size_t NR>
inline void block_dots(const PanelBlock* panel, const ActChunk* act, size_t b, __m512i (*isum)[NR]) {
  constexpr bool kTwoSums = kDot == GemmDot::kSplitAct;
  __m512i acc[MR][NR], acc_lo[kTwoSums ? MR : 1][kTwoSums ? NR : 1];
#pragma GCC unroll 8
  for (size_t g = 0; g < 8; ++g) {
    __m512i wv[NR];
#pragma GCC unroll 4
    for (size_t jv = 0; jv < NR; ++jv) {
      wv[jv] = _mm512_load_si512(panel[jv * kChunkBlocks + b].q[g]);
      keep_in_register(wv[jv]);
    }
#pragma GCC unroll 4
    for (size_t i = 0; i < MR; ++i) {
      const __m512i av = _mm512_set1_epi32(load_i32(act[i].q[b] + 4 * g));
      if constexpr (kDot == GemmDot::kVnni) {
#pragma GCC unroll 4
        for (size_t jv = 0; jv < NR; ++jv) {
          const __m512i start = g == 0 ? load_unshared(panel[jv * kChunkBlocks + b].corr) : acc[i][jv];
          acc[i][jv] = _mm512_dpbusd_epi32(start, av, wv[jv]);
        }
      } else {
        // 16-bit sums over the block: at most 16 products of 255 * 8 (Q4_0) or
        // of 15 * 128 (nibbles), inside int16.
#pragma GCC unroll 4
        for (size_t jv = 0; jv < NR; ++jv) {
          const __m512i p = _mm512_maddubs_epi16(av, wv[jv]);
          acc[i][jv] = g == 0 ? p : _mm512_add_epi16(acc[i][jv], p);
          keep_in_register(acc[i][jv]);  // else GCC keeps every product for a tree sum, and spills
        }
        if constexpr (kTwoSums) {
          const __m512i avl = _mm512_set1_epi32(load_i32(act[i].lo[b] + 4 * g));
#pragma GCC unroll 4
          for (size_t jv = 0; jv < NR; ++jv) {
            const __m512i p = _mm512_maddubs_epi16(avl, wv[jv]);
            acc_lo[i][jv] = g == 0 ? p : _mm512_add_epi16(acc_lo[i][jv], p);
            keep_in_register(acc_lo[i][jv]);
          }
        }
      }
    }
  }
#pragma GCC unroll 4
  for (size_t jv = 0; jv < NR; ++jv) {
#pragma GCC unroll 4
    for (size_t i = 0; i < MR; ++i) {
      if constexpr (kDot == GemmDot::kVnni) {
        isum[i][jv] = acc[i][jv];
      } else {
        const __m512i corr = _mm512_load_si512(panel[jv * kChunkBlocks + b].corr);
        __m512i s = _mm512_add_epi32(corr, widen_pairs(acc[i][jv], kTwoSums ? 16 : 1));
        if constexpr (kTwoSums) s = _mm512_add_epi32(s, widen_pairs(acc_lo[i][jv], 1));
        isum[i][jv] = s;
      }
    }
  }
}

// MR activation rows x NR panel groups over one k-chunk, float sums in
// registers between a load from and a store to c (from zero when `first`).
// Only the last group's lanes are masked by `last_mask`. Kept out of line so
// its registers are not shared with the caller's loops.
template <GemmDot kDot, size_t MR, size_t NR>
__attribute__((noinline)) void micro_tile(const PanelBlock* panel, const ActChunk* act, size_t nblocks, float* c,
                                          size_t c_stride, bool first, __mmask16 last_mask) {
  __m512 acc[MR][NR];
#pragma GCC unroll 4
  for (size_t i = 0; i < MR; ++i) {
    float* ci = row_ptr(c, c_stride, i);
#pragma GCC unroll 4
    for (size_t jv = 0; jv < NR; ++jv) {
      // Plain moves for whole groups: masked ones measurably slow the kernel.
      if (first) {
        acc[i][jv] = _mm512_setzero_ps();
      } else if (jv + 1 < NR) {
        acc[i][jv] = _mm512_loadu_ps(ci + jv * kLanes);
      } else {
        acc[i][jv] = _mm512_maskz_loadu_ps(last_mask, ci + jv * kLanes);
      }
    }
  }
  for (size_t b = 0; b < nblocks; ++b) {
    __m512i isum[MR][NR];
    block_dots<kDot, MR, NR>(panel, act, b, isum);
#pragma GCC unroll 4
    for (size_t jv = 0; jv < NR; ++jv) {
      __m512 dw = _mm512_load_ps(panel[jv * kChunkBlocks + b].d);
      keep_in_register(dw);  // else GCC reloads it as a memory operand for every row
#pragma GCC unroll 4
      for (size_t i = 0; i < MR; ++i) {
        const __m512 scale = _mm512_mul_ps(dw, _mm512_set1_ps(act[i].d[b]));
        acc[i][jv] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(isum[i][jv]), scale, acc[i][jv]);
      }
    }
  }
#pragma GCC unroll 4
  for (size_t i = 0; i < MR; ++i) {
    float* ci = row_ptr(c, c_stride, i);
#pragma GCC unroll 4
    for (size_t jv = 0; jv < NR; ++jv) {
      if (jv + 1 < NR) {
        _mm512_storeu_ps(ci + jv * kLanes, acc[i][jv]);
      } else {
        _mm512_mask_storeu_ps(ci + jv * kLanes, last_mask, acc[i][jv]);
      }
    }
  }
}

template <GemmDot kDot, size_t MR>
inline void micro_tile_nr(size_t nr, const PanelBlock* panel, const ActChunk* act, size_t nblocks, float* c,
                          size_t c_stride, bool first, __mmask16 last_mask) {
  static_assert(kPanelGroups == 4, "covers up to 4 groups");
  switch (nr) {
    case 1: micro_tile<kDot, MR, 1>(panel, act, nblocks, c, c_stride, first, last_mask); break;
    case 2: micro_tile<kDot, MR, 2>(panel, act, nblocks, c, c_stride, first, last_mask); break;
    case 3: micro_tile<kDot, MR, 3>(panel, act, nblocks, c, c_stride, first, last_mask); break;
    default: micro_tile<kDot, MR, 4>(panel, act, nblocks, c, c_stride, first, last_mask); break;
  }
}

template <GemmDot kDot>
inline void micro_tile_mr(size_t mr, size_t nr, const PanelBlock* panel, const ActChunk* act, size_t nblocks,
                          float* c, size_t c_stride, bool first, __mmask16 last_mask) {
  static_assert(max_rows(kDot) <= 3, "covers up to 3 rows");
  switch (mr) {
    case 1: micro_tile_nr<kDot, 1>(nr, panel, act, nblocks, c, c_stride, first, last_mask); break;
    case 2: micro_tile_nr<kDot, 2>(nr, panel, act, nblocks, c, c_stride, first, last_mask); break;
    default:
      if constexpr (max_rows(kDot) >= 3) micro_tile_nr<kDot, 3>(nr, panel, act, nblocks, c, c_stride, first, last_mask);
      break;
  }
}

// Rows for the next micro-tile: up to `most`, but 4 left as 2 + 2 rather
// than 3 + 1 (a one-row tile runs far below the others).
inline size_t rows_next(size_t most, size_t left) { return left == 4 && most == 3 ? 2 : min_size(most, left); }

// PackFn(w, w_stride, rows, b0, nblocks, out) packs up to 16 weight rows
// starting at block b0 into out[0..nblocks).
template <GemmDot kDot, typename PackFn>
inline void gemm(PackFn pack, size_t m, size_t n, size_t k, const void* a, size_t a_stride, const void* w,
                 size_t w_stride, float* c, size_t c_stride) {
  constexpr size_t kMr = max_rows(kDot);
  const size_t nb = k / kQK;
  if (nb == 0) return zero_rows(m, n, c, c_stride);  // an empty sum; the chunk loop below writes nothing
  const auto* ab = static_cast<const uint8_t*>(a);
  const auto* wb = static_cast<const uint8_t*>(w);
  PanelBlock panel[kPanelGroups * kChunkBlocks];
  ActChunk act[kMr];
  for (size_t j0 = 0; j0 < n; j0 += kPanelGroups * kLanes) {
    const size_t nn = min_size(kPanelGroups * kLanes, n - j0);
    const size_t groups = (nn + kLanes - 1) / kLanes;
    const __mmask16 last_mask = lane_mask(nn - (groups - 1) * kLanes);
    for (size_t b0 = 0; b0 < nb; b0 += kChunkBlocks) {
      const size_t cb = min_size(kChunkBlocks, nb - b0);
      for (size_t g = 0; g < groups; ++g)
        pack(wb + (j0 + g * kLanes) * w_stride, w_stride, min_size(kLanes, nn - g * kLanes), b0, cb,
             panel + g * kChunkBlocks);
      for (size_t i0 = 0, mr = 0; i0 < m; i0 += mr) {
        mr = rows_next(kMr, m - i0);
        prepare_act<kDot>(ab + i0 * a_stride, a_stride, mr, b0, cb, act);
        micro_tile_mr<kDot>(mr, groups, panel, act, cb, row_ptr(c, c_stride, i0) + j0, c_stride, b0 == 0, last_mask);
      }
    }
  }
}

// ---------------------------------------------------------------------------
// GEMV: weight rows are streamed once in GGUF layout, 4 blocks per step and 4
// rows at a time. A step holds elements 0-15 of each block in w0 and 16-31 in
// w1, block t in 128-bit lane t, so one int32 lane sums 8 products of a
// single block. The 4 rows' lanes are then summed into one vector holding
// row r's block t total in lane 4t + r, and the float sums of the rows run
// through the blocks in order, exactly as the gemm's do (GemvSums).

constexpr size_t kStepBlocks = 4;
constexpr size_t kGemvRows = 4;  // weight rows per group, one per lane of a 128-bit lane
constexpr size_t kGemvMa = 2;    // activation rows per pass

// How a step's integer dot product is formed.
enum class GemvDot {
  kVnni,          // vpdpbusd
  kSmallWeights,  // weights <= 15: vpmaddubsw cannot saturate
  kSplitWeights,  // weights up to 255: their nibbles in two vpmaddubsw
};

struct GemvWeights {
  __m512i w0, w1;        // unsigned bytes (kSplitWeights: their high nibbles)
  __m512i w0_lo, w1_lo;  // kSplitWeights: their low nibbles
  __m512 d;              // block t's scale in lanes 4t..4t+3
};

// Full-range unsigned weights into the nibbles kSplitWeights multiplies.
inline void split_weights(GemvWeights& w) {
  w.w0_lo = low_nibbles(w.w0);
  w.w1_lo = low_nibbles(w.w1);
  w.w0 = high_nibbles(w.w0);
  w.w1 = high_nibbles(w.w1);
}

struct GemvAct {
  __m512i a0, a1;  // signed bytes, same layout as the weights
  __m512i corr;    // -offset * (sum of each lane's activation bytes)
  __m512 d;
};

// Word indices that gather the 16-byte halves of 4 blocks (each `words` long,
// scale first) from a 128-byte window, and that copy each block's scale into
// 4 float lanes. For Q4_0 (9 words) and Q8_0 (17 words) blocks.
template <int kWords>
struct GatherIndex {
  alignas(64) int16_t half[32];
  alignas(64) int16_t scale[32];
  constexpr GatherIndex() : half(), scale() {
    for (int w = 0; w < 32; ++w) {
      half[w] = int16_t(kWords * (w / 8) + 1 + w % 8);
      scale[w] = int16_t(kWords * ((w / 4) % 4));
    }
  }
};
constexpr GatherIndex<9> kQ4Index;
constexpr GatherIndex<17> kQ8Index;

inline __m512i load_index(const int16_t* idx) { return _mm512_load_si512(idx); }

// Reads the windows a Q8_0 step of `bytes` (<= 136) needs: bytes 0-127 in
// lo/hi and 16-143 in lo16/hi16. A full step reads 8 bytes past its end,
// inside the kernel padding; a partial step is masked.
struct Q8Window {
  __m512i lo, hi, lo16, hi16;
};

inline Q8Window load_q8_window(const uint8_t* p, size_t bytes) {
  if (bytes >= 136) {
    return {_mm512_loadu_si512(p), _mm512_loadu_si512(p + 64), _mm512_loadu_si512(p + 16),
            _mm512_loadu_si512(p + 80)};
  }
  auto part = [&](size_t off) {
    return bytes > off ? _mm512_maskz_loadu_epi8(byte_mask(bytes - off), p + off) : _mm512_setzero_si512();
  };
  return {part(0), part(64), part(16), part(80)};
}

inline __m512 gather_scales(const __m512i& idx, const __m512i& lo, const __m512i& hi) {
  return _mm512_cvtph_ps(_mm512_castsi512_si256(_mm512_permutex2var_epi16(lo, idx, hi)));
}

// offset * (sum of each int32 lane's 8 activation bytes in a0 and a1).
inline __m512i scaled_lane_sums(__m512i a0, __m512i a1, char offset) {
  if constexpr (kVnni) {
    const __m512i off = _mm512_set1_epi8(offset);
    return _mm512_dpbusd_epi32(_mm512_dpbusd_epi32(_mm512_setzero_si512(), off, a0), off, a1);
  } else {
    // Plain sums first (at most 4 * 128 per 16-bit lane), the factor in 32 bits.
    const __m512i ones = _mm512_set1_epi8(1);
    const __m512i pairs = _mm512_add_epi16(_mm512_maddubs_epi16(ones, a0), _mm512_maddubs_epi16(ones, a1));
    return widen_pairs(pairs, short(uint8_t(offset)));
  }
}

// One step of `nblocks` (1..4) Q8_0 activation blocks; `offset` is what the
// weights were shifted by (8 for Q4_0 nibbles, 128 for Q8_0).
inline GemvAct load_act_step(const uint8_t* p, size_t nblocks, char offset) {
  const Q8Window win = load_q8_window(p, nblocks * kQ8BlockBytes);
  const __m512i half = load_index(kQ8Index.half);
  GemvAct s;
  s.a0 = _mm512_permutex2var_epi16(win.lo, half, win.hi);
  s.a1 = _mm512_permutex2var_epi16(win.lo16, half, win.hi16);
  s.corr = _mm512_sub_epi32(_mm512_setzero_si512(), scaled_lane_sums(s.a0, s.a1, offset));
  s.d = gather_scales(load_index(kQ8Index.scale), win.lo, win.hi);
  return s;
}

// The exact integer dot product of each lane for one step.
template <GemvDot kDot>
inline __m512i step_dot(const GemvWeights& w, const GemvAct& a) {
  if constexpr (kDot == GemvDot::kVnni) {
    return _mm512_dpbusd_epi32(_mm512_dpbusd_epi32(a.corr, w.w0, a.a0), w.w1, a.a1);
  } else {
    // Two pairs of at most 2 * 15 * 128 each per 16-bit lane.
    const __m512i hi = _mm512_add_epi16(_mm512_maddubs_epi16(w.w0, a.a0), _mm512_maddubs_epi16(w.w1, a.a1));
    if constexpr (kDot == GemvDot::kSmallWeights) return _mm512_add_epi32(a.corr, widen_pairs(hi, 1));
    const __m512i lo = _mm512_add_epi16(_mm512_maddubs_epi16(w.w0_lo, a.a0), _mm512_maddubs_epi16(w.w1_lo, a.a1));
    return _mm512_add_epi32(a.corr, _mm512_add_epi32(widen_pairs(hi, 16), widen_pairs(lo, 1)));
  }
}

// Four rows' step lanes -> lane 4t + r = row r's block t total (exact).
inline __m512i row_block_totals(const __m512i* v) {
  const __m512i a = _mm512_add_epi32(_mm512_unpacklo_epi32(v[0], v[1]), _mm512_unpackhi_epi32(v[0], v[1]));
  const __m512i b = _mm512_add_epi32(_mm512_unpacklo_epi32(v[2], v[3]), _mm512_unpackhi_epi32(v[2], v[3]));
  return _mm512_add_epi32(_mm512_unpacklo_epi64(a, b), _mm512_unpackhi_epi64(a, b));
}

// Four rows' scale vectors (block t in lanes 4t..4t+3) -> lane 4t + r = row r's.
inline __m512 row_block_scales(const GemvWeights* w) {
  __m512 d = _mm512_mask_blend_ps(0x2222, w[0].d, w[1].d);
  d = _mm512_mask_blend_ps(0x4444, d, w[2].d);
  return _mm512_mask_blend_ps(0x8888, d, w[3].d);
}

// The 4 rows' sums (lanes 0-3, copied into every 128-bit lane) through the
// step's blocks in order: sum = fma(total, scale, sum) for t = 0..3. Missing
// blocks of a partial step have total and scale 0 and leave the sums as they
// are (a sum that starts at +0 never becomes -0).
inline __m512 chain_blocks(__m512 total, __m512 scale, __m512 sum) {
  __m512 x = _mm512_fmadd_ps(total, scale, sum);
  sum = _mm512_shuffle_f32x4(x, x, 0x00);
  x = _mm512_fmadd_ps(total, scale, sum);
  sum = _mm512_shuffle_f32x4(x, x, 0x55);
  x = _mm512_fmadd_ps(total, scale, sum);
  sum = _mm512_shuffle_f32x4(x, x, 0xaa);
  x = _mm512_fmadd_ps(total, scale, sum);
  return _mm512_shuffle_f32x4(x, x, 0xff);
}

// Prefetches `bytes` at p in each of `rows` rows into L2: the same step of
// the next row group. Each row is only a few KB, too short for the hardware
// prefetchers to ramp up on (this doubles the gemv's speed from DRAM);
// prefetches never fault, so past the end of the tile is harmless.
inline void prefetch_rows(const uint8_t* p, size_t stride, size_t rows, size_t bytes) {
  for (size_t r = 0; r < rows; ++r, p += stride)
    for (size_t off = 0; off < bytes; off += 64) _mm_prefetch(reinterpret_cast<const char*>(p + off), _MM_HINT_T1);
}

// 128-bit lane t of out[q] = lane q of v[t]: four (row group) vectors laid
// out by block become four (block) vectors laid out by row, lane 4g + r.
template <typename V, typename Shuffle>
inline void transpose_lanes(const V* v, V* out, Shuffle shuffle) {
  const V t0 = shuffle(v[0], v[1], std::integral_constant<int, 0x44>());
  const V t1 = shuffle(v[0], v[1], std::integral_constant<int, 0xee>());
  const V t2 = shuffle(v[2], v[3], std::integral_constant<int, 0x44>());
  const V t3 = shuffle(v[2], v[3], std::integral_constant<int, 0xee>());
  out[0] = shuffle(t0, t2, std::integral_constant<int, 0x88>());
  out[1] = shuffle(t0, t2, std::integral_constant<int, 0xdd>());
  out[2] = shuffle(t1, t3, std::integral_constant<int, 0x88>());
  out[3] = shuffle(t1, t3, std::integral_constant<int, 0xdd>());
}

inline void transpose_lanes(const __m512i* v, __m512i* out) {
  transpose_lanes(v, out,
                  [](__m512i x, __m512i y, auto imm) { return _mm512_shuffle_i32x4(x, y, decltype(imm)::value); });
}

inline void transpose_lanes(const __m512* v, __m512* out) {
  transpose_lanes(v, out,
                  [](__m512 x, __m512 y, auto imm) { return _mm512_shuffle_f32x4(x, y, decltype(imm)::value); });
}

// Block t's activation scale in every lane, t = 0..3.
inline void act_block_scales(__m512 d, __m512* out) {
  out[0] = _mm512_shuffle_f32x4(d, d, 0x00);
  out[1] = _mm512_shuffle_f32x4(d, d, 0x55);
  out[2] = _mm512_shuffle_f32x4(d, d, 0xaa);
  out[3] = _mm512_shuffle_f32x4(d, d, 0xff);
}

// Float sums of MA activation rows x G groups of 4 weight rows, fed one
// step's integer block totals and weight scales (lane 4t + r: row r, block t)
// at a time. With 4 groups the step is transposed to one vector per block
// (lane 4g + r), so each row takes one fma per block and 16 rows share the
// shuffles; fewer groups chain each group's 4 rows through the blocks.
template <size_t MA, size_t G>
struct GemvSums {
  static constexpr bool kByBlock = G == 4;
  __m512 sum[MA][kByBlock ? 1 : G];

  GemvSums() {
    for (auto& row : sum)
      for (__m512& v : row) v = _mm512_setzero_ps();
  }

  void add_step(const __m512i (*total)[G], const __m512* dw, const GemvAct* act, size_t nblocks) {
    if constexpr (kByBlock) {
      __m512 dw_by_block[4];
      transpose_lanes(dw, dw_by_block);
      for (size_t i = 0; i < MA; ++i) {
        __m512i t_by_block[4];
        transpose_lanes(total[i], t_by_block);
        __m512 da[4];
        act_block_scales(act[i].d, da);
        for (size_t t = 0; t < nblocks; ++t)
          sum[i][0] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(t_by_block[t]), _mm512_mul_ps(dw_by_block[t], da[t]),
                                      sum[i][0]);
      }
    } else {
      for (size_t i = 0; i < MA; ++i)
        for (size_t g = 0; g < G; ++g)
          sum[i][g] = chain_blocks(_mm512_cvtepi32_ps(total[i][g]), _mm512_mul_ps(dw[g], act[i].d), sum[i][g]);
    }
  }

  // Row i's sums for the first `rows` weight rows.
  void store(size_t i, size_t rows, float* c) const {
    if constexpr (kByBlock) {
      _mm512_mask_storeu_ps(c, lane_mask(rows), sum[i][0]);
    } else {
      for (size_t g = 0; g < G && g * kGemvRows < rows; ++g) {
        const __mmask8 mk = __mmask8((1u << min_size(kGemvRows, rows - g * kGemvRows)) - 1u);
        _mm_mask_storeu_ps(c + g * kGemvRows, mk, _mm512_castps512_ps128(sum[i][g]));
      }
    }
  }
};

// MA activation rows x G (<= 4) groups of 4 weight rows (the first `rows` of
// them real; the others repeat the last real row and are not stored), whole k.
// Loader(p, nblocks) returns the GemvWeights of one step at weight bytes p.
template <GemvDot kDot, size_t MA, size_t G, typename Loader>
inline void gemv_rows(const Loader& load_w, size_t w_block_bytes, size_t nb, const uint8_t* a, size_t a_stride,
                      const uint8_t* w, size_t w_stride, size_t rows, char offset, float* c, size_t c_stride) {
  static_assert(G >= 1 && G <= 4, "one vector holds 4 groups");
  const uint8_t* wr[G * kGemvRows];
  for (size_t r = 0; r < G * kGemvRows; ++r) wr[r] = w + min_size(r, rows - 1) * w_stride;
  GemvSums<MA, G> sums;
  for (size_t b = 0; b < nb; b += kStepBlocks) {
    const size_t sb = min_size(kStepBlocks, nb - b);
    GemvAct act[MA];
    for (size_t i = 0; i < MA; ++i) act[i] = load_act_step(a + i * a_stride + b * kQ8BlockBytes, sb, offset);
    prefetch_rows(w + G * kGemvRows * w_stride + b * w_block_bytes, w_stride, G * kGemvRows, sb * w_block_bytes);
    __m512 dw[G];
    __m512i total[MA][G];
    for (size_t g = 0; g < G; ++g) {
      GemvWeights wt[kGemvRows];
      for (size_t r = 0; r < kGemvRows; ++r) wt[r] = load_w(wr[g * kGemvRows + r] + b * w_block_bytes, sb);
      dw[g] = row_block_scales(wt);
      for (size_t i = 0; i < MA; ++i) {
        __m512i v[kGemvRows];
        for (size_t r = 0; r < kGemvRows; ++r) v[r] = step_dot<kDot>(wt[r], act[i]);
        total[i][g] = row_block_totals(v);
      }
    }
    sums.add_step(total, dw, act, sb);
  }
  for (size_t i = 0; i < MA; ++i) sums.store(i, rows, row_ptr(c, c_stride, i));
}

template <GemvDot kDot, size_t MA, typename Loader>
inline void gemv_all_rows(const Loader& load_w, size_t w_block_bytes, size_t nb, const uint8_t* a, size_t a_stride,
                          const uint8_t* w, size_t w_stride, size_t n, char offset, float* c, size_t c_stride) {
  // Groups per call: one activation row streams 8 weight rows at a time
  // (16 measured slower from DRAM); with two, 16 rows share each step's
  // activation work.
  constexpr size_t kG = MA == 1 ? 2 : 4;
  size_t j = 0;
  for (; j + kG * kGemvRows <= n; j += kG * kGemvRows)
    gemv_rows<kDot, MA, kG>(load_w, w_block_bytes, nb, a, a_stride, w + j * w_stride, w_stride, kG * kGemvRows, offset,
                            c + j, c_stride);
  for (; j < n; j += kGemvRows)
    gemv_rows<kDot, MA, 1>(load_w, w_block_bytes, nb, a, a_stride, w + j * w_stride, w_stride,
                           min_size(kGemvRows, n - j), offset, c + j, c_stride);
}

template <GemvDot kDot, typename Loader>
inline void gemv(const Loader& load_w, size_t w_block_bytes, char offset, size_t m, size_t n, size_t k,
                 const void* a, size_t a_stride, const void* w, size_t w_stride, float* c, size_t c_stride) {
  const size_t nb = k / kQK;
  const auto* ab = static_cast<const uint8_t*>(a);
  const auto* wb = static_cast<const uint8_t*>(w);
  for (size_t i0 = 0; i0 < m; i0 += kGemvMa) {
    const uint8_t* ai = ab + i0 * a_stride;
    float* ci = row_ptr(c, c_stride, i0);
    if (m - i0 == 1) {
      gemv_all_rows<kDot, 1>(load_w, w_block_bytes, nb, ai, a_stride, wb, w_stride, n, offset, ci, c_stride);
    } else {
      gemv_all_rows<kDot, 2>(load_w, w_block_bytes, nb, ai, a_stride, wb, w_stride, n, offset, ci, c_stride);
    }
  }
}

}  // namespace
}  // namespace loci_x86_q8act
