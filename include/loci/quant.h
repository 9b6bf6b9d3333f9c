// Reference (scalar) quantization and dequantization for every loci dtype.
//
// Dequantization reproduces llama.cpp's values from the same bytes exactly.
// Quantization round-trips within each type's known error; the activation
// quantizers (Q8_0, Q8_1, Q8_K) follow llama.cpp's rounding so matmul results
// track llama.cpp's closely. The legacy weight quantizers (Q4_0 .. Q5_1) and
// F16/BF16 do too, so they write the bytes llama-quantize writes without an
// imatrix; the K-quant quantizers use their own search (errors slightly below
// llama.cpp's reference).
//
// The typed functions take n = elements, a whole number of blocks, and do not
// check it; the generic ones check n, the dtype and the pointers, return a
// Status, and accept buffers at any address (e.g. rows inside a packed file).
#pragma once

#include <cstddef>
#include <cstdint>

#include "loci/dtype.h"
#include "loci/status.h"

namespace loci {

// --- generic, checked -------------------------------------------------------
Status dequantize_row(DType t, const void* src, float* dst, size_t n);
Status quantize_row(DType t, const float* src, void* dst, size_t n);

// --- float formats ----------------------------------------------------------
void convert_row_f32_to_f16(const float* x, uint16_t* y, size_t n);
void convert_row_f16_to_f32(const uint16_t* x, float* y, size_t n);
void convert_row_f32_to_bf16(const float* x, uint16_t* y, size_t n);
void convert_row_bf16_to_f32(const uint16_t* x, float* y, size_t n);

// --- activation quantizers (also used by the matmul driver) ----------------
void quantize_row_q8_0(const float* x, BlockQ8_0* y, size_t n);
void quantize_row_q8_1(const float* x, BlockQ8_1* y, size_t n);
void quantize_row_q8_k(const float* x, BlockQ8_K* y, size_t n);

// --- weight formats ---------------------------------------------------------
// Q8_0 weights as llama-quantize writes them (codes x / d, ties away from
// zero); activations use quantize_row_q8_0 above (x * 127/amax, ties to even),
// as llama.cpp's x86 backend does. The two differ only on exact ties.
void quantize_row_q8_0_weights(const float* x, BlockQ8_0* y, size_t n);
void quantize_row_q4_0(const float* x, BlockQ4_0* y, size_t n);
void quantize_row_q4_1(const float* x, BlockQ4_1* y, size_t n);
void quantize_row_q5_0(const float* x, BlockQ5_0* y, size_t n);
void quantize_row_q5_1(const float* x, BlockQ5_1* y, size_t n);
void quantize_row_q2_k(const float* x, BlockQ2_K* y, size_t n);
void quantize_row_q3_k(const float* x, BlockQ3_K* y, size_t n);
void quantize_row_q4_k(const float* x, BlockQ4_K* y, size_t n);
void quantize_row_q5_k(const float* x, BlockQ5_K* y, size_t n);
void quantize_row_q6_k(const float* x, BlockQ6_K* y, size_t n);

void dequantize_row_q4_0(const BlockQ4_0* x, float* y, size_t n);
void dequantize_row_q4_1(const BlockQ4_1* x, float* y, size_t n);
void dequantize_row_q5_0(const BlockQ5_0* x, float* y, size_t n);
void dequantize_row_q5_1(const BlockQ5_1* x, float* y, size_t n);
void dequantize_row_q8_0(const BlockQ8_0* x, float* y, size_t n);
void dequantize_row_q8_1(const BlockQ8_1* x, float* y, size_t n);
void dequantize_row_q2_k(const BlockQ2_K* x, float* y, size_t n);
void dequantize_row_q3_k(const BlockQ3_K* x, float* y, size_t n);
void dequantize_row_q4_k(const BlockQ4_K* x, float* y, size_t n);
void dequantize_row_q5_k(const BlockQ5_K* x, float* y, size_t n);
void dequantize_row_q6_k(const BlockQ6_K* x, float* y, size_t n);
void dequantize_row_q8_k(const BlockQ8_K* x, float* y, size_t n);

// The 6-bit scale and min of sub-block j (0..7) of a Q4_K/Q5_K block.
inline void k_scale_min(const uint8_t* scales, int j, uint8_t* scale, uint8_t* min) {
  if (j < 4) {
    *scale = scales[j] & 63;
    *min = scales[j + 4] & 63;
  } else {
    *scale = uint8_t((scales[j + 4] & 0xF) | ((scales[j - 4] >> 6) << 4));
    *min = uint8_t((scales[j + 4] >> 4) | ((scales[j] >> 6) << 4));
  }
}

}  // namespace loci
