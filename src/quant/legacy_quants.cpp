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
#include <type_traits>

#include "loci/fp16.h"
#include "loci/quant.h"
#include "quant/absmax.h"
#include "quant/block_codes.h"

namespace loci {
namespace {

constexpr size_t kHalf = kQK / 2;

// Truncates v toward zero into [0, hi]; NaN goes to 0. With v = x + 0.5 this
// rounds half up, as llama.cpp's (int8_t)(x + 0.5f) does for x >= -0.5.
int trunc_clamp(float v, int hi) {
  if (!(v >= 0.0f)) return 0;
  if (v >= float(hi)) return hi;
  return int(v);
}

// Symmetric blocks (Q4_0, Q5_0): the largest-magnitude element maps to
// -half exactly and codes are x / d + half, in [0, 2 * half - 1]. Returns d.
float symmetric_codes(const float* x, int half, int* q) {
  const float d = signed_absmax(x, kQK) / -float(half);
  const float id = d != 0.0f ? 1.0f / d : 0.0f;
  for (size_t j = 0; j < kQK; ++j) q[j] = trunc_clamp(x[j] * id + (float(half) + 0.5f), 2 * half - 1);
  return d;
}

// Affine blocks (Q4_1, Q5_1): min maps to 0 and max to nmax.
struct AffineScale {
  float d, min;
};

AffineScale affine_codes(const float* x, int nmax, int* q) {
  float lo = FLT_MAX, hi = -FLT_MAX;
  for (size_t j = 0; j < kQK; ++j) {
    lo = std::fmin(lo, x[j]);
    hi = std::fmax(hi, x[j]);
  }
  const float d = (hi - lo) / float(nmax);
  const float id = d != 0.0f ? 1.0f / d : 0.0f;
  for (size_t j = 0; j < kQK; ++j) q[j] = trunc_clamp((x[j] - lo) * id + 0.5f, nmax);
  return {d, lo};
}

// The low four bits of each code: element j in the low nibble of qs[j],
// element j + 16 in the high one.
void pack_nibbles(const int* q, uint8_t* qs) {
  for (size_t j = 0; j < kHalf; ++j) qs[j] = uint8_t((q[j] & 0xF) | ((q[j + kHalf] & 0xF) << 4));
}

// Q5's fifth bits: bit e of the little-endian qh word is element e's.
void pack_fifth_bits(const int* q, uint8_t qh[4]) {
  uint32_t bits = 0;
  for (size_t e = 0; e < kQK; ++e) bits |= uint32_t(q[e] >> 4) << e;
  std::memcpy(qh, &bits, sizeof bits);
}

template <typename Block>
constexpr bool kHasQh = std::is_same_v<Block, BlockQ5_0> || std::is_same_v<Block, BlockQ5_1>;

// Q4_0 (half = 8) and Q5_0 (half = 16) rows.
template <typename Block, int kHalfRange>
void quantize_symmetric_row(const float* x, Block* y, size_t n) {
  for (size_t b = 0; b < n / kQK; ++b, x += kQK) {
    int q[kQK];
    y[b].d = f32_to_fp16(symmetric_codes(x, kHalfRange, q));
    pack_nibbles(q, y[b].qs);
    if constexpr (kHasQh<Block>) pack_fifth_bits(q, y[b].qh);
  }
}

// Q4_1 (codes up to 15) and Q5_1 (up to 31) rows.
template <typename Block, int kMax>
void quantize_affine_row(const float* x, Block* y, size_t n) {
  for (size_t b = 0; b < n / kQK; ++b, x += kQK) {
    int q[kQK];
    const AffineScale s = affine_codes(x, kMax, q);
    y[b].d = f32_to_fp16(s.d);
    y[b].m = f32_to_fp16(s.min);
    pack_nibbles(q, y[b].qs);
    if constexpr (kHasQh<Block>) pack_fifth_bits(q, y[b].qh);
  }
}

}  // namespace

// --- quantize ----------------------------------------------------------------

void quantize_row_q4_0(const float* x, BlockQ4_0* y, size_t n) { quantize_symmetric_row<BlockQ4_0, 8>(x, y, n); }
void quantize_row_q4_1(const float* x, BlockQ4_1* y, size_t n) { quantize_affine_row<BlockQ4_1, 15>(x, y, n); }
void quantize_row_q5_0(const float* x, BlockQ5_0* y, size_t n) { quantize_symmetric_row<BlockQ5_0, 16>(x, y, n); }
void quantize_row_q5_1(const float* x, BlockQ5_1* y, size_t n) { quantize_affine_row<BlockQ5_1, 31>(x, y, n); }

// --- dequantize --------------------------------------------------------------

namespace {

// The fifth-bit word of the Q5 types; the Q4 types have none.
uint32_t qh_word(const BlockQ4_0&) { return 0; }
uint32_t qh_word(const BlockQ4_1&) { return 0; }
uint32_t qh_word(const BlockQ5_0& b) { return legacy_qh_word(b.qh); }
uint32_t qh_word(const BlockQ5_1& b) { return legacy_qh_word(b.qh); }

// (q - offset) * d, as llama.cpp's Q4_0/Q5_0 dequantizers compute it.
template <typename Block>
void dequantize_symmetric(const Block* x, float* y, size_t n, int offset) {
  for (size_t b = 0; b < n / kQK; ++b, y += kQK) {
    const float d = fp16_to_f32(x[b].d);
    const uint32_t qh = qh_word(x[b]);
    for (size_t j = 0; j < kHalf; ++j) {
      const LegacyCodePair q = legacy_code_pair(x[b].qs, qh, j);
      y[j] = float(q.lo - offset) * d;
      y[j + kHalf] = float(q.hi - offset) * d;
    }
  }
}

// q * d + m, as llama.cpp's Q4_1/Q5_1 dequantizers compute it.
template <typename Block>
void dequantize_affine(const Block* x, float* y, size_t n) {
  for (size_t b = 0; b < n / kQK; ++b, y += kQK) {
    const float d = fp16_to_f32(x[b].d);
    const float m = fp16_to_f32(x[b].m);
    const uint32_t qh = qh_word(x[b]);
    for (size_t j = 0; j < kHalf; ++j) {
      const LegacyCodePair q = legacy_code_pair(x[b].qs, qh, j);
      y[j] = float(q.lo) * d + m;
      y[j + kHalf] = float(q.hi) * d + m;
    }
  }
}

// Q8_0 and Q8_1: the sum field s of Q8_1 is redundant for values.
template <typename Block>
void dequantize_q8(const Block* x, float* y, size_t n) {
  for (size_t b = 0; b < n / kQK; ++b, y += kQK) {
    const float d = fp16_to_f32(x[b].d);
    for (size_t j = 0; j < kQK; ++j) y[j] = float(x[b].qs[j]) * d;
  }
}

}  // namespace

void dequantize_row_q4_0(const BlockQ4_0* x, float* y, size_t n) { dequantize_symmetric(x, y, n, 8); }
void dequantize_row_q4_1(const BlockQ4_1* x, float* y, size_t n) { dequantize_affine(x, y, n); }
void dequantize_row_q5_0(const BlockQ5_0* x, float* y, size_t n) { dequantize_symmetric(x, y, n, 16); }
void dequantize_row_q5_1(const BlockQ5_1* x, float* y, size_t n) { dequantize_affine(x, y, n); }
void dequantize_row_q8_0(const BlockQ8_0* x, float* y, size_t n) { dequantize_q8(x, y, n); }
void dequantize_row_q8_1(const BlockQ8_1* x, float* y, size_t n) { dequantize_q8(x, y, n); }

}  // namespace loci
