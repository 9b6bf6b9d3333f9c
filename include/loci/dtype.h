// Element types, numbered as GGUF numbers them, and their block layouts.
// Every block struct is byte-identical to its GGUF on-disk form, so a mapped
// tensor can be read in place through these structs.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string_view>

namespace loci {

// GGUF's ggml_type ids. Gaps are ids GGUF retired or that loci does not support.
enum class DType : uint32_t {
  F32 = 0,
  F16 = 1,
  Q4_0 = 2,
  Q4_1 = 3,
  Q5_0 = 6,
  Q5_1 = 7,
  Q8_0 = 8,
  Q8_1 = 9,  // activation-only in loci: what Q4_1/Q5_1 weights multiply against
  Q2_K = 10,
  Q3_K = 11,
  Q4_K = 12,
  Q5_K = 13,
  Q6_K = 14,
  Q8_K = 15,
  BF16 = 30,
};

inline constexpr size_t kQK = 32;      // elements per block of the legacy quants
inline constexpr size_t kQK_K = 256;   // elements per super-block of the K-quants
inline constexpr size_t kKScaleBytes = 12;

struct DTypeInfo {
  DType dtype;
  const char* name;    // as GGUF tools print it: "q4_0", "f16", ...
  size_t block_elems;  // elements per block (1 for plain float types)
  size_t block_bytes;  // bytes per block
  bool quantized;
};

// Description of a supported dtype, or nullptr for any other id.
const DTypeInfo* dtype_info(DType t);
// Same, from a raw GGUF id read out of a file (untrusted).
const DTypeInfo* dtype_info_from_gguf_id(uint32_t id);
std::optional<DType> dtype_from_name(std::string_view name);
const char* dtype_name(DType t);  // "unknown" for unsupported ids

// Bytes taken by `elems` elements, or nullopt if elems is not a whole number of
// blocks or the product overflows.
std::optional<size_t> dtype_row_bytes(DType t, size_t elems);

// The dtype a weight's matmul partner (the activation) is converted to,
// matching llama.cpp: legacy quants -> Q8_0/Q8_1, K-quants -> Q8_K, floats -> same.
DType matmul_activation_dtype(DType weight);

using fp16_bits = uint16_t;  // IEEE half, raw bits (see fp16.h)

struct BlockQ4_0 {
  fp16_bits d;
  uint8_t qs[kQK / 2];  // element j in low nibble of qs[j], element j+16 in high nibble
};
struct BlockQ4_1 {
  fp16_bits d, m;
  uint8_t qs[kQK / 2];
};
struct BlockQ5_0 {
  fp16_bits d;
  uint8_t qh[4];  // fifth bits, little-endian bit j for element j
  uint8_t qs[kQK / 2];
};
struct BlockQ5_1 {
  fp16_bits d, m;
  uint8_t qh[4];
  uint8_t qs[kQK / 2];
};
struct BlockQ8_0 {
  fp16_bits d;
  int8_t qs[kQK];
};
struct BlockQ8_1 {
  fp16_bits d;
  fp16_bits s;  // d * sum(qs)
  int8_t qs[kQK];
};
struct BlockQ2_K {
  uint8_t scales[kQK_K / 16];  // low nibble scale, high nibble min, per 16 elements
  uint8_t qs[kQK_K / 4];
  fp16_bits d, dmin;
};
struct BlockQ3_K {
  uint8_t hmask[kQK_K / 8];
  uint8_t qs[kQK_K / 4];
  uint8_t scales[kKScaleBytes];  // 16 six-bit scales
  fp16_bits d;
};
struct BlockQ4_K {
  fp16_bits d, dmin;
  uint8_t scales[kKScaleBytes];  // 8 six-bit scales and 8 six-bit mins
  uint8_t qs[kQK_K / 2];
};
struct BlockQ5_K {
  fp16_bits d, dmin;
  uint8_t scales[kKScaleBytes];
  uint8_t qh[kQK_K / 8];
  uint8_t qs[kQK_K / 2];
};
struct BlockQ6_K {
  uint8_t ql[kQK_K / 2];
  uint8_t qh[kQK_K / 4];
  int8_t scales[kQK_K / 16];
  fp16_bits d;
};
struct BlockQ8_K {
  float d;
  int8_t qs[kQK_K];
  int16_t bsums[kQK_K / 16];  // sum of each 16 qs
};

static_assert(sizeof(BlockQ4_0) == 18);
static_assert(sizeof(BlockQ4_1) == 20);
static_assert(sizeof(BlockQ5_0) == 22);
static_assert(sizeof(BlockQ5_1) == 24);
static_assert(sizeof(BlockQ8_0) == 34);
static_assert(sizeof(BlockQ8_1) == 36);
static_assert(sizeof(BlockQ2_K) == 84);
static_assert(sizeof(BlockQ3_K) == 110);
static_assert(sizeof(BlockQ4_K) == 144);
static_assert(sizeof(BlockQ5_K) == 176);
static_assert(sizeof(BlockQ6_K) == 210);
static_assert(sizeof(BlockQ8_K) == 292);
static_assert(alignof(BlockQ4_0) == 2 && alignof(BlockQ8_K) == 4, "blocks must pack as GGUF does");

}  // namespace loci
