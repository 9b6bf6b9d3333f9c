// The K-quants: 256-element super-blocks of 16- or 32-element sub-blocks, each
// sub-block with its own small-integer scale (and min) under one fp16 scale.
//
// Dequantization reproduces llama.cpp's float expressions exactly: the
// sub-block factors d*scale and dmin*min are formed first, then
// factor * q - min_factor, with the same operand order.
//
// Quantization is our own: each sub-block gets the (scale, min) that a small
// search finds to minimise the squared error; the scales are then coded
// against the super-block scale, and each sub-block finally tries the coded
// scale (and min) one step either side, keeping what reconstructs best with the
// exact decoder arithmetic.
#include <cmath>
#include <cstring>
#include <type_traits>

#include "loci/fp16.h"
#include "loci/quant.h"
#include "quant/absmax.h"
#include "quant/block_codes.h"

namespace loci {
namespace {

constexpr int kSteps = 12;  // candidate scales tried each side of the plain one

// Round to nearest (ties to even) into [lo, hi]; NaN goes to lo.
int round_clamp(float v, int lo, int hi) {
  if (!(v >= float(lo))) return lo;
  if (v >= float(hi)) return hi;
  // Adding 1.5 * 2^23 leaves the rounded integer (ties to even) in the low
  // mantissa bits; v is within [lo, hi] here, far below 2^22.
  const float shifted = v + 12582912.0f;
  int32_t bits;
  std::memcpy(&bits, &shifted, sizeof bits);
  return (bits & 0x007fffff) - 0x00400000;
}

// fp16 of v, clamped to the largest finite half so a huge scale never becomes
// inf (which would decode zeros as NaN).
uint16_t fp16_finite(float v) {
  const float kMaxHalf = 65504.0f;
  return f32_to_fp16(std::fmin(std::fmax(v, -kMaxHalf), kMaxHalf));
}

// ---- sub-block fits ----------------------------------------------------------

// x ~ scale * q - min with q in [0, nmax], scale >= 0, min >= 0.
struct AffineFit {
  float scale = 0.0f;
  float min = 0.0f;
};

float affine_error(const float* x, int n, int nmax, float scale, float min) {
  float err = 0.0f;
  for (int i = 0; i < n; ++i) {
    const int q = scale > 0.0f ? round_clamp((x[i] + min) / scale, 0, nmax) : 0;
    const float e = scale * float(q) - min - x[i];
    err += e * e;
  }
  return err;
}

// Least-squares (scale, offset) for fixed q; false if q is constant.
bool affine_refit(const float* x, const int* q, int n, AffineFit* fit) {
  double sq = 0, sqq = 0, sx = 0, sqx = 0;
  for (int i = 0; i < n; ++i) {
    sq += q[i];
    sqq += double(q[i]) * q[i];
    sx += x[i];
    sqx += double(q[i]) * x[i];
  }
  const double det = n * sqq - sq * sq;
  if (det <= 0) return false;
  double scale = (n * sqx - sq * sx) / det;
  double offset = (sx - scale * sq) / n;
  if (offset > 0) {  // the format cannot lift the lowest level above zero
    offset = 0;
    scale = sqx / sqq;
  }
  if (!(scale > 0)) return false;
  fit->scale = float(scale);
  fit->min = float(-offset);
  return true;
}

// Tries scales spread around (max - min) / nmax, refits each by least squares
// and keeps the one with the smallest squared error.
AffineFit fit_affine(const float* x, int n, int nmax) {
  float lo = 0.0f, hi = x[0];
  for (int i = 0; i < n; ++i) {
    lo = std::fmin(lo, x[i]);
    hi = std::fmax(hi, x[i]);
  }
  AffineFit best;
  best.min = -lo;
  if (!(hi > lo)) return best;  // constant non-positive block: min alone is exact
  best.scale = (hi - lo) / float(nmax);
  float best_err = affine_error(x, n, nmax, best.scale, best.min);
  int q[32];
  for (int s = -kSteps; s <= kSteps; ++s) {
    const float iscale = (float(nmax) + 0.08f * float(s)) / (hi - lo);
    for (int i = 0; i < n; ++i) q[i] = round_clamp((x[i] - lo) * iscale, 0, nmax);
    AffineFit fit;
    if (!affine_refit(x, q, n, &fit)) continue;
    const float err = affine_error(x, n, nmax, fit.scale, fit.min);
    if (err < best_err) {
      best_err = err;
      best = fit;
    }
  }
  return best;
}

// x ~ scale * q with q in [-nmax, nmax - 1]; scale may be negative so the
// element of largest magnitude can use the extra level at -nmax.
float symmetric_error(const float* x, int n, int nmax, float scale) {
  float err = 0.0f;
  for (int i = 0; i < n; ++i) {
    const int q = scale != 0.0f ? round_clamp(x[i] / scale, -nmax, nmax - 1) : 0;
    const float e = scale * float(q) - x[i];
    err += e * e;
  }
  return err;
}

float fit_symmetric(const float* x, int n, int nmax) {
  const float max = signed_absmax(x, size_t(n));
  if (max == 0.0f) return 0.0f;
  float best = max / -float(nmax);
  float best_err = symmetric_error(x, n, nmax, best);
  for (int s = -kSteps; s <= kSteps; ++s) {
    const float iscale = -(float(nmax) + 0.08f * float(s)) / max;
    double sqx = 0, sqq = 0;
    for (int i = 0; i < n; ++i) {
      const int q = round_clamp(x[i] * iscale, -nmax, nmax - 1);
      sqx += double(q) * x[i];
      sqq += double(q) * q;
    }
    if (sqq == 0) continue;
    const float scale = float(sqx / sqq);
    const float err = symmetric_error(x, n, nmax, scale);
    if (err < best_err) {
      best_err = err;
      best = scale;
    }
  }
  return best;
}

// ---- coding the sub-block scales --------------------------------------------

// For affine super-blocks: codes sub-block scales and mins as integers in
// [0, code_max] against fp16 super scales, then picks each sub-block's codes
// (nominal +-1) by the squared error the decoder will actually produce.
struct AffineCodes {
  uint16_t d, dmin;
  uint8_t scale[16], min[16];
};

AffineCodes code_affine(const float* x, int n_sub, int sub_len, int nmax, int code_max, const AffineFit* fits) {
  float max_scale = 0.0f, max_min = 0.0f;
  for (int j = 0; j < n_sub; ++j) {
    max_scale = std::fmax(max_scale, fits[j].scale);
    max_min = std::fmax(max_min, fits[j].min);
  }
  AffineCodes c;
  c.d = fp16_finite(max_scale / float(code_max));
  c.dmin = fp16_finite(max_min / float(code_max));
  const float d = fp16_to_f32(c.d), dmin = fp16_to_f32(c.dmin);
  for (int j = 0; j < n_sub; ++j) {
    const float* xs = x + j * sub_len;
    const int ls0 = d > 0.0f ? round_clamp(fits[j].scale / d, 0, code_max) : 0;
    const int lm0 = dmin > 0.0f ? round_clamp(fits[j].min / dmin, 0, code_max) : 0;
    int best_ls = ls0, best_lm = lm0;
    float best_err = affine_error(xs, sub_len, nmax, d * float(ls0), dmin * float(lm0));
    for (int ls = ls0 - 1; ls <= ls0 + 1; ++ls) {
      if (ls < 0 || ls > code_max) continue;
      for (int lm = lm0 - 1; lm <= lm0 + 1; ++lm) {
        if (lm < 0 || lm > code_max) continue;
        const float err = affine_error(xs, sub_len, nmax, d * float(ls), dmin * float(lm));
        if (err < best_err) {
          best_err = err;
          best_ls = ls;
          best_lm = lm;
        }
      }
    }
    c.scale[j] = uint8_t(best_ls);
    c.min[j] = uint8_t(best_lm);
  }
  return c;
}

// The quant of each element under the coded (scale, min) of its sub-block.
void affine_quants(const float* x, int sub_len, int nmax, float scale, float min, uint8_t* q) {
  for (int i = 0; i < sub_len; ++i) q[i] = uint8_t(scale > 0.0f ? round_clamp((x[i] + min) / scale, 0, nmax) : 0);
}

// For symmetric super-blocks: signed scale codes in [-code_half, code_half - 1];
// the largest-magnitude sub-block scale maps to -code_half.
struct SymmetricCodes {
  uint16_t d;
  int scale[16];
};

SymmetricCodes code_symmetric(const float* x, int n_sub, int sub_len, int nmax, int code_half,
                              const float* scales) {
  const float max = signed_absmax(scales, size_t(n_sub));
  SymmetricCodes c;
  c.d = fp16_finite(max / -float(code_half));
  const float d = fp16_to_f32(c.d);
  for (int j = 0; j < n_sub; ++j) {
    const float* xs = x + j * sub_len;
    const int l0 = d != 0.0f ? round_clamp(scales[j] / d, -code_half, code_half - 1) : 0;
    int best_l = l0;
    float best_err = symmetric_error(xs, sub_len, nmax, d * float(l0));
    for (int l = l0 - 1; l <= l0 + 1; ++l) {
      if (l < -code_half || l > code_half - 1) continue;
      const float err = symmetric_error(xs, sub_len, nmax, d * float(l));
      if (err < best_err) {
        best_err = err;
        best_l = l;
      }
    }
    c.scale[j] = best_l;
  }
  return c;
}

void symmetric_quants(const float* x, int sub_len, int nmax, float scale, int* q) {
  for (int i = 0; i < sub_len; ++i) q[i] = scale != 0.0f ? round_clamp(x[i] / scale, -nmax, nmax - 1) : 0;
}

// Q4_K/Q5_K pack 8 six-bit scales and mins into 12 bytes: k_scale_min's inverse.
void pack_k_scales(const uint8_t* scale, const uint8_t* min, uint8_t* out) {
  std::memset(out, 0, kKScaleBytes);
  for (int j = 0; j < 4; ++j) {
    out[j] = uint8_t(scale[j] | ((scale[j + 4] >> 4) << 6));
    out[j + 4] = uint8_t(min[j] | ((min[j + 4] >> 4) << 6));
    out[j + 8] = uint8_t((scale[j + 4] & 0xF) | ((min[j + 4] & 0xF) << 4));
  }
}

// Q3_K's 16 six-bit scale codes: low nibbles in bytes 0..7 (codes 8..15 in the
// high nibbles), the top two bits of code j in byte 8 + j%4 at bit 2*(j/4).
void pack_q3_k_scales(const int* code, uint8_t* out) {
  std::memset(out, 0, kKScaleBytes);
  for (int j = 0; j < 16; ++j) {
    const int v = code[j] + 32;
    out[j % 8] |= uint8_t((v & 0xF) << (j < 8 ? 0 : 4));
    out[8 + j % 4] |= uint8_t((v >> 4) << (2 * (j / 4)));
  }
}

}  // namespace

// ---- quantize -----------------------------------------------------------------

namespace {

// One affine super-block (Q2_K, Q4_K, Q5_K): kSub sub-blocks of kLen with
// codes in [0, kMax] and scale/min codes in [0, kCodeMax]. Writes the codes to q.
template <int kSub, int kLen, int kMax, int kCodeMax>
AffineCodes quantize_affine_superblock(const float* x, uint8_t* q) {
  AffineFit fits[kSub];
  for (int j = 0; j < kSub; ++j) fits[j] = fit_affine(x + j * kLen, kLen, kMax);
  const AffineCodes c = code_affine(x, kSub, kLen, kMax, kCodeMax, fits);
  const float d = fp16_to_f32(c.d), dmin = fp16_to_f32(c.dmin);
  for (int j = 0; j < kSub; ++j)
    affine_quants(x + j * kLen, kLen, kMax, d * float(c.scale[j]), dmin * float(c.min[j]), q + j * kLen);
  return c;
}

// One symmetric super-block (Q3_K, Q6_K): 16 sub-blocks of 16 with codes in
// [-kMax, kMax - 1] and scale codes in [-kCodeHalf, kCodeHalf - 1].
template <int kMax, int kCodeHalf>
SymmetricCodes quantize_symmetric_superblock(const float* x, int* q) {
  constexpr int kSub = 16, kLen = 16;
  float scales[kSub];
  for (int j = 0; j < kSub; ++j) scales[j] = fit_symmetric(x + j * kLen, kLen, kMax);
  const SymmetricCodes c = code_symmetric(x, kSub, kLen, kMax, kCodeHalf, scales);
  const float d = fp16_to_f32(c.d);
  for (int j = 0; j < kSub; ++j) symmetric_quants(x + j * kLen, kLen, kMax, d * float(c.scale[j]), q + j * kLen);
  return c;
}

// Q2_K/Q3_K low bits: in each 128-element half, byte l holds the low two bits
// of elements l, l+32, l+64, l+96 at bits 0, 2, 4, 6.
void pack_two_bits(const uint8_t* u, uint8_t* qs) {
  for (int h = 0; h < 2; ++h)
    for (int l = 0; l < 32; ++l) {
      const uint8_t* uh = u + 128 * h + l;
      qs[32 * h + l] = uint8_t((uh[0] & 3) | ((uh[32] & 3) << 2) | ((uh[64] & 3) << 4) | ((uh[96] & 3) << 6));
    }
}

// Q4_K/Q5_K low bits: in each 64-element chunk k, byte l holds the low four
// bits of element l (low nibble) and l+32 (high).
void pack_nibbles(const uint8_t* q, uint8_t* qs) {
  for (int k = 0; k < 4; ++k)
    for (int l = 0; l < 32; ++l) qs[32 * k + l] = uint8_t((q[64 * k + l] & 0xF) | ((q[64 * k + l + 32] & 0xF) << 4));
}

}  // namespace

void quantize_row_q2_k(const float* x, BlockQ2_K* y, size_t n) {
  for (size_t b = 0; b < n / kQK_K; ++b, x += kQK_K) {
    uint8_t q[kQK_K];
    const AffineCodes c = quantize_affine_superblock<16, 16, 3, 15>(x, q);
    for (int j = 0; j < 16; ++j) y[b].scales[j] = uint8_t(c.scale[j] | (c.min[j] << 4));
    pack_two_bits(q, y[b].qs);
    y[b].d = c.d;
    y[b].dmin = c.dmin;
  }
}

void quantize_row_q3_k(const float* x, BlockQ3_K* y, size_t n) {
  for (size_t b = 0; b < n / kQK_K; ++b, x += kQK_K) {
    int q[kQK_K];
    const SymmetricCodes c = quantize_symmetric_superblock<4, 32>(x, q);
    pack_q3_k_scales(c.scale, y[b].scales);
    // Stored unsigned (q + 4): low two bits like Q2_K, the third bit in hmask,
    // element i at hmask[i % 32] bit i / 32.
    std::memset(y[b].hmask, 0, sizeof y[b].hmask);
    uint8_t u[kQK_K];
    for (int i = 0; i < int(kQK_K); ++i) {
      u[i] = uint8_t(q[i] + 4);
      if (u[i] & 4) y[b].hmask[i % 32] |= uint8_t(1u << (i / 32));
    }
    pack_two_bits(u, y[b].qs);
    y[b].d = c.d;
  }
}

namespace {

// Q4_K (codes up to 15) and Q5_K (up to 31): the low nibbles in qs, and for
// Q5_K the fifth bit of element 64k+l in qh[l] bit 2k, of 64k+32+l in bit 2k+1.
template <typename Block, int kMax>
void quantize_k_sub32_row(const float* x, Block* y, size_t n) {
  for (size_t b = 0; b < n / kQK_K; ++b, x += kQK_K) {
    uint8_t q[kQK_K];
    const AffineCodes c = quantize_affine_superblock<8, 32, kMax, 63>(x, q);
    pack_k_scales(c.scale, c.min, y[b].scales);
    pack_nibbles(q, y[b].qs);
    if constexpr (std::is_same_v<Block, BlockQ5_K>) {
      std::memset(y[b].qh, 0, sizeof y[b].qh);
      for (int k = 0; k < 4; ++k)
        for (int l = 0; l < 32; ++l)
          y[b].qh[l] |= uint8_t(((q[64 * k + l] >> 4) << (2 * k)) | ((q[64 * k + l + 32] >> 4) << (2 * k + 1)));
    }
    y[b].d = c.d;
    y[b].dmin = c.dmin;
  }
}

}  // namespace

void quantize_row_q4_k(const float* x, BlockQ4_K* y, size_t n) { quantize_k_sub32_row<BlockQ4_K, 15>(x, y, n); }
void quantize_row_q5_k(const float* x, BlockQ5_K* y, size_t n) { quantize_k_sub32_row<BlockQ5_K, 31>(x, y, n); }

void quantize_row_q6_k(const float* x, BlockQ6_K* y, size_t n) {
  for (size_t b = 0; b < n / kQK_K; ++b, x += kQK_K) {
    int q[kQK_K];
    const SymmetricCodes c = quantize_symmetric_superblock<32, 128>(x, q);
    for (int j = 0; j < 16; ++j) y[b].scales[j] = int8_t(c.scale[j]);
    // Stored unsigned (q + 32). Per 128-element half h: ql[64h + l] holds
    // elements l (low nibble) and l+64 (high), ql[64h + 32 + l] elements l+32
    // and l+96; qh[32h + l] holds the top two bits of l, l+32, l+64, l+96.
    for (int h = 0; h < 2; ++h)
      for (int l = 0; l < 32; ++l) {
        const int* qq = q + 128 * h + l;
        const int u0 = qq[0] + 32, u1 = qq[32] + 32, u2 = qq[64] + 32, u3 = qq[96] + 32;
        y[b].ql[64 * h + l] = uint8_t((u0 & 0xF) | ((u2 & 0xF) << 4));
        y[b].ql[64 * h + 32 + l] = uint8_t((u1 & 0xF) | ((u3 & 0xF) << 4));
        y[b].qh[32 * h + l] = uint8_t((u0 >> 4) | ((u1 >> 4) << 2) | ((u2 >> 4) << 4) | ((u3 >> 4) << 6));
      }
    y[b].d = c.d;
  }
}

// ---- dequantize -----------------------------------------------------------------

void dequantize_row_q2_k(const BlockQ2_K* x, float* y, size_t n) {
  for (size_t b = 0; b < n / kQK_K; ++b) {
    const float d = fp16_to_f32(x[b].d);
    const float dmin = fp16_to_f32(x[b].dmin);
    // Sub-block j (16 elements) of half h = j / 8 sits at bit shift 2*((j%8)/2)
    // of qs[32h + 16*(j%2) + l].
    for (int j = 0; j < 16; ++j, y += 16) {
      const float dl = d * float(x[b].scales[j] & 0xF);
      const float ml = dmin * float(x[b].scales[j] >> 4);
      const uint8_t* q = x[b].qs + 32 * (j / 8) + 16 * (j % 2);
      const int shift = 2 * ((j % 8) / 2);
      for (int l = 0; l < 16; ++l) y[l] = dl * float((q[l] >> shift) & 3) - ml;
    }
  }
}

void dequantize_row_q3_k(const BlockQ3_K* x, float* y, size_t n) {
  for (size_t b = 0; b < n / kQK_K; ++b) {
    const float d = fp16_to_f32(x[b].d);
    for (int j = 0; j < 16; ++j, y += 16) {
      const float dl = d * float(q3_k_scale(x[b].scales, j));
      const int off = 32 * (j / 8) + 16 * (j % 2);  // byte of qs, and of hmask
      const uint8_t* q = x[b].qs + off;
      const uint8_t* hm = x[b].hmask + 16 * (j % 2);
      const int shift = 2 * ((j % 8) / 2);
      const uint8_t bit = uint8_t(1u << (j / 2));  // element i's high bit: i / 32
      for (int l = 0; l < 16; ++l) {
        const int v = int((q[l] >> shift) & 3) - ((hm[l] & bit) ? 0 : 4);
        y[l] = dl * float(v);
      }
    }
  }
}

namespace {

// Q4_K and Q5_K: 8 sub-blocks of 32, each weight dl * q - ml with dl, ml from
// the sub-block's 6-bit scale and min. Sub-block j takes the low (j even) or
// high nibbles of qs[32 * (j / 2) ..+32]; Q5_K adds qh[l] bit j as the fifth bit.
template <typename Block>
void dequantize_k_sub32(const Block* x, float* y, size_t n) {
  for (size_t b = 0; b < n / kQK_K; ++b) {
    const float d = fp16_to_f32(x[b].d);
    const float dmin = fp16_to_f32(x[b].dmin);
    for (int j = 0; j < 8; ++j, y += 32) {
      uint8_t sc, m;
      k_scale_min(x[b].scales, j, &sc, &m);
      const float dl = d * float(sc);
      const float ml = dmin * float(m);
      const uint8_t* q = x[b].qs + 32 * (j / 2);
      const int shift = 4 * (j % 2);
      for (int l = 0; l < 32; ++l) {
        int v = (q[l] >> shift) & 0xF;
        if constexpr (std::is_same_v<Block, BlockQ5_K>) v += (x[b].qh[l] & (1u << j)) ? 16 : 0;
        y[l] = dl * float(v) - ml;
      }
    }
  }
}

}  // namespace

void dequantize_row_q4_k(const BlockQ4_K* x, float* y, size_t n) { dequantize_k_sub32(x, y, n); }
void dequantize_row_q5_k(const BlockQ5_K* x, float* y, size_t n) { dequantize_k_sub32(x, y, n); }

void dequantize_row_q6_k(const BlockQ6_K* x, float* y, size_t n) {
  for (size_t b = 0; b < n / kQK_K; ++b) {
    const float d = fp16_to_f32(x[b].d);
    // Quarter k (32 elements) of half h: low nibbles from ql[64h + 32*(k%2)]
    // (shifted by 4 for k >= 2), top bits from qh[32h] at bit 2k.
    for (int h = 0; h < 2; ++h)
      for (int k = 0; k < 4; ++k, y += 32) {
        const uint8_t* ql = x[b].ql + 64 * h + 32 * (k % 2);
        const uint8_t* qh = x[b].qh + 32 * h;
        const int lshift = 4 * (k / 2);
        for (int l = 0; l < 32; ++l) {
          const int v = int(((ql[l] >> lshift) & 0xF) | (((qh[l] >> (2 * k)) & 3) << 4)) - 32;
          const int8_t sc = x[b].scales[8 * h + 2 * k + l / 16];
          y[l] = d * float(sc) * float(v);
        }
      }
  }
}

void dequantize_row_q8_k(const BlockQ8_K* x, float* y, size_t n) {
  for (size_t b = 0; b < n / kQK_K; ++b, y += kQK_K) {
    for (size_t j = 0; j < kQK_K; ++j) y[j] = x[b].d * float(x[b].qs[j]);
  }
}

}  // namespace loci
