// The register blocking shared by the x86 float (F32, F16, BF16) and K-quant
// (Q4_K, Q6_K) kernel files, and the float products.
//
// Each float output c[i][j] is one vector accumulator, FMA'd over k in order
// (the k tail loaded zero-filled, never read past the row) and then reduced in
// a fixed pattern. The tile shape only decides how many accumulators run side
// by side, so every output gets the same float operations whatever m, n or the
// tile position are: gemv and gemm agree bit for bit.
//
// Everything here has internal linkage: each ISA's file gets its own copy
// compiled with its own flags, and no out-of-line copy built with wider
// instructions can be shared with another file by the linker.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>

#include "kernels/x86/x86_intrin.h"
#include "loci/dtype.h"

namespace {

inline const uint8_t* row_at(const void* base, size_t i, size_t stride) {
  return static_cast<const uint8_t*>(base) + i * stride;
}

inline float* out_row(float* c, size_t i, size_t stride) {
  return reinterpret_cast<float*>(reinterpret_cast<uint8_t*>(c) + i * stride);
}

// Fixed-order horizontal sums: the last step of every output.
#if defined(__AVX512F__)
inline float hsum512(__m512 v) {
  const __m256 s8 = _mm256_add_ps(_mm512_castps512_ps256(v), _mm512_extractf32x8_ps(v, 1));
  const __m128 s4 = _mm_add_ps(_mm256_castps256_ps128(s8), _mm256_extractf128_ps(s8, 1));
  const __m128 s2 = _mm_add_ps(s4, _mm_movehl_ps(s4, s4));
  return _mm_cvtss_f32(_mm_add_ss(s2, _mm_movehdup_ps(s2)));
}
#endif
inline float hsum256(__m256 v) {
  const __m128 s4 = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  const __m128 s2 = _mm_add_ps(s4, _mm_movehl_ps(s4, s4));
  return _mm_cvtss_f32(_mm_add_ss(s2, _mm_movehdup_ps(s2)));
}

// K-quant kernels do enough work per weight byte that the hardware prefetcher
// alone falls behind when weights stream from memory, so they ask for the
// block kPrefetchAhead bytes further on. Prefetches never fault, so running
// past a row's end is harmless (the address is formed as an integer).
inline constexpr size_t kPrefetchAhead = 2048;

template <size_t Bytes>
inline void prefetch_ahead(const void* p) {
  const uintptr_t at = reinterpret_cast<uintptr_t>(p) + kPrefetchAhead;
  for (size_t off = 0; off < Bytes; off += 64) _mm_prefetch(reinterpret_cast<const char*>(at + off), _MM_HINT_T0);
}

// --- Generic register blocking --------------------------------------------
// T::run<MR, NR>(k, a, a_stride, w, w_stride, c, c_stride) computes an MR x NR
// block of outputs over the whole of k (FloatTile, SuperBlockTile below).

// Picks the tile for a tail of nr < NR weight rows.
template <class T, size_t MR, size_t NR>
inline void run_tile_cols(size_t nr, size_t k, const uint8_t* a, size_t a_stride, const uint8_t* w, size_t w_stride,
                          float* c, size_t c_stride) {
  if constexpr (NR > 1) {
    if (nr < NR) return run_tile_cols<T, MR, NR - 1>(nr, k, a, a_stride, w, w_stride, c, c_stride);
  }
  T::template run<MR, NR>(k, a, a_stride, w, w_stride, c, c_stride);
}

// Picks the tile for a tail of mr < MR activation rows.
template <class T, size_t MR, size_t NR>
inline void run_tile(size_t mr, size_t nr, size_t k, const uint8_t* a, size_t a_stride, const uint8_t* w,
                     size_t w_stride, float* c, size_t c_stride) {
  if constexpr (MR > 1) {
    if (mr < MR) return run_tile<T, MR - 1, NR>(mr, nr, k, a, a_stride, w, w_stride, c, c_stride);
  }
  run_tile_cols<T, MR, NR>(nr, k, a, a_stride, w, w_stride, c, c_stride);
}

// The whole m x n call: groups of NR weight rows, each met by every group of
// MR activation rows while it is still in cache.
template <class T, size_t MR, size_t NR>
void gemm_tiles(size_t m, size_t n, size_t k, const void* a, size_t a_stride, const void* w, size_t w_stride, float* c,
                size_t c_stride) {
  for (size_t j0 = 0; j0 < n; j0 += NR) {
    const size_t nr = n - j0 < NR ? n - j0 : NR;
    for (size_t i0 = 0; i0 < m; i0 += MR) {
      const size_t mr = m - i0 < MR ? m - i0 : MR;
      run_tile<T, MR, NR>(mr, nr, k, row_at(a, i0, a_stride), a_stride, row_at(w, j0, w_stride), w_stride,
                          out_row(c, i0, c_stride) + j0, c_stride);
    }
  }
}

// --- Accumulator tiles -----------------------------------------------------
// A vector math policy M provides V (kLanes floats), zero(), fma(a, b, acc)
// and reduce(v), the fixed-order horizontal sum that ends every output.

template <class M, size_t MR, size_t NR>
inline void zero_tile(typename M::V (&acc)[MR][NR]) {
  for (size_t i = 0; i < MR; ++i)
    for (size_t j = 0; j < NR; ++j) acc[i][j] = M::zero();
}

template <class M, size_t MR, size_t NR>
inline void store_tile(const typename M::V (&acc)[MR][NR], float* c, size_t c_stride) {
  for (size_t i = 0; i < MR; ++i) {
    float* ci = out_row(c, i, c_stride);
    for (size_t j = 0; j < NR; ++j) ci[j] = M::reduce(acc[i][j]);
  }
}

// --- Float products ---------------------------------------------------------

// A loader L is a math policy that also provides
//   load(row, p)           elements p..p+kLanes-1 of a row, widened to f32
//   load_tail(row, p, r)   the r < kLanes elements from p, zeros after them
template <class L>
struct FloatTile {
  using V = typename L::V;

