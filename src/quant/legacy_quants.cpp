// The legacy 32-element block formats: Q4_0, Q4_1, Q5_0, Q5_1 (weights) and
// the dequantizers of Q8_0/Q8_1.
//
// Dequantization uses llama.cpp's float expressions exactly ((q - 8) * d,
// q * d + m, ...), so the same bytes give the same floats. Quantization uses
// the same range mapping and round-half-up as llama.cpp's reference quantizer,
// so an F32 row quantizes to the bytes llama-quantize writes without imatrix.
#include <cfloat>
#include <cmath>
#include <cstring>

#include "loci/fp16.h"
#include "loci/quant.h"

namespace loci {
namespace {

constexpr size_t kHalf = kQK / 2;

// The element of largest magnitude, sign kept (the first one on ties).
float signed_absmax(const float* x, size_t n) {
  float amax = 0.0f, max = 0.0f;
  for (size_t j = 0; j < n; ++j) {
    if (std::fabs(x[j]) > amax) {
      amax = std::fabs(x[j]);
      max = x[j];
    }
  }
  return max;
}

// Truncates v toward zero into [0, hi]; NaN goes to 0. With v = x + 0.5 this
// rounds half up, as llama.cpp's (int8_t)(x + 0.5f) does for x >= -0.5.
int trunc_clamp(float v, int hi) {
  if (!(v >= 0.0f)) return 0;
  if (v >= float(hi)) return hi;
  return int(v);
}

uint32_t load_qh(const uint8_t qh[4]) {
  uint32_t v;
  std::memcpy(&v, qh, sizeof v);
  return v;
}

void store_qh(uint8_t qh[4], uint32_t v) { std::memcpy(qh, &v, sizeof v); }

}  // namespace

// --- quantize ----------------------------------------------------------------

// Symmetric: the largest-magnitude element maps to -8 exactly.
void quantize_row_q4_0(const float* x, BlockQ4_0* y, size_t n) {
  for (size_t b = 0; b < n / kQK; ++b, x += kQK) {
    const float d = signed_absmax(x, kQK) / -8.0f;
    const float id = d != 0.0f ? 1.0f / d : 0.0f;
    y[b].d = f32_to_fp16(d);
    for (size_t j = 0; j < kHalf; ++j) {
      const int lo = trunc_clamp(x[j] * id + 8.5f, 15);
      const int hi = trunc_clamp(x[j + kHalf] * id + 8.5f, 15);
      y[b].qs[j] = uint8_t(lo | (hi << 4));
    }
  }
}

// Affine: min maps to 0 and max to 15.
void quantize_row_q4_1(const float* x, BlockQ4_1* y, size_t n) {
  for (size_t b = 0; b < n / kQK; ++b, x += kQK) {
    float lo = FLT_MAX, hi = -FLT_MAX;
    for (size_t j = 0; j < kQK; ++j) {
      lo = std::fmin(lo, x[j]);
      hi = std::fmax(hi, x[j]);
    }
    const float d = (hi - lo) / 15.0f;
    const float id = d != 0.0f ? 1.0f / d : 0.0f;
    y[b].d = f32_to_fp16(d);
    y[b].m = f32_to_fp16(lo);
    for (size_t j = 0; j < kHalf; ++j) {
      const int q0 = trunc_clamp((x[j] - lo) * id + 0.5f, 15);
      const int q1 = trunc_clamp((x[j + kHalf] - lo) * id + 0.5f, 15);
      y[b].qs[j] = uint8_t(q0 | (q1 << 4));
    }
  }
}

void quantize_row_q5_0(const float* x, BlockQ5_0* y, size_t n) {
  for (size_t b = 0; b < n / kQK; ++b, x += kQK) {
    const float d = signed_absmax(x, kQK) / -16.0f;
    const float id = d != 0.0f ? 1.0f / d : 0.0f;
    y[b].d = f32_to_fp16(d);
    uint32_t qh = 0;
    for (size_t j = 0; j < kHalf; ++j) {
      const int q0 = trunc_clamp(x[j] * id + 16.5f, 31);
      const int q1 = trunc_clamp(x[j + kHalf] * id + 16.5f, 31);
      y[b].qs[j] = uint8_t((q0 & 0xF) | ((q1 & 0xF) << 4));
      qh |= uint32_t(q0 >> 4) << j;
      qh |= uint32_t(q1 >> 4) << (j + kHalf);
    }
    store_qh(y[b].qh, qh);
  }
}

void quantize_row_q5_1(const float* x, BlockQ5_1* y, size_t n) {
  for (size_t b = 0; b < n / kQK; ++b, x += kQK) {
    float lo = FLT_MAX, hi = -FLT_MAX;
    for (size_t j = 0; j < kQK; ++j) {
      lo = std::fmin(lo, x[j]);
      hi = std::fmax(hi, x[j]);
    }
    const float d = (hi - lo) / 31.0f;
    const float id = d != 0.0f ? 1.0f / d : 0.0f;
    y[b].d = f32_to_fp16(d);
    y[b].m = f32_to_fp16(lo);
    uint32_t qh = 0;
    for (size_t j = 0; j < kHalf; ++j) {
      const int q0 = trunc_clamp((x[j] - lo) * id + 0.5f, 31);
      const int q1 = trunc_clamp((x[j + kHalf] - lo) * id + 0.5f, 31);
      y[b].qs[j] = uint8_t((q0 & 0xF) | ((q1 & 0xF) << 4));
      qh |= uint32_t(q0 >> 4) << j;
      qh |= uint32_t(q1 >> 4) << (j + kHalf);
    }
    store_qh(y[b].qh, qh);
  }
}

// --- dequantize --------------------------------------------------------------

void dequantize_row_q4_0(const BlockQ4_0* x, float* y, size_t n) {
  for (size_t b = 0; b < n / kQK; ++b, y += kQK) {
    const float d = fp16_to_f32(x[b].d);
    for (size_t j = 0; j < kHalf; ++j) {
      y[j] = float((x[b].qs[j] & 0xF) - 8) * d;
      y[j + kHalf] = float((x[b].qs[j] >> 4) - 8) * d;
    }
  }
}

void dequantize_row_q4_1(const BlockQ4_1* x, float* y, size_t n) {
  for (size_t b = 0; b < n / kQK; ++b, y += kQK) {
    const float d = fp16_to_f32(x[b].d);
    const float m = fp16_to_f32(x[b].m);
    for (size_t j = 0; j < kHalf; ++j) {
      y[j] = float(x[b].qs[j] & 0xF) * d + m;
      y[j + kHalf] = float(x[b].qs[j] >> 4) * d + m;
    }
  }
}

// Bit j of qh is the fifth bit of element j (elements 16..31 use bits 16..31).
void dequantize_row_q5_0(const BlockQ5_0* x, float* y, size_t n) {
  for (size_t b = 0; b < n / kQK; ++b, y += kQK) {
    const float d = fp16_to_f32(x[b].d);
    const uint32_t qh = load_qh(x[b].qh);
    for (size_t j = 0; j < kHalf; ++j) {
      const int q0 = int((x[b].qs[j] & 0xF) | (((qh >> j) & 1u) << 4));
      const int q1 = int((x[b].qs[j] >> 4) | (((qh >> (j + kHalf)) & 1u) << 4));
      y[j] = float(q0 - 16) * d;
      y[j + kHalf] = float(q1 - 16) * d;
    }
  }
}

void dequantize_row_q5_1(const BlockQ5_1* x, float* y, size_t n) {
  for (size_t b = 0; b < n / kQK; ++b, y += kQK) {
    const float d = fp16_to_f32(x[b].d);
    const float m = fp16_to_f32(x[b].m);
    const uint32_t qh = load_qh(x[b].qh);
    for (size_t j = 0; j < kHalf; ++j) {
      const int q0 = int((x[b].qs[j] & 0xF) | (((qh >> j) & 1u) << 4));
      const int q1 = int((x[b].qs[j] >> 4) | (((qh >> (j + kHalf)) & 1u) << 4));
      y[j] = float(q0) * d + m;
      y[j + kHalf] = float(q1) * d + m;
    }
  }
}

void dequantize_row_q8_0(const BlockQ8_0* x, float* y, size_t n) {
  for (size_t b = 0; b < n / kQK; ++b, y += kQK) {
    const float d = fp16_to_f32(x[b].d);
    for (size_t j = 0; j < kQK; ++j) y[j] = float(x[b].qs[j]) * d;
  }
}

// The sum field s is redundant for values; only d and qs matter.
void dequantize_row_q8_1(const BlockQ8_1* x, float* y, size_t n) {
  for (size_t b = 0; b < n / kQK; ++b, y += kQK) {
    const float d = fp16_to_f32(x[b].d);
    for (size_t j = 0; j < kQK; ++j) y[j] = float(x[b].qs[j]) * d;
  }
}

}  // namespace loci
