// Moving values between block bytes and vector lanes, for the aarch64 kernels
// that keep one float lane per weight row: unaligned scalar loads, gathers of
// one scale per row into lanes, and the reduction of four vectors into one
// lane each. Baseline Advanced SIMD only, so every ISA level may include it;
// the anonymous namespace gives each file (and its -march) its own copy.
#pragma once

#include <arm_neon.h>

#include <cstddef>
#include <cstdint>
#include <cstring>

namespace {

// The T at p, which need not be aligned.
template <typename T>
inline T load(const uint8_t* p) {
  T v;
  std::memcpy(&v, p, sizeof v);
  return v;
}

// The fp16 value at p as a float (exact: one FCVT).
inline float load_f16(const uint8_t* p) { return float(load<__fp16>(p)); }

// The fp16 values at byte `off` of four rows, lane i for row i (exact).
inline float32x4_t load_f16x4(const uint8_t* const* rows, size_t off) {
  uint16x4_t h = vdup_n_u16(0);
  h = vset_lane_u16(load<uint16_t>(rows[0] + off), h, 0);
  h = vset_lane_u16(load<uint16_t>(rows[1] + off), h, 1);
  h = vset_lane_u16(load<uint16_t>(rows[2] + off), h, 2);
  h = vset_lane_u16(load<uint16_t>(rows[3] + off), h, 3);
  return vcvt_f32_f16(vreinterpret_f16_u16(h));
}

// The floats at byte `off` of four rows, lane i for row i.
inline float32x4_t load_f32x4(const uint8_t* const* rows, size_t off) {
  float v[4];
  for (int i = 0; i < 4; ++i) v[i] = load<float>(rows[i] + off);
  return vld1q_f32(v);
}

// Lane j of the result is the sum of the lanes of p[j] (pairwise, so exact
// for integers and the same order as vaddvq for floats).
inline int32x4_t reduce4(const int32x4_t* p) { return vpaddq_s32(vpaddq_s32(p[0], p[1]), vpaddq_s32(p[2], p[3])); }

// Pointers to the blocks at byte `off` of the tile's four weight rows.
inline void blocks_at(const uint8_t* const* cols, size_t off, const uint8_t** blocks) {
  for (int j = 0; j < 4; ++j) blocks[j] = cols[j] + off;
}

}  // namespace
