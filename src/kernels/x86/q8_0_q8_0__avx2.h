// Q8_0 x Q8_0 on AVX2: the weight-side pieces on top of q8_0_act__avx2.h.
#pragma once

#include "kernels/x86/q8_0_act__avx2.h"

namespace loci_x86_q8act_avx2 {
namespace {

// Up to 8 rows x nblocks blocks into the panel.
inline void pack_q8_0(const uint8_t* w, size_t w_stride, size_t rows, size_t b0, size_t nblocks, PanelBlock* out) {
  const uint8_t* row[kLanes];
  panel_rows(w, w_stride, rows, b0 * kQ8BlockBytes, row);
  alignas(32) uint16_t d16[kChunkBlocks][kLanes];
  copy_panel_scales(row, kQ8BlockBytes, nblocks, d16);
  for (size_t b = 0; b < nblocks; ++b) {
    __m256i r[kLanes], wv[8];
    for (size_t l = 0; l < kLanes; ++l) r[l] = load256(row[l] + b * kQ8BlockBytes + 2);
    transpose_8x8(r, wv);
    store_panel_block(wv, d16[b], out + b);
  }
}

}  // namespace
}  // namespace loci_x86_q8act_avx2
