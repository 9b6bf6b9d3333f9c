#include "loci/dtype.h"

#include <limits>

namespace loci {
namespace {

constexpr DTypeInfo kTypes[] = {
    {DType::F32, "f32", 1, 4, false},
    {DType::F16, "f16", 1, 2, false},
    {DType::BF16, "bf16", 1, 2, false},
    {DType::Q4_0, "q4_0", kQK, sizeof(BlockQ4_0), true},
    {DType::Q4_1, "q4_1", kQK, sizeof(BlockQ4_1), true},
    {DType::Q5_0, "q5_0", kQK, sizeof(BlockQ5_0), true},
    {DType::Q5_1, "q5_1", kQK, sizeof(BlockQ5_1), true},
    {DType::Q8_0, "q8_0", kQK, sizeof(BlockQ8_0), true},
    {DType::Q8_1, "q8_1", kQK, sizeof(BlockQ8_1), true},
    {DType::Q2_K, "q2_k", kQK_K, sizeof(BlockQ2_K), true},
    {DType::Q3_K, "q3_k", kQK_K, sizeof(BlockQ3_K), true},
    {DType::Q4_K, "q4_k", kQK_K, sizeof(BlockQ4_K), true},
    {DType::Q5_K, "q5_k", kQK_K, sizeof(BlockQ5_K), true},
    {DType::Q6_K, "q6_k", kQK_K, sizeof(BlockQ6_K), true},
    {DType::Q8_K, "q8_k", kQK_K, sizeof(BlockQ8_K), true},
};

}  // namespace

const DTypeInfo* dtype_info(DType t) {
  for (const DTypeInfo& info : kTypes)
    if (info.dtype == t) return &info;
  return nullptr;
}

const DTypeInfo* dtype_info_from_gguf_id(uint32_t id) { return dtype_info(static_cast<DType>(id)); }

std::optional<DType> dtype_from_name(std::string_view name) {
  for (const DTypeInfo& info : kTypes)
    if (name == info.name) return info.dtype;
  return std::nullopt;
}

const char* dtype_name(DType t) {
  const DTypeInfo* info = dtype_info(t);
  return info ? info->name : "unknown";
}

std::optional<size_t> dtype_row_bytes(DType t, size_t elems) {
  const DTypeInfo* info = dtype_info(t);
  if (!info || elems % info->block_elems != 0) return std::nullopt;
  const size_t blocks = elems / info->block_elems;
  if (blocks > std::numeric_limits<size_t>::max() / info->block_bytes) return std::nullopt;
  return blocks * info->block_bytes;
}

DType matmul_activation_dtype(DType weight) {
  switch (weight) {
    case DType::Q4_0:
    case DType::Q5_0:
    case DType::Q8_0: return DType::Q8_0;
    case DType::Q4_1:
    case DType::Q5_1: return DType::Q8_1;
    case DType::Q2_K:
    case DType::Q3_K:
    case DType::Q4_K:
    case DType::Q5_K:
    case DType::Q6_K: return DType::Q8_K;
    default: return weight;  // F32, F16, BF16
  }
}

}  // namespace loci
