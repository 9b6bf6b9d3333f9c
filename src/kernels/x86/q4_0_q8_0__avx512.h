// Q4_0 x Q8_0 for the avx512 and avx512vnni builds: the weight-side pieces
// (panel packing, gemv step loading) on top of q8_0_act__avx512.h.
#pragma once

#include "kernels/x86/q8_0_act__avx512.h"

namespace loci_x86_q8act {
namespace {

constexpr size_t kQ4BlockBytes = 18;

// Up to 16 rows x nblocks blocks into the panel as signed values (nibble - 8).
inline void pack_q4_0(const uint8_t* w, size_t w_stride, size_t rows, size_t b0, size_t nblocks, PanelBlock* out) {
  const uint8_t* row[kLanes];
  panel_rows(w, w_stride, rows, b0 * kQ4BlockBytes, row);
  alignas(32) uint16_t d16[kChunkBlocks][kLanes];
  copy_panel_scales(row, kQ4BlockBytes, nblocks, d16);
  const __m512i eight = _mm512_set1_epi8(8);
  for (size_t b = 0; b < nblocks; ++b) {
    const size_t off = b * kQ4BlockBytes + 2;
    __m512i z[8], wv[8];
    for (int q = 0; q < 8; ++q) {
      const int r = kFirstRowOfQuarter[q];
      const __m128i lo = _mm_loadu_si128(reinterpret_cast<const __m128i*>(row[r] + off));
      const __m128i hi = _mm_loadu_si128(reinterpret_cast<const __m128i*>(row[r + 4] + off));
      const __m256i y = _mm256_inserti128_si256(_mm256_castsi128_si256(lo), hi, 1);
      // Quarters: r elements 0-15, r+4 elements 0-15, r 16-31, r+4 16-31.
      const __m512i nib = _mm512_inserti64x4(_mm512_castsi256_si512(y), _mm256_srli_epi16(y, 4), 1);
      z[q] = _mm512_sub_epi8(low_nibbles(nib), eight);
    }
    transpose_16_rows<_MM_SHUFFLE(1, 0, 1, 0), _MM_SHUFFLE(3, 2, 3, 2)>(z, wv);
    store_panel_block(wv, d16[b], out + b);
  }
}

// One gemv step of weights: the nibbles as unsigned bytes. A full step (72
// bytes) reads 56 bytes past its end, inside the kernel padding.
inline GemvWeights load_q4_0_step(const uint8_t* p, size_t nblocks) {
  __m512i lo, hi;
  if (nblocks == kStepBlocks) {
    lo = _mm512_loadu_si512(p);
    hi = _mm512_loadu_si512(p + 64);
  } else {
    lo = _mm512_maskz_loadu_epi8(byte_mask(nblocks * kQ4BlockBytes), p);
    hi = _mm512_setzero_si512();
  }
  const __m512i q = _mm512_permutex2var_epi16(lo, load_index(kQ4Index.half), hi);
  GemvWeights s;
  s.w0 = low_nibbles(q);
  s.w1 = high_nibbles(q);
  s.d = gather_scales(load_index(kQ4Index.scale), lo, hi);
  return s;
}

inline void q4_0_gemv(size_t m, size_t n, size_t k, const void* a, size_t a_stride, const void* w, size_t w_stride,
                      float* c, size_t c_stride) {
  constexpr GemvDot kDot = kVnni ? GemvDot::kVnni : GemvDot::kSmallWeights;
  gemv<kDot>([](const uint8_t* p, size_t nb) { return load_q4_0_step(p, nb); }, kQ4BlockBytes, char(8), m, n, k, a,
             a_stride, w, w_stride, c, c_stride);
}

inline void q4_0_gemm(size_t m, size_t n, size_t k, const void* a, size_t a_stride, const void* w, size_t w_stride,
                      float* c, size_t c_stride) {
  constexpr GemmDot kDot = kVnni ? GemmDot::kVnni : GemmDot::kSmallWeights;
  gemm<kDot>(pack_q4_0, m, n, k, a, a_stride, w, w_stride, c, c_stride);
}

}  // namespace
}  // namespace loci_x86_q8act