  // acc[i][j] += a row i * w row j over one vector of k, read by load(row).
  template <size_t MR, size_t NR, class Load>
  static void fma_step(V (&acc)[MR][NR], const uint8_t* a, size_t a_stride, const uint8_t* w, size_t w_stride,
                       Load load) {
    V wv[NR];
    for (size_t j = 0; j < NR; ++j) wv[j] = load(w + j * w_stride);
    for (size_t i = 0; i < MR; ++i) {
      const V av = load(a + i * a_stride);
      for (size_t j = 0; j < NR; ++j) acc[i][j] = L::fma(av, wv[j], acc[i][j]);
    }
  }

  template <size_t MR, size_t NR>
  static void run(size_t k, const uint8_t* a, size_t a_stride, const uint8_t* w, size_t w_stride, float* c,
                  size_t c_stride) {
    V acc[MR][NR];
    zero_tile<L>(acc);
    size_t p = 0;
    for (; p + L::kLanes <= k; p += L::kLanes)
      fma_step(acc, a, a_stride, w, w_stride, [p](const uint8_t* row) { return L::load(row, p); });
    if (p < k) {
      const size_t rest = k - p;
      fma_step(acc, a, a_stride, w, w_stride, [p, rest](const uint8_t* row) { return L::load_tail(row, p, rest); });
    }
    store_tile<L>(acc, c, c_stride);
  }
};

template <class L, size_t MR, size_t NR>
void float_gemm(size_t m, size_t n, size_t k, const void* a, size_t a_stride, const void* w, size_t w_stride, float* c,
                size_t c_stride) {
  gemm_tiles<FloatTile<L>, MR, NR>(m, n, k, a, a_stride, w, w_stride, c, c_stride);
}

// --- K-quant products --------------------------------------------------------

// Q8_K block b of each activation row a tile meets: rows[i] is row i's.
struct Q8KRows {
  const uint8_t* a;
  size_t stride, b;
  const loci::BlockQ8_K& operator[](size_t i) const {
    return reinterpret_cast<const loci::BlockQ8_K*>(a + i * stride)[b];
  }
};

// A codec C is a math policy for one K-quant weight type against Q8_K
// activations, plus
//   Block                                        the GGUF weight block
//   accumulate<MR, NR>(block, a, a_stride, b, acc, j)
//       acc[i][j] += that block's part of output (i, j) for every i < MR,
//       against Q8KRows{a, a_stride, b}[i]: exact integer sums, then fixed
//       float steps, so the result does not depend on MR. (Each codec builds
//       the Q8KRows itself, after unpacking: built here, GCC schedules the
//       AVX-512 gemv loop ~3% slower.)
template <class C>
struct SuperBlockTile {
  // Out of line: inlined into gemm_tiles, the AVX2 4-row tile's loop is
  // register-allocated worse and runs ~1.5% slower.
  template <size_t MR, size_t NR>
  [[gnu::noinline]] static void run(size_t k, const uint8_t* a, size_t a_stride, const uint8_t* w, size_t w_stride,
                                    float* c, size_t c_stride) {
    using Block = typename C::Block;
    typename C::V acc[MR][NR];
    zero_tile<C>(acc);
    for (size_t b = 0; b < k / loci::kQK_K; ++b) {
      for (size_t j = 0; j < NR; ++j) {
        const Block& block = reinterpret_cast<const Block*>(w + j * w_stride)[b];
        prefetch_ahead<sizeof(Block)>(&block);
        C::template accumulate<MR, NR>(block, a, a_stride, b, acc, j);
      }
    }
    store_tile<C>(acc, c, c_stride);
  }
};

#if defined(__AVX512F__)
struct Avx512Math {
  using V = __m512;
  static constexpr size_t kLanes = 16;
  static V zero() { return _mm512_setzero_ps(); }
  static V fma(V a, V b, V acc) { return _mm512_fmadd_ps(a, b, acc); }
  static float reduce(V v) { return hsum512(v); }
  static __mmask16 tail_mask(size_t rest) { return __mmask16((1u << rest) - 1u); }
};

struct Avx512F32 : Avx512Math {
  static V load(const uint8_t* row, size_t p) { return _mm512_loadu_ps(reinterpret_cast<const float*>(row) + p); }
  static V load_tail(const uint8_t* row, size_t p, size_t rest) {
    return _mm512_maskz_loadu_ps(tail_mask(rest), reinterpret_cast<const float*>(row) + p);
  }
};

struct Avx512F16 : Avx512Math {
  static V load(const uint8_t* row, size_t p) {
    return _mm512_cvtph_ps(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(row + 2 * p)));
  }
  static V load_tail(const uint8_t* row, size_t p, size_t rest) {
    return _mm512_cvtph_ps(_mm256_maskz_loadu_epi16(tail_mask(rest), row + 2 * p));
  }
};

