// Where the integer codes sit inside the packed GGUF blocks, written once for
// the dequantizers and the reference kernels so the two cannot disagree.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>

#include "loci/dtype.h"

namespace loci {

// The fifth bits of a Q5_0/Q5_1 block as one word: bit e is element e's
// (qh is little-endian, as GGUF is).
inline uint32_t legacy_qh_word(const uint8_t qh[4]) {
  uint32_t v;
  std::memcpy(&v, qh, sizeof v);
  return v;
}

// The codes of elements j and j + 16 of a Q4_0/Q4_1/Q5_0/Q5_1 block: the low
// and high nibble of qs[j], plus for the Q5 types their bit of the qh word
// (pass 0 for the Q4 types).
struct LegacyCodePair {
  int lo, hi;
};

inline LegacyCodePair legacy_code_pair(const uint8_t* qs, uint32_t qh, size_t j) {
  return {int((qs[j] & 0xF) | (((qh >> j) & 1u) << 4)), int((qs[j] >> 4) | (((qh >> (j + kQK / 2)) & 1u) << 4))};
}

// Scale j (0..15) of a Q3_K block, in -32..31: the low 4 bits from a nibble
// of bytes 0..7 (codes 8..15 in the high nibbles), the high 2 bits from byte
// 8 + j % 4 at bit 2 * (j / 4).
inline int q3_k_scale(const uint8_t* s, int j) {
  const int low = j < 8 ? (s[j] & 0xF) : (s[j - 8] >> 4);
  const int high = (s[8 + j % 4] >> (2 * (j / 4))) & 3;
  return (low | (high << 4)) - 32;
}

}  // namespace loci
