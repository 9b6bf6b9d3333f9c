// Q4_0 x Q8_0 on AVX2: the weight-side pieces on top of q8_0_act__avx2.h.
#pragma once

#include "kernels/x86/q8_0_act__avx2.h"

namespace loci_x86_q8act_avx2 {
namespace {

constexpr size_t kQ4BlockBytes = 18;

// Up to 8 rows x nblocks blocks into the panel as signed values (nibble - 8).
inline void pack_q4_0(const uint8_t* w, size_t w_stride, size_t rows, size_t b0, size_t nblocks, PanelBlock* out) {
  const uint8_t* row[kLanes];
  panel_rows(w, w_stride, rows, b0 * kQ4BlockBytes, row);
  alignas(32) uint16_t d16[kChunkBlocks][kLanes];
  copy_panel_scales(row, kQ4BlockBytes, nblocks, d16);
  const __m256i eight = _mm256_set1_epi8(8);
  for (size_t b = 0; b < nblocks; ++b) {
    __m256i r[kLanes], wv[8];
    for (size_t l = 0; l < kLanes; ++l) {
      const __m128i x = load128(row[l] + b * kQ4BlockBytes + 2);
      const __m256i nib = _mm256_inserti128_si256(_mm256_castsi128_si256(x), _mm_srli_epi16(x, 4), 1);
      r[l] = _mm256_sub_epi8(low_nibbles(nib), eight);  // elements 0-31 in order
    }
    transpose_8x8(r, wv);
    store_panel_block(wv, d16[b], out + b);
  }
}

}  // namespace
}  // namespace loci_x86_q8act_avx2
