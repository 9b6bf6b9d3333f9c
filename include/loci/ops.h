// Reference float ops for a decoder-only transformer forward pass (Llama,
// Qwen2): the ground truth that optimized paths are tested against, and what
// the runtime uses where no faster path exists.
//
// Conventions shared by every op here:
//  - A float "matrix" argument is `rows` rows of `n` floats, row-major, with
//    `stride` BYTES between row starts (as in MatmulArgs). Strides are
//    multiples of sizeof(float) and at least one row, except that a single-row
//    matrix may have any stride and inputs documented as broadcastable take 0.
//  - Arguments come in the order: inputs (pointer, stride), outputs (pointer,
//    stride), counts, then parameters.
//  - Where an op says "in place", an output may be the very same buffer as an
//    input (same pointer and stride); any other overlap is undefined.
//  - Results are computed in double and rounded to float once, unless stated.
//  - Nothing allocates or throws. Bad arguments return kInvalidArgument (null,
//    shape, stride, parameter), kOutOfRange (an index or position) or
//    kUnsupported (a dtype this op does not take), and leave outputs untouched.
//  - Empty work (a zero count) succeeds and touches nothing; pointers may be
//    null then.
#pragma once

#include <cstddef>
#include <cstdint>

#include "loci/dtype.h"
#include "loci/status.h"
#include "loci/tensor.h"