// bf16 is the top half of an f32, so widening is a 16-bit shift.
struct Avx512Bf16 : Avx512Math {
  static V widen(__m256i h) { return _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_cvtepu16_epi32(h), 16)); }
  static V load(const uint8_t* row, size_t p) {
    return widen(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(row + 2 * p)));
  }
  static V load_tail(const uint8_t* row, size_t p, size_t rest) {
    return widen(_mm256_maskz_loadu_epi16(tail_mask(rest), row + 2 * p));
  }
};
#endif  // __AVX512F__

#if defined(__AVX2__) && defined(__FMA__) && defined(__F16C__)
struct Avx2Math {
  using V = __m256;
  static constexpr size_t kLanes = 8;
  static V zero() { return _mm256_setzero_ps(); }
  static V fma(V a, V b, V acc) { return _mm256_fmadd_ps(a, b, acc); }
  static float reduce(V v) { return hsum256(v); }
  // The last `rest` 16-bit elements of a row, zero-padded to 8, without
  // reading past the row (AVX2 has no 16-bit masked load).
  static __m128i tail16(const uint8_t* row, size_t p, size_t rest) {
    uint16_t buf[8] = {};
    std::memcpy(buf, row + 2 * p, 2 * rest);
    return _mm_loadu_si128(reinterpret_cast<const __m128i*>(buf));
  }
};

struct Avx2F32 : Avx2Math {
  static V load(const uint8_t* row, size_t p) { return _mm256_loadu_ps(reinterpret_cast<const float*>(row) + p); }
  static V load_tail(const uint8_t* row, size_t p, size_t rest) {
    const __m256i lane = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
    const __m256i mask = _mm256_cmpgt_epi32(_mm256_set1_epi32(int(rest)), lane);
    return _mm256_maskload_ps(reinterpret_cast<const float*>(row) + p, mask);
  }
};

struct Avx2F16 : Avx2Math {
  static V load(const uint8_t* row, size_t p) {
    return _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(row + 2 * p)));
  }
  static V load_tail(const uint8_t* row, size_t p, size_t rest) { return _mm256_cvtph_ps(tail16(row, p, rest)); }
};

struct Avx2Bf16 : Avx2Math {
  static V widen(__m128i h) { return _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_cvtepu16_epi32(h), 16)); }
  static V load(const uint8_t* row, size_t p) {
    return widen(_mm_loadu_si128(reinterpret_cast<const __m128i*>(row + 2 * p)));
  }
  static V load_tail(const uint8_t* row, size_t p, size_t rest) { return widen(tail16(row, p, rest)); }
};
#endif  // AVX2 + FMA + F16C

}  // namespace
