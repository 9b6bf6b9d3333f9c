// The checked, type-generic entry points: validate n and the pointers, then
// hand whole blocks to the typed functions. Source or destination rows that
// are not aligned for their block struct (a row inside a packed buffer, say)
// go through an aligned copy one block at a time; half-precision rows count
// as blocks of one 2-byte element.
#include <cstdint>
#include <cstring>
#include <string>

#include "loci/quant.h"

namespace loci {
namespace {

template <typename Block>
bool is_aligned(const void* p) {
  return reinterpret_cast<uintptr_t>(p) % alignof(Block) == 0;
}

template <typename Block, size_t kElems>
void dequantize_blocks(void (*fn)(const Block*, float*, size_t), const void* src, float* dst, size_t n) {
  if (is_aligned<Block>(src)) {
    fn(static_cast<const Block*>(src), dst, n);
    return;
  }
  const auto* bytes = static_cast<const uint8_t*>(src);
  for (size_t b = 0; b < n / kElems; ++b) {
    Block blk;
    std::memcpy(&blk, bytes + b * sizeof(Block), sizeof(Block));
    fn(&blk, dst + b * kElems, kElems);
  }
}

template <typename Block, size_t kElems>
void quantize_blocks(void (*fn)(const float*, Block*, size_t), const float* src, void* dst, size_t n) {
  if (is_aligned<Block>(dst)) {
    fn(src, static_cast<Block*>(dst), n);
    return;
  }
  auto* bytes = static_cast<uint8_t*>(dst);
  for (size_t b = 0; b < n / kElems; ++b) {
    Block blk;
    fn(src + b * kElems, &blk, kElems);
    std::memcpy(bytes + b * sizeof(Block), &blk, sizeof(Block));
  }
}

// Checks shared by both directions; on success *info describes t.
Status check_row(DType t, const void* a, const void* b, size_t n, const char* what, const DTypeInfo** info) {
  *info = dtype_info(t);
  if (!*info) return invalid_argument(std::string(what) + ": unsupported dtype id " + std::to_string(uint32_t(t)));
  if (n % (*info)->block_elems != 0)
    return invalid_argument(std::string(what) + ": " + std::to_string(n) + " elements is not a whole number of " +
                            (*info)->name + " blocks of " + std::to_string((*info)->block_elems));
  if (n > 0 && (!a || !b)) return invalid_argument(std::string(what) + ": null buffer");
  return Status::ok();
}

}  // namespace

Status dequantize_row(DType t, const void* src, float* dst, size_t n) {
  const DTypeInfo* info = nullptr;
  LOCI_RETURN_IF_ERROR(check_row(t, src, dst, n, "dequantize_row", &info));
  if (n == 0) return Status::ok();
  switch (t) {
    case DType::F32: std::memmove(dst, src, n * sizeof(float)); break;
    case DType::F16: dequantize_blocks<uint16_t, 1>(convert_row_f16_to_f32, src, dst, n); break;
    case DType::BF16: dequantize_blocks<uint16_t, 1>(convert_row_bf16_to_f32, src, dst, n); break;
    case DType::Q4_0: dequantize_blocks<BlockQ4_0, kQK>(dequantize_row_q4_0, src, dst, n); break;
    case DType::Q4_1: dequantize_blocks<BlockQ4_1, kQK>(dequantize_row_q4_1, src, dst, n); break;
    case DType::Q5_0: dequantize_blocks<BlockQ5_0, kQK>(dequantize_row_q5_0, src, dst, n); break;
    case DType::Q5_1: dequantize_blocks<BlockQ5_1, kQK>(dequantize_row_q5_1, src, dst, n); break;
    case DType::Q8_0: dequantize_blocks<BlockQ8_0, kQK>(dequantize_row_q8_0, src, dst, n); break;
    case DType::Q8_1: dequantize_blocks<BlockQ8_1, kQK>(dequantize_row_q8_1, src, dst, n); break;
    case DType::Q2_K: dequantize_blocks<BlockQ2_K, kQK_K>(dequantize_row_q2_k, src, dst, n); break;
    case DType::Q3_K: dequantize_blocks<BlockQ3_K, kQK_K>(dequantize_row_q3_k, src, dst, n); break;
    case DType::Q4_K: dequantize_blocks<BlockQ4_K, kQK_K>(dequantize_row_q4_k, src, dst, n); break;
    case DType::Q5_K: dequantize_blocks<BlockQ5_K, kQK_K>(dequantize_row_q5_k, src, dst, n); break;
    case DType::Q6_K: dequantize_blocks<BlockQ6_K, kQK_K>(dequantize_row_q6_k, src, dst, n); break;
    case DType::Q8_K: dequantize_blocks<BlockQ8_K, kQK_K>(dequantize_row_q8_k, src, dst, n); break;
    default: return internal_error("dequantize_row: dtype in the table but not handled here");
  }
  return Status::ok();
}

Status quantize_row(DType t, const float* src, void* dst, size_t n) {
  const DTypeInfo* info = nullptr;
  LOCI_RETURN_IF_ERROR(check_row(t, src, dst, n, "quantize_row", &info));
  if (n == 0) return Status::ok();
  switch (t) {
    case DType::F32: std::memmove(dst, src, n * sizeof(float)); break;
    case DType::F16: quantize_blocks<uint16_t, 1>(convert_row_f32_to_f16, src, dst, n); break;
    case DType::BF16: quantize_blocks<uint16_t, 1>(convert_row_f32_to_bf16, src, dst, n); break;
    case DType::Q4_0: quantize_blocks<BlockQ4_0, kQK>(quantize_row_q4_0, src, dst, n); break;
    case DType::Q4_1: quantize_blocks<BlockQ4_1, kQK>(quantize_row_q4_1, src, dst, n); break;
    case DType::Q5_0: quantize_blocks<BlockQ5_0, kQK>(quantize_row_q5_0, src, dst, n); break;
    case DType::Q5_1: quantize_blocks<BlockQ5_1, kQK>(quantize_row_q5_1, src, dst, n); break;
    case DType::Q8_0: quantize_blocks<BlockQ8_0, kQK>(quantize_row_q8_0_weights, src, dst, n); break;
    case DType::Q8_1: quantize_blocks<BlockQ8_1, kQK>(quantize_row_q8_1, src, dst, n); break;
    case DType::Q2_K: quantize_blocks<BlockQ2_K, kQK_K>(quantize_row_q2_k, src, dst, n); break;
    case DType::Q3_K: quantize_blocks<BlockQ3_K, kQK_K>(quantize_row_q3_k, src, dst, n); break;
    case DType::Q4_K: quantize_blocks<BlockQ4_K, kQK_K>(quantize_row_q4_k, src, dst, n); break;
    case DType::Q5_K: quantize_blocks<BlockQ5_K, kQK_K>(quantize_row_q5_k, src, dst, n); break;
    case DType::Q6_K: quantize_blocks<BlockQ6_K, kQK_K>(quantize_row_q6_k, src, dst, n); break;
    case DType::Q8_K: quantize_blocks<BlockQ8_K, kQK_K>(quantize_row_q8_k, src, dst, n); break;
    default: return internal_error("quantize_row: dtype in the table but not handled here");
  }
  return Status::ok();
}

}  // namespace loci