namespace loci::ops {

// --- matrix product ----------------------------------------------------------

// y[i][j] = sum_p x[i][p] * w[j][p], accumulated in double: the F32 ground truth.
// x: m rows of k; w: n rows of k; y: m rows of n, not overlapping x or w.
Status matmul_f32(const float* x, size_t x_stride, const float* w, size_t w_stride, float* y, size_t y_stride,
                  size_t m, size_t n, size_t k);

// --- normalization (in place) ------------------------------------------------

// y = x / sqrt(mean(x^2) + eps) * weight, per row. weight: n floats, or null
// for none. eps >= 0. Rounded in float step by step as llama.cpp does (only
// the sum of squares is double), not once.
Status rms_norm(const float* x, size_t x_stride, float* y, size_t y_stride, size_t rows, size_t n,
                const float* weight, float eps);

// y = (x - mean(x)) / sqrt(var(x) + eps) * weight + bias, per row, with the
// population variance. weight and bias: n floats each, or null for none.
Status layer_norm(const float* x, size_t x_stride, float* y, size_t y_stride, size_t rows, size_t n,
                  const float* weight, const float* bias, float eps);

// --- rotary position embedding (in place) ------------------------------------

// Values are ggml's rope modes.
enum class RopeMode : int32_t {
  kNormal = 0,  // rotates adjacent pairs (x[2i], x[2i+1]): llama
  kNeox = 2,    // rotates halves (x[i], x[i + n_rot/2]): NeoX, Qwen2
};

// Pair i (0 <= i < n_rot/2) of a token at position p turns by
//   theta_i = p * freq_scale * freq_base^(-2i/n_rot) / freq_factors[i]
// as ggml_rope_ext computes it with ext_factor = 0 and attn_factor = 1 (YaRN
// extrapolation mixing and its magnitude scaling are not implemented). Dims
// n_rot..head_dim-1 of each head are copied unchanged.
struct RopeParams {
  RopeMode mode = RopeMode::kNormal;
  size_t n_rot = 0;  // even, 2..head_dim; 0 is rejected so a forgotten value shows
  float freq_base = 10000.0f;
  float freq_scale = 1.0f;  // linear position interpolation; > 0
  const float* freq_factors = nullptr;  // n_rot/2 positive divisors (Llama-3.1 rope_freqs), or null
};

// x, y: n_tokens rows, each n_head heads of head_dim floats laid end to end;
// positions: n_tokens entries. In place.
Status rope(const float* x, size_t x_stride, float* y, size_t y_stride, size_t n_tokens, size_t n_head,
            size_t head_dim, const int32_t* positions, const RopeParams& params);

// --- softmax (in place) ------------------------------------------------------

// y[r] = softmax(x[r] * scale + mask[r]) per row, with the row maximum
// subtracted first so large inputs do not overflow. scale is 1/temperature for
// sampling or 1/sqrt(head_dim) for attention; it must be finite. mask: rows of
// n floats (-INFINITY excludes an element), mask_stride 0 to use one mask row
// for every row, or null for none; it must not overlap y. Inputs are finite or
// -inf. A row whose every element is -inf after masking comes out all zeros
// (no element may be chosen) rather than NaN.
Status softmax(const float* x, size_t x_stride, float* y, size_t y_stride, size_t rows, size_t n, const float* mask,
               size_t mask_stride, float scale);

// --- activations and elementwise (in place) ----------------------------------

// y = x * sigmoid(x).
Status silu(const float* x, size_t x_stride, float* y, size_t y_stride, size_t rows, size_t n);

// The tanh approximation llama.cpp's ggml_gelu uses:
//   y = 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3)))
// (llama.cpp's CPU path reads it from an fp16-indexed table; this is the exact
// formula, so expect differences of about fp16 resolution in x.)
Status gelu(const float* x, size_t x_stride, float* y, size_t y_stride, size_t rows, size_t n);

// y = silu(gate) * up: the gated feed-forward activation of Llama and Qwen2.
Status swiglu(const float* gate, size_t gate_stride, const float* up, size_t up_stride, float* y, size_t y_stride,
              size_t rows, size_t n);

// y = a + b and y = a * b in float (one rounding, as in llama.cpp). b_stride 0
// applies b's single row to every row of a (biases, norm weights).
Status add(const float* a, size_t a_stride, const float* b, size_t b_stride, float* y, size_t y_stride, size_t rows,
           size_t n);
Status mul(const float* a, size_t a_stride, const float* b, size_t b_stride, float* y, size_t y_stride, size_t rows,
           size_t n);

// --- gather ------------------------------------------------------------------

// y[i] = row ids[i] of src, converted to f32 (token embedding lookup). src may
// be any loci dtype and any strides; its rows are dims 1..3 flattened in order
// (row r is (r % ne1, r / ne1 % ne2, r / (ne1 ne2))). y: n_ids rows of
// src.ne[0] floats. An id outside [0, src.rows()) is kOutOfRange.
Status get_rows(const TensorView& src, const int32_t* ids, size_t n_ids, float* y, size_t y_stride);

// --- attention ---------------------------------------------------------------

// Causal scaled-dot-product attention of new query tokens over a KV cache,
// with grouped-query heads: query head h reads kv head h / (n_head / n_kv_head).
// Cache slot j holds position j, and a query at position p attends to slots
// 0..min(p, n_kv - 1). A query that sees no slot (n_kv == 0) outputs zeros.
struct AttentionArgs {
  const float* q = nullptr;  // n_tokens rows of n_head * head_dim floats
  size_t q_stride = 0;       // bytes between query rows
  const int32_t* q_pos = nullptr;  // n_tokens positions, each >= 0
  const void* k = nullptr;   // n_kv rows of n_kv_head * head_dim elements of kv_dtype
  size_t k_stride = 0;       // bytes between cache rows
  const void* v = nullptr;   // same layout as k
  size_t v_stride = 0;
  DType kv_dtype = DType::F32;  // F32 or F16
  float* out = nullptr;      // n_tokens rows of n_head * head_dim floats; overlaps nothing
  size_t out_stride = 0;
  size_t n_tokens = 0;
  size_t n_kv = 0;  // cache slots filled, including the new tokens' own
  size_t n_head = 0;
  size_t n_kv_head = 0;  // divides n_head
  size_t head_dim = 0;
  float scale = 0.0f;  // score scale; 0 means 1/sqrt(head_dim)
  void* scratch = nullptr;  // attention_scratch_bytes(n_kv, head_dim) bytes, 8-byte aligned
  size_t scratch_bytes = 0;
};

// Scratch bytes attention needs for n_kv cache slots of head_dim elements.
Result<size_t> attention_scratch_bytes(size_t n_kv, size_t head_dim);

Status attention(const AttentionArgs& args);

}  // namespace loci::ops
