// Q4_K scale unpacking shared by the x86 Q4_K kernels (plain integer code).
#pragma once

#include <cstdint>
#include <cstring>

namespace {

// The eight 6-bit scales and mins of a Q4_K block, one per byte (byte j is
// sub-block j), unpacked from the 12-byte field with word-wide bit moves.
struct Q4KScales {
  uint64_t scales, mins;
};

inline Q4KScales q4k_scales(const uint8_t* s) {
  uint32_t u0, u1, u2;
  std::memcpy(&u0, s, 4);
  std::memcpy(&u1, s + 4, 4);
  std::memcpy(&u2, s + 8, 4);
  const uint32_t low6 = 0x3f3f3f3fu, low4 = 0x0f0f0f0fu, bits45 = 0x30303030u;
  const uint32_t sc_lo = u0 & low6, mn_lo = u1 & low6;               // sub-blocks 0..3
  const uint32_t sc_hi = (u2 & low4) | ((u0 >> 2) & bits45);         // 4..7: top 2 bits
  const uint32_t mn_hi = ((u2 >> 4) & low4) | ((u1 >> 2) & bits45);  // come from bytes 0..7
  return {sc_lo | uint64_t(sc_hi) << 32, mn_lo | uint64_t(mn_hi) << 32};
}

}  // namespace
