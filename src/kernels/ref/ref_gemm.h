// Shared scaffolding of the reference kernels: the m x n loop over row pairs
// and the K-quant super-block dot product. Each ref kernel supplies only its
// per-row dot product, so the loop cannot differ between products.
#pragma once

#include <cstddef>
#include <cstdint>

#include "loci/dtype.h"

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

// One K-quant super-block decoded to integers: the weight of element e is
// d * scale[e / 16] * q[e] - dmin * min[e / 16].
struct DecodedSuperBlock {
  int8_t q[kQK_K];
  int32_t scale[kQK_K / 16];
  int32_t min[kQK_K / 16];  // zero for the types without mins (Q3_K, Q6_K)
};

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

}  // namespace loci::ref
