// Shared scaffolding of the reference kernels: the m x n loop over row pairs
// and the row dot products of each family (float, legacy 32-element blocks,
// K-quant super-blocks). Each ref kernel supplies only how its elements or
// blocks decode, so the loops and float steps cannot differ between products.
#pragma once

#include <cstddef>
#include <cstdint>
#include <type_traits>

#include "loci/dtype.h"
#include "loci/fp16.h"
#include "loci/quant.h"
#include "quant/block_codes.h"

namespace loci::ref {

// c[i][j] = dot(w row j, a row i, k) for i < m, j < n. W and A are the element
// or block types of the weight and activation rows.
template <typename W, typename A, typename Dot>
inline void gemm_rows(size_t m, size_t n, size_t k, const void* a, size_t a_stride, const void* w, size_t w_stride,
                      float* c, size_t c_stride, Dot dot) {
  const auto* ab = static_cast<const uint8_t*>(a);
  const auto* wb = static_cast<const uint8_t*>(w);
  for (size_t i = 0; i < m; ++i) {
    const A* ai = reinterpret_cast<const A*>(ab + i * a_stride);
    float* ci = reinterpret_cast<float*>(reinterpret_cast<uint8_t*>(c) + i * c_stride);
    for (size_t j = 0; j < n; ++j) ci[j] = dot(reinterpret_cast<const W*>(wb + j * w_stride), ai, k);
  }
}

// ---- float rows ---------------------------------------------------------------

// Both sides widened to f32 exactly, multiplied and accumulated left to right.
template <typename T, float (*Widen)(T)>
float float_row_dot(const T* w, const T* a, size_t k) {
  float sum = 0.0f;
  for (size_t p = 0; p < k; ++p) sum += Widen(w[p]) * Widen(a[p]);
  return sum;
}

template <typename T, float (*Widen)(T)>
void float_gemm(size_t m, size_t n, size_t k, const void* a, size_t a_stride, const void* w, size_t w_stride, float* c,
                size_t c_stride) {
  gemm_rows<T, T>(m, n, k, a, a_stride, w, w_stride, c, c_stride, float_row_dot<T, Widen>);
}

// ---- legacy 32-element blocks ---------------------------------------------------

// A legacy block's codes minus `offset`; qh is the Q5 types' fifth-bit word
// (0 for the Q4 types).
inline void legacy_codes(const uint8_t* qs, uint32_t qh, int offset, int8_t* q) {
  for (size_t j = 0; j < kQK / 2; ++j) {
    const LegacyCodePair c = legacy_code_pair(qs, qh, j);
    q[j] = int8_t(c.lo - offset);
    q[j + kQK / 2] = int8_t(c.hi - offset);
  }
}

// One block's float step, as llama.cpp's scalar vec_dot: the exact integer
// dot product times both scales; against Q8_1 the weight's offset m also
// meets the activation's precomputed sum s.
template <typename W>
float legacy_block_value(const W& w, const BlockQ8_0& a, int32_t isum) {
  return float(isum) * (fp16_to_f32(w.d) * fp16_to_f32(a.d));
}
template <typename W>
float legacy_block_value(const W& w, const BlockQ8_1& a, int32_t isum) {
  return float(isum) * (fp16_to_f32(w.d) * fp16_to_f32(a.d)) + fp16_to_f32(w.m) * fp16_to_f32(a.s);
}

// Decode(block, q) writes a weight block's kQK signed integer codes, with the
// format's offset applied; blocks are accumulated in order.
template <typename W, typename A, void (*Decode)(const W&, int8_t*)>
float legacy_row_dot(const W* w, const A* a, size_t k) {
  float sum = 0.0f;
  for (size_t b = 0; b < k / kQK; ++b) {
    int8_t q[kQK];
    Decode(w[b], q);
    int32_t isum = 0;
    for (size_t e = 0; e < kQK; ++e) isum += int32_t(q[e]) * int32_t(a[b].qs[e]);
    sum += legacy_block_value(w[b], a[b], isum);
  }
  return sum;
}

template <typename W, typename A, void (*Decode)(const W&, int8_t*)>
void legacy_gemm(size_t m, size_t n, size_t k, const void* a, size_t a_stride, const void* w, size_t w_stride,
                 float* c, size_t c_stride) {
  gemm_rows<W, A>(m, n, k, a, a_stride, w, w_stride, c, c_stride, legacy_row_dot<W, A, Decode>);
}

// ---- K-quant super-blocks ---------------------------------------------------------

// One K-quant super-block decoded to integers: the weight of element e is
// d * scale[e / 16] * q[e] - dmin * min[e / 16].
struct DecodedSuperBlock {
  int8_t q[kQK_K];
  int32_t scale[kQK_K / 16];
  int32_t min[kQK_K / 16] = {};  // stays zero for the types without mins (Q3_K, Q6_K)
};

// The low two bits of element e of Q2_K/Q3_K: byte 32 * (e / 128) + e % 32 of
// qs, at bit 2 * ((e % 128) / 32).
inline int32_t k_two_bits(const uint8_t* qs, size_t e) {
  return (qs[32 * (e / 128) + e % 32] >> (2 * ((e % 128) / 32))) & 3;
}

// The low four bits of element e of Q4_K/Q5_K: sub-block s = e / 32 takes the
// low (s even) or high nibbles of qs[32 * (s / 2) ..+32].
inline int32_t k_nibble(const uint8_t* qs, size_t e) {
  const size_t sub = e / 32;
  return (qs[32 * (sub / 2) + e % 32] >> (4 * (sub % 2))) & 0xF;
}

// Q4_K/Q5_K: the 6-bit scale and min of each 32-element sub-block, given to
// both of its 16-element groups.
inline void decode_k_scale_min(const uint8_t* scales, DecodedSuperBlock* out) {
  for (size_t g = 0; g < kQK_K / 16; ++g) {
    uint8_t scale, min;
    k_scale_min(scales, int(g / 2), &scale, &min);
    out->scale[g] = scale;
    out->min[g] = min;
  }
}

// Integer part of one super-block's dot product with a Q8_K block:
// scaled = sum_g scale[g] * sum(q * a.qs over group g) and the min term from
// the activation's per-16 sums, as llama.cpp's scalar vec_dot does.
struct SuperBlockSums {
  int32_t scaled;
  int32_t mins;
};

inline SuperBlockSums superblock_sums(const DecodedSuperBlock& wq, const BlockQ8_K& a) {
  SuperBlockSums s{0, 0};
  for (size_t g = 0; g < kQK_K / 16; ++g) {
    int32_t isum = 0;
    for (size_t l = 0; l < 16; ++l) isum += int32_t(wq.q[16 * g + l]) * int32_t(a.qs[16 * g + l]);
    s.scaled += wq.scale[g] * isum;
    s.mins += wq.min[g] * int32_t(a.bsums[g]);
  }
  return s;
}

// Whether a K-quant block has a min scale (Q2_K, Q4_K, Q5_K).
template <typename W, typename = void>
inline constexpr bool kHasDmin = false;
template <typename W>
inline constexpr bool kHasDmin<W, std::void_t<decltype(W::dmin)>> = true;

// One super-block's float step, as llama.cpp's scalar vec_dot.
template <typename W>
float superblock_value(const W& w, const BlockQ8_K& a, const SuperBlockSums& s) {
  if constexpr (kHasDmin<W>)
    return (fp16_to_f32(w.d) * a.d) * float(s.scaled) - (fp16_to_f32(w.dmin) * a.d) * float(s.mins);
  else
    return (fp16_to_f32(w.d) * a.d) * float(s.scaled);
}

// Decode(block, out) unpacks one weight super-block; blocks are accumulated
// in order.
template <typename W, void (*Decode)(const W&, DecodedSuperBlock*)>
float superblock_row_dot(const W* w, const BlockQ8_K* a, size_t k) {
  float sum = 0.0f;
  for (size_t b = 0; b < k / kQK_K; ++b) {
    DecodedSuperBlock wq;
    Decode(w[b], &wq);
    sum += superblock_value(w[b], a[b], superblock_sums(wq, a[b]));
  }
  return sum;
}

template <typename W, void (*Decode)(const W&, DecodedSuperBlock*)>
void superblock_gemm(size_t m, size_t n, size_t k, const void* a, size_t a_stride, const void* w, size_t w_stride,
                     float* c, size_t c_stride) {
  gemm_rows<W, BlockQ8_K>(m, n, k, a, a_stride, w, w_stride, c, c_stride, superblock_row_dot<W, Decode>);
}

}  // namespace loci::ref
