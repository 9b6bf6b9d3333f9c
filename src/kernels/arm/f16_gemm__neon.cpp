// F16 x F16 on baseline aarch64 Advanced SIMD: halves are widened to f32 with
// FCVTL (exact) and multiplied-accumulated with FMLA in f32.
//
// Every output c[i][j] goes through the same sequence of operations whatever
// the tile shape, so gemv and gemm agree bit for bit and the result depends
// only on activation row i and weight row j.
#include <arm_neon.h>

#include <cmath>
#include <cstdint>
#include <cstring>
#include <type_traits>

#include "kernels/ukernel.h"

namespace {

template <int N>
using Int = std::integral_constant<int, N>;

// Splits the m x n output into MR x NR tiles, with MR x 1, 1 x NR and 1 x 1
// tiles for the tails; tile(Int<R>, Int<C>, i0, j0) computes one tile.
template <int MR, int NR, typename Tile>
inline void for_each_tile(size_t m, size_t n, Tile&& tile) {
  size_t i = 0;
  for (; i + MR <= m; i += MR) {
    size_t j = 0;
    for (; j + NR <= n; j += NR) tile(Int<MR>(), Int<NR>(), i, j);
    for (; j < n; ++j) tile(Int<MR>(), Int<1>(), i, j);
  }
  for (; i < m; ++i) {
    size_t j = 0;
    for (; j + NR <= n; j += NR) tile(Int<1>(), Int<NR>(), i, j);
    for (; j < n; ++j) tile(Int<1>(), Int<1>(), i, j);
  }
}

template <typename T>
inline const T* row_at(const void* base, size_t stride, size_t r) {
  return reinterpret_cast<const T*>(static_cast<const uint8_t*>(base) + r * stride);
}

inline float* out_row(float* c, size_t stride, size_t r) {
  return reinterpret_cast<float*>(reinterpret_cast<uint8_t*>(c) + r * stride);
}

// Exact, one FCVT: every half is a float.
inline float half_to_float(uint16_t h) {
  __fp16 x;
  std::memcpy(&x, &h, sizeof x);
  return float(x);
}

// Four halves from p, widened exactly to f32.
inline float32x4_t load4(const uint16_t* p) { return vcvt_f32_f16(vreinterpret_f16_u16(vld1_u16(p))); }

// One MR x NR tile over all k. Each output keeps one f32x4 accumulator over
// the first k - k % 4 elements, summed across lanes at the end; the last
// k % 4 products are then added one by one.
template <int MR, int NR>
void tile(size_t k, const void* a, size_t a_stride, const void* w, size_t w_stride, float* c, size_t c_stride) {
  const uint16_t* ar[MR];
  const uint16_t* wr[NR];
#pragma GCC unroll 8
  for (int i = 0; i < MR; ++i) ar[i] = row_at<uint16_t>(a, a_stride, i);
#pragma GCC unroll 8
  for (int j = 0; j < NR; ++j) wr[j] = row_at<uint16_t>(w, w_stride, j);

  float32x4_t acc[MR][NR];
#pragma GCC unroll 8
  for (int i = 0; i < MR; ++i)
#pragma GCC unroll 8
    for (int j = 0; j < NR; ++j) acc[i][j] = vdupq_n_f32(0.0f);

  const size_t k4 = k - k % 4;
  for (size_t p = 0; p < k4; p += 4) {
    float32x4_t wv[NR];
#pragma GCC unroll 8
    for (int j = 0; j < NR; ++j) wv[j] = load4(wr[j] + p);
#pragma GCC unroll 8
    for (int i = 0; i < MR; ++i) {
      const float32x4_t av = load4(ar[i] + p);
#pragma GCC unroll 8
      for (int j = 0; j < NR; ++j) acc[i][j] = vfmaq_f32(acc[i][j], av, wv[j]);
    }
  }

#pragma GCC unroll 8
  for (int i = 0; i < MR; ++i)
#pragma GCC unroll 8
    for (int j = 0; j < NR; ++j) {
      float sum = vaddvq_f32(acc[i][j]);
      for (size_t p = k4; p < k; ++p) sum = std::fma(half_to_float(ar[i][p]), half_to_float(wr[j][p]), sum);
      out_row(c, c_stride, i)[j] = sum;
    }
}

template <int MR, int NR>
void gemm_tiles(size_t m, size_t n, size_t k, const void* a, size_t a_stride, const void* w, size_t w_stride,
                float* c, size_t c_stride) {
  for_each_tile<MR, NR>(m, n, [&](auto mr, auto nr, size_t i0, size_t j0) {
    tile<decltype(mr)::value, decltype(nr)::value>(k, row_at<uint8_t>(a, a_stride, i0), a_stride,
                                                   row_at<uint8_t>(w, w_stride, j0), w_stride,
                                                   out_row(c, c_stride, i0) + j0, c_stride);
  });
}

}  // namespace

// One activation row against eight weight rows at a time.
void loci_f16_gemv__neon(size_t m, size_t n, size_t k, const void* a, size_t a_stride, const void* w,
                         size_t w_stride, float* c, size_t c_stride) {
  gemm_tiles<1, 8>(m, n, k, a, a_stride, w, w_stride, c, c_stride);
}

// 4 x 4 tiles: 16 accumulators and 8 operand registers.
void loci_f16_gemm__neon(size_t m, size_t n, size_t k, const void* a, size_t a_stride, const void* w,
                         size_t w_stride, float* c, size_t c_stride) {
  gemm_tiles<4, 4>(m, n, k, a, a_stride, w, w_stride, c, c_stride);
}
