// Q8_0 x Q8_0 for the avx512 and avx512vnni builds: the weight-side pieces
// (panel packing, gemv step loading) on top of q8_0_act__avx512.h.
#pragma once

#include "kernels/x86/q8_0_act__avx512.h"

namespace loci_x86_q8act {
namespace {

// Up to 16 rows x nblocks blocks into the panel.
inline void pack_q8_0(const uint8_t* w, size_t w_stride, size_t rows, size_t b0, size_t nblocks, PanelBlock* out) {
  const uint8_t* row[kLanes];
  panel_rows(w, w_stride, rows, b0 * kQ8BlockBytes, row);
  alignas(32) uint16_t d16[kChunkBlocks][kLanes];
  copy_panel_scales(row, kQ8BlockBytes, nblocks, d16);
  for (size_t b = 0; b < nblocks; ++b) {
    const size_t off = b * kQ8BlockBytes + 2;
    __m512i z[8], wv[8];
    for (int q = 0; q < 8; ++q) {
      const int r = kFirstRowOfQuarter[q];
      const __m256i lo = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(row[r] + off));
      const __m256i hi = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(row[r + 4] + off));
      z[q] = _mm512_inserti64x4(_mm512_castsi256_si512(lo), hi, 1);  // quarters: r lo, r hi, r+4 lo, r+4 hi
    }
    transpose_16_rows<_MM_SHUFFLE(2, 0, 2, 0), _MM_SHUFFLE(3, 1, 3, 1)>(z, wv);
    store_panel_block(wv, d16[b], out + b);
  }
}

// One gemv step of weights: bytes + 128 so they are unsigned.
inline GemvWeights load_q8_0_step(const uint8_t* p, size_t nblocks) {
  const Q8Window win = load_q8_window(p, nblocks * kQ8BlockBytes);
  const __m512i half = load_index(kQ8Index.half);
  const __m512i k128 = _mm512_set1_epi8(char(0x80));
  GemvWeights s;
  s.w0 = _mm512_xor_si512(_mm512_permutex2var_epi16(win.lo, half, win.hi), k128);
  s.w1 = _mm512_xor_si512(_mm512_permutex2var_epi16(win.lo16, half, win.hi16), k128);
  s.d = gather_scales(load_index(kQ8Index.scale), win.lo, win.hi);
  if constexpr (!kVnni) split_weights(s);
  return s;
}

inline void q8_0_gemv(size_t m, size_t n, size_t k, const void* a, size_t a_stride, const void* w, size_t w_stride,
                      float* c, size_t c_stride) {
  constexpr GemvDot kDot = kVnni ? GemvDot::kVnni : GemvDot::kSplitWeights;
  gemv<kDot>([](const uint8_t* p, size_t nb) { return load_q8_0_step(p, nb); }, kQ8BlockBytes, char(0x80), m, n, k,
             a, a_stride, w, w_stride, c, c_stride);
}

inline void q8_0_gemm(size_t m, size_t n, size_t k, const void* a, size_t a_stride, const void* w, size_t w_stride,
                      float* c, size_t c_stride) {
  constexpr GemmDot kDot = kVnni ? GemmDot::kVnni : GemmDot::kSplitAct;
  gemm<kDot>(pack_q8_0, m, n, k, a, a_stride, w, w_stride, c, c_stride);
}

}  // namespace
}  // namespace loci_x86_q8act
