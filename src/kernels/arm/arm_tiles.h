// The m x n loop shared by the aarch64 quantized kernels: c is cut into
// R x kCols tiles and a micro-tile functor computes each one. LaneTile is the
// micro-tile of the kernels that keep one float lane per weight row. Baseline
// Advanced SIMD only, so every ISA level may include it; the anonymous
// namespace gives each file (and its -march) its own copy.
#pragma once

#include <arm_neon.h>

#include <algorithm>
#include <cstddef>
#include <cstdint>

namespace {

constexpr int kCols = 4;  // weight rows per tile, one per float lane

// Runs tile(rows, cols, out) over the R x kCols tiles of c: rows and cols point
// at the tile's activation and weight rows, and out[r] receives row r's
// kCols results. Tail tiles repeat the last valid row or column (reads stay in
// bounds; the extra results are dropped), so every output, tail or not, takes
// the same operations on its own two rows only. Kept out of line: inlined
// into an entry point, GCC allocates some tiles' registers worse (the NEON
// Q6_K gemv spilled half again as often).
template <int R, typename Tile>
[[gnu::noinline]] void for_each_tile(size_t m, size_t n, const void* a, size_t a_stride, const void* w,
                                     size_t w_stride, float* c, size_t c_stride, const Tile& tile) {
  const auto* ab = static_cast<const uint8_t*>(a);
  const auto* wb = static_cast<const uint8_t*>(w);
  for (size_t i0 = 0; i0 < m; i0 += R) {
    const uint8_t* rows[R];
    for (int r = 0; r < R; ++r) rows[r] = ab + std::min(i0 + r, m - 1) * a_stride;
    const size_t rn = std::min<size_t>(R, m - i0);
    for (size_t j0 = 0; j0 < n; j0 += kCols) {
      const uint8_t* cols[kCols];
      for (int j = 0; j < kCols; ++j) cols[j] = wb + std::min(j0 + j, n - 1) * w_stride;
      float32x4_t out[R];
      tile(rows, cols, out);
      const size_t cn = std::min<size_t>(kCols, n - j0);
      for (size_t r = 0; r < rn; ++r) {
        float* ci = reinterpret_cast<float*>(reinterpret_cast<uint8_t*>(c) + (i0 + r) * c_stride) + j0;
        if (cn == kCols) {
          vst1q_f32(ci, out[r]);
        } else {
          float tmp[kCols];
          vst1q_f32(tmp, out[r]);
          for (size_t j = 0; j < cn; ++j) ci[j] = tmp[j];
        }
      }
    }
  }
}

// R activation rows x kCols weight rows over all k, out[r] lane j for weight
// row j, accumulated one weight block at a time. K supplies kBlockElems and
// accumulate<R>(rows, cols, b, acc), which adds block b's products to acc.
template <int R, typename K>
struct LaneTile {
  size_t blocks;

  void operator()(const uint8_t* const* rows, const uint8_t* const* cols, float32x4_t* out) const {
    float32x4_t acc[R];  // not out itself: GCC keeps a local array in registers
#pragma GCC unroll 4
    for (int r = 0; r < R; ++r) acc[r] = vdupq_n_f32(0.0f);
    for (size_t b = 0; b < blocks; ++b) K::template accumulate<R>(rows, cols, b, acc);
#pragma GCC unroll 4
    for (int r = 0; r < R; ++r) out[r] = acc[r];
  }
};

// c = a * w^T in LaneTile<R, K> tiles.
template <int R, typename K>
void lane_gemm(size_t m, size_t n, size_t k, const void* a, size_t a_stride, const void* w, size_t w_stride, float* c,
               size_t c_stride) {
  for_each_tile<R>(m, n, a, a_stride, w, w_stride, c, c_stride, LaneTile<R, K>{k / K::kBlockElems});
}

}  // namespace
