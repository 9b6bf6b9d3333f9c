// The row loops shared by the SIMD Q8_0 and Q8_1 activation converters. Each
// ISA file supplies three block-level pieces as template arguments:
//   HasNan(x)              does the 32-float block hold a NaN?
//   Quantize(x, qs, sum)   writes 32 quants, returns d (adds sum(qs) if sum)
//   Fp16(f)                f rounded to IEEE half, as f32_to_fp16 does
// Blocks holding a NaN go through the scalar reference itself: its libm fmaxf
// treats signalling NaNs its own way, and such blocks are rare.
// Everything is in an anonymous namespace so each ISA-flagged file keeps its
// own copy (the linker must not merge code built for different ISAs).
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>

#include "loci/dtype.h"
#include "loci/quant.h"

namespace {

using HasNanFn = bool (*)(const float*);
using QuantizeBlockFn = float (*)(const float*, int8_t*, int*);
using Fp16Fn = uint16_t (*)(float);

inline void store_u16(uint8_t* p, uint16_t v) { std::memcpy(p, &v, sizeof v); }

template <HasNanFn HasNan, QuantizeBlockFn Quantize, Fp16Fn Fp16>
void quantize_rows_q8_0(const float* x, void* y, size_t k) {
  auto* out = static_cast<uint8_t*>(y);
  for (size_t b = 0; b < k / loci::kQK; ++b, x += loci::kQK, out += sizeof(loci::BlockQ8_0)) {
    if (HasNan(x)) {
      loci::quantize_row_q8_0(x, reinterpret_cast<loci::BlockQ8_0*>(out), loci::kQK);
      continue;
    }
    const float d = Quantize(x, reinterpret_cast<int8_t*>(out + offsetof(loci::BlockQ8_0, qs)), nullptr);
    store_u16(out + offsetof(loci::BlockQ8_0, d), Fp16(d));
  }
}

template <HasNanFn HasNan, QuantizeBlockFn Quantize, Fp16Fn Fp16>
void quantize_rows_q8_1(const float* x, void* y, size_t k) {
  auto* out = static_cast<uint8_t*>(y);
  for (size_t b = 0; b < k / loci::kQK; ++b, x += loci::kQK, out += sizeof(loci::BlockQ8_1)) {
    if (HasNan(x)) {
      loci::quantize_row_q8_1(x, reinterpret_cast<loci::BlockQ8_1*>(out), loci::kQK);
      continue;
    }
    int sum = 0;
    const float d = Quantize(x, reinterpret_cast<int8_t*>(out + offsetof(loci::BlockQ8_1, qs)), &sum);
    store_u16(out + offsetof(loci::BlockQ8_1, d), Fp16(d));
    store_u16(out + offsetof(loci::BlockQ8_1, s), Fp16(float(sum) * d));
  }
}

}  // namespace
