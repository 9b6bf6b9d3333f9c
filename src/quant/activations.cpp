// Activation quantizers: the formats a float activation row is turned into
// before it meets quantized weights. Rounding follows llama.cpp's reference
// code so our dot products see the same integers it does.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>

#include "loci/fp16.h"
#include "loci/quant.h"
#include "quant/absmax.h"

namespace loci {

namespace {

// float -> int32 as this CPU's convert instruction does it, because C++
// leaves NaN and out-of-range values undefined and they do occur (NaN
// weights; a subnormal block's 127 / amax overflows): x86 gives INT32_MIN,
// AArch64 saturates and gives 0 for NaN. The SIMD converters reproduce this
// and then keep the low byte, as low_byte does.
int32_t cpu_f32_to_i32(float v) {
  if (v >= -2147483648.0f && v < 2147483648.0f) return int32_t(v);
#if defined(__aarch64__)
  if (std::isnan(v)) return 0;
  return v > 0.0f ? INT32_MAX : INT32_MIN;
#else
  return INT32_MIN;
#endif
}

int8_t low_byte(int32_t v) { return int8_t(uint8_t(uint32_t(v))); }

// One Q8_0/Q8_1 block's codes: x * (127 / amax) rounded to nearest, ties to
// even, with d = amax / 127. This is how llama.cpp's x86 activation quantizer
// computes them (its scalar reference multiplies by 1 / d, which puts some
// exact ties on the other side and moves small models' logits). Returns d.
float q8_codes(const float* x, int8_t* qs) {
  float amax = 0.0f;
  for (size_t j = 0; j < kQK; ++j) amax = std::fmax(amax, std::fabs(x[j]));
  const float d = amax / 127.0f;
  const float id = amax != 0.0f ? 127.0f / amax : 0.0f;
  for (size_t j = 0; j < kQK; ++j) qs[j] = low_byte(cpu_f32_to_i32(std::nearbyintf(x[j] * id)));
  return d;
}

}  // namespace

void quantize_row_q8_0_weights(const float* x, BlockQ8_0* y, size_t n) {
  for (size_t b = 0; b < n / kQK; ++b, x += kQK, ++y) {
    float amax = 0.0f;
    for (size_t j = 0; j < kQK; ++j) amax = std::fmax(amax, std::fabs(x[j]));
    const float d = amax / 127.0f;
    const float id = d != 0.0f ? 1.0f / d : 0.0f;
    for (size_t j = 0; j < kQK; ++j) y->qs[j] = low_byte(cpu_f32_to_i32(std::roundf(x[j] * id)));
    y->d = f32_to_fp16(d);
  }
}

void quantize_row_q8_0(const float* x, BlockQ8_0* y, size_t n) {
  for (size_t b = 0; b < n / kQK; ++b, x += kQK) y[b].d = f32_to_fp16(q8_codes(x, y[b].qs));
}

// Q8_1 also carries d * sum(codes), which Q4_1/Q5_1 kernels use for the min term.
void quantize_row_q8_1(const float* x, BlockQ8_1* y, size_t n) {
  for (size_t b = 0; b < n / kQK; ++b, x += kQK) {
    const float d = q8_codes(x, y[b].qs);
    int sum = 0;
    for (size_t j = 0; j < kQK; ++j) sum += y[b].qs[j];
    y[b].d = f32_to_fp16(d);
    y[b].s = f32_to_fp16(float(sum) * d);
  }
}

// Q8_K keeps d in float and scales so the largest-magnitude element maps to -127
// (sign included), as llama.cpp does; bsums let K-quant kernels apply mins cheaply.
void quantize_row_q8_k(const float* x, BlockQ8_K* y, size_t n) {
  for (size_t b = 0; b < n / kQK_K; ++b, x += kQK_K) {
    const float max = signed_absmax(x, kQK_K);
    if (max == 0.0f) {
      y[b].d = 0.0f;
      std::memset(y[b].qs, 0, sizeof y[b].qs);
      std::memset(y[b].bsums, 0, sizeof y[b].bsums);
      continue;
    }
    const float iscale = -127.0f / max;
    for (size_t j = 0; j < kQK_K; ++j) {
      y[b].qs[j] = low_byte(std::min(cpu_f32_to_i32(std::nearbyintf(iscale * x[j])), 127));
    }
    for (size_t g = 0; g < kQK_K / 16; ++g) {
      int sum = 0;
      for (size_t j = 0; j < 16; ++j) sum += y[b].qs[g * 16 + j];
      y[b].bsums[g] = int16_t(sum);
    }
    y[b].d = 1.0f / iscale;
  }
}

void convert_row_f32_to_f16(const float* x, uint16_t* y, size_t n) {
  for (size_t i = 0; i < n; ++i) y[i] = f32_to_fp16(x[i]);
}
void convert_row_f16_to_f32(const uint16_t* x, float* y, size_t n) {
  for (size_t i = 0; i < n; ++i) y[i] = fp16_to_f32(x[i]);
}
void convert_row_f32_to_bf16(const float* x, uint16_t* y, size_t n) {
  for (size_t i = 0; i < n; ++i) y[i] = f32_to_bf16(x[i]);
}
void convert_row_bf16_to_f32(const uint16_t* x, float* y, size_t n) {
  for (size_t i = 0; i < n; ++i) y[i] = bf16_to_f32(x[i]);
}

}  // namespace loci
