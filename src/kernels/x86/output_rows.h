// Output rows of a kernel call: c is m rows of n floats, c_stride bytes apart.
// Shared by the x86 kernel headers; internal linkage, so each ISA file keeps
// its own copy (no weak symbols across ISA flags).
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>

namespace {

inline float* row_ptr(float* c, size_t c_stride, size_t i) {
  return reinterpret_cast<float*>(reinterpret_cast<uint8_t*>(c) + i * c_stride);
}

// A product over k = 0 is all zeros.
inline void zero_rows(size_t m, size_t n, float* c, size_t c_stride) {
  for (size_t i = 0; i < m; ++i) std::memset(row_ptr(c, c_stride, i), 0, n * sizeof(float));
}

}  // namespace
