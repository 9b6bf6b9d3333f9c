// Data and buffers shared by the kernel tests: random weight rows in every
// product's dtype, activation rows made by the real activation converters,
// guarded buffers that fault on reads past the kernel padding, and the
// |w|.|a| magnitude that tolerances are measured against.
#pragma once

#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <random>
#include <vector>

#include "loci/dtype.h"
#include "loci/fp16.h"
#include "loci/matmul.h"
#include "loci/quant.h"
#include "loci/tensor.h"

namespace loci::test {

// Every weight dtype that has a matmul product.
inline constexpr DType kMatmulWeights[] = {DType::F32,  DType::F16,  DType::BF16, DType::Q4_0, DType::Q4_1,
                                           DType::Q5_0, DType::Q5_1, DType::Q8_0, DType::Q2_K, DType::Q3_K,
                                           DType::Q4_K, DType::Q5_K, DType::Q6_K};

// The smallest k a product accepts: a whole block of both weight and activation.
inline size_t k_block(DType weight) {
  return std::max(dtype_info(weight)->block_elems, dtype_info(matmul_activation_dtype(weight))->block_elems);
}

inline size_t row_bytes(DType t, size_t k) { return *dtype_row_bytes(t, k); }

// Memory whose last byte is followed, at most 127 bytes later, by a page that
// faults on access: a kernel reading further than kKernelPadding past its
// input crashes instead of passing. The start is 64-byte aligned, as a
// loci::Tensor's is. Bytes start zeroed.
class GuardedBuffer {
 public:
  explicit GuardedBuffer(size_t bytes) {
    const size_t page = size_t(sysconf(_SC_PAGESIZE));
    const size_t used = bytes + kKernelPadding;
    const size_t data_pages = (used + 64 + page - 1) / page;
    map_bytes_ = (data_pages + 1) * page;
    void* p = mmap(nullptr, map_bytes_, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED) return;
    map_ = static_cast<uint8_t*>(p);
    uint8_t* guard = map_ + data_pages * page;
    if (mprotect(guard, page, PROT_NONE) != 0) return;
    data_ = reinterpret_cast<uint8_t*>(reinterpret_cast<uintptr_t>(guard - used) & ~uintptr_t(63));
    bytes_ = bytes;
  }
  ~GuardedBuffer() {
    if (map_) munmap(map_, map_bytes_);
  }
  GuardedBuffer(const GuardedBuffer&) = delete;
  GuardedBuffer& operator=(const GuardedBuffer&) = delete;

  bool ok() const { return data_ != nullptr; }
  uint8_t* data() const { return data_; }
  size_t bytes() const { return bytes_; }

 private:
  uint8_t* map_ = nullptr;
  size_t map_bytes_ = 0;
  uint8_t* data_ = nullptr;
  size_t bytes_ = 0;
};

// Bytes spanned by `rows` rows of `row` bytes placed `stride` apart.
inline size_t span_bytes(size_t rows, size_t row, size_t stride) { return rows == 0 ? 0 : (rows - 1) * stride + row; }

// A byte range inside a block struct.
struct Field {
  size_t offset = 0, size = 0;
};
#define LOCI_TEST_FIELD(Block, member) (Field{offsetof(Block, member), sizeof(Block::member)})

// The fp16 scale fields (d, m, dmin) of each quantized weight type's block.
struct ScaleFields {
  DType dtype;
  Field f[2];
};
inline constexpr ScaleFields kScaleFields[] = {
    {DType::Q4_0, {LOCI_TEST_FIELD(BlockQ4_0, d)}},
    {DType::Q4_1, {LOCI_TEST_FIELD(BlockQ4_1, d), LOCI_TEST_FIELD(BlockQ4_1, m)}},
    {DType::Q5_0, {LOCI_TEST_FIELD(BlockQ5_0, d)}},
    {DType::Q5_1, {LOCI_TEST_FIELD(BlockQ5_1, d), LOCI_TEST_FIELD(BlockQ5_1, m)}},
    {DType::Q8_0, {LOCI_TEST_FIELD(BlockQ8_0, d)}},
    {DType::Q2_K, {LOCI_TEST_FIELD(BlockQ2_K, d), LOCI_TEST_FIELD(BlockQ2_K, dmin)}},
    {DType::Q3_K, {LOCI_TEST_FIELD(BlockQ3_K, d)}},
    {DType::Q4_K, {LOCI_TEST_FIELD(BlockQ4_K, d), LOCI_TEST_FIELD(BlockQ4_K, dmin)}},
    {DType::Q5_K, {LOCI_TEST_FIELD(BlockQ5_K, d), LOCI_TEST_FIELD(BlockQ5_K, dmin)}},
    {DType::Q6_K, {LOCI_TEST_FIELD(BlockQ6_K, d)}},
};

// The fields holding the quant codes (not scales or mins) of each block type.
struct CodeFields {
  DType dtype;
  Field f[2];
};
inline constexpr CodeFields kCodeFields[] = {
    {DType::Q4_0, {LOCI_TEST_FIELD(BlockQ4_0, qs)}},
    {DType::Q4_1, {LOCI_TEST_FIELD(BlockQ4_1, qs)}},
    {DType::Q5_0, {LOCI_TEST_FIELD(BlockQ5_0, qh), LOCI_TEST_FIELD(BlockQ5_0, qs)}},
    {DType::Q5_1, {LOCI_TEST_FIELD(BlockQ5_1, qh), LOCI_TEST_FIELD(BlockQ5_1, qs)}},
    {DType::Q8_0, {LOCI_TEST_FIELD(BlockQ8_0, qs)}},
    {DType::Q8_1, {LOCI_TEST_FIELD(BlockQ8_1, qs)}},
    {DType::Q2_K, {LOCI_TEST_FIELD(BlockQ2_K, qs)}},
    {DType::Q3_K, {LOCI_TEST_FIELD(BlockQ3_K, hmask), LOCI_TEST_FIELD(BlockQ3_K, qs)}},
    {DType::Q4_K, {LOCI_TEST_FIELD(BlockQ4_K, qs)}},
    {DType::Q5_K, {LOCI_TEST_FIELD(BlockQ5_K, qh), LOCI_TEST_FIELD(BlockQ5_K, qs)}},
    {DType::Q6_K, {LOCI_TEST_FIELD(BlockQ6_K, ql), LOCI_TEST_FIELD(BlockQ6_K, qh)}},
    {DType::Q8_K, {LOCI_TEST_FIELD(BlockQ8_K, qs)}},
};
#undef LOCI_TEST_FIELD

// A sane random fp16 scale: either sign, magnitude in [1e-3, 1e-1].
inline uint16_t random_scale(std::mt19937_64& g) {
  std::uniform_real_distribution<float> mag(1e-3f, 1e-1f);
  const float v = (g() & 1) ? -mag(g) : mag(g);
  return f32_to_fp16(v);
}

// Writes `rows` random weight rows of k elements, `stride` bytes apart.
// Float types get values in [-1, 1]; quantized types get random bytes (so every
// quant bit pattern occurs) with their fp16 scale fields made sane.
inline void fill_random_weights(DType w, size_t rows, size_t k, uint8_t* dst, size_t stride, std::mt19937_64& g) {
  const DTypeInfo& info = *dtype_info(w);
  std::uniform_real_distribution<float> uni(-1.0f, 1.0f);
  std::vector<float> f(k);
  for (size_t r = 0; r < rows; ++r) {
    uint8_t* row = dst + r * stride;
    if (!info.quantized) {
      for (float& x : f) x = uni(g);
      if (w == DType::F32) std::memcpy(row, f.data(), k * sizeof(float));
      if (w == DType::F16) convert_row_f32_to_f16(f.data(), reinterpret_cast<uint16_t*>(row), k);
      if (w == DType::BF16) convert_row_f32_to_bf16(f.data(), reinterpret_cast<uint16_t*>(row), k);
      continue;
    }
    for (size_t b = 0; b < row_bytes(w, k); ++b) row[b] = uint8_t(g());
    for (const ScaleFields& sf : kScaleFields) {
      if (sf.dtype != w) continue;
      for (size_t blk = 0; blk < k / info.block_elems; ++blk)
        for (const Field& f : sf.f) {
          if (f.size == 0) continue;
          const uint16_t h = random_scale(g);
          std::memcpy(row + blk * info.block_bytes + f.offset, &h, sizeof h);
        }
    }
  }
}

// Random floats in [-1, 1], each 32-element stretch scaled by 2^[-4, 4] so
// block scales vary.
inline std::vector<float> random_activation_floats(size_t n, std::mt19937_64& g) {
  std::uniform_real_distribution<float> uni(-1.0f, 1.0f), expo(-4.0f, 4.0f);
  std::vector<float> x(n);
  float scale = 1.0f;
  for (size_t i = 0; i < n; ++i) {
    if (i % kQK == 0) scale = std::exp2(expo(g));
    x[i] = uni(g) * scale;
  }
  return x;
}

// Converts one float row into activation dtype `act` with the converter the
// matmul driver uses.
inline void convert_activation_row(DType act, const float* x, uint8_t* dst, size_t k) {
  switch (act) {
    case DType::F32: std::memcpy(dst, x, k * sizeof(float)); break;
    case DType::F16: convert_row_f32_to_f16(x, reinterpret_cast<uint16_t*>(dst), k); break;
    case DType::BF16: convert_row_f32_to_bf16(x, reinterpret_cast<uint16_t*>(dst), k); break;
    case DType::Q8_0: quantize_row_q8_0(x, reinterpret_cast<BlockQ8_0*>(dst), k); break;
    case DType::Q8_1: quantize_row_q8_1(x, reinterpret_cast<BlockQ8_1*>(dst), k); break;
    case DType::Q8_K: quantize_row_q8_k(x, reinterpret_cast<BlockQ8_K*>(dst), k); break;
    default: break;
  }
}

// Writes `rows` random activation rows of k elements in dtype `act`.
inline void fill_random_activations(DType act, size_t rows, size_t k, uint8_t* dst, size_t stride, std::mt19937_64& g) {
  for (size_t r = 0; r < rows; ++r) {
    const std::vector<float> x = random_activation_floats(k, g);
    convert_activation_row(act, x.data(), dst + r * stride, k);
  }
}

// Rows of any dtype widened to float with loci::dequantize_row.
inline std::vector<std::vector<float>> dequantized_rows(DType t, const uint8_t* src, size_t rows, size_t k,
                                                        size_t stride) {
  std::vector<std::vector<float>> out(rows, std::vector<float>(k));
  for (size_t r = 0; r < rows; ++r)
    if (!dequantize_row(t, src + r * stride, out[r].data(), k).is_ok()) out[r].assign(k, NAN);
  return out;
}

// The part of each element that does not depend on its quant code: the row
// dequantized with every code zeroed (-dmin * min for K-quants, m for
// Q4_1/Q5_1, -8 * d for Q4_0, ...; zero for float types). A kernel computes
// the code part and this part as separate terms, so both bound its rounding.
inline std::vector<std::vector<float>> offset_rows(DType t, const uint8_t* src, size_t rows, size_t k, size_t stride) {
  const DTypeInfo& info = *dtype_info(t);
  if (!info.quantized) return std::vector<std::vector<float>>(rows, std::vector<float>(k, 0.0f));
  const size_t bytes = row_bytes(t, k);
  std::vector<uint8_t> zeroed(rows * bytes);
  for (size_t r = 0; r < rows; ++r) std::memcpy(&zeroed[r * bytes], src + r * stride, bytes);
  for (const CodeFields& cf : kCodeFields) {
    if (cf.dtype != t) continue;
    for (size_t blk = 0; blk < rows * (k / info.block_elems); ++blk)
      for (const Field& f : cf.f) std::memset(&zeroed[blk * info.block_bytes + f.offset], 0, f.size);
  }
  return dequantized_rows(t, zeroed.data(), rows, k, bytes);
}

// The scale a dot product's rounding error is measured against, in double:
// sum_k (|w_k| + |o_k|) * |a_k| with o the code-independent offsets above,
// which bounds the magnitudes of the terms a kernel adds up.
inline double error_scale(const std::vector<float>& w, const std::vector<float>& w_offset,
                          const std::vector<float>& a) {
  double s = 0.0;
  for (size_t p = 0; p < w.size(); ++p)
    s += (std::fabs(double(w[p])) + std::fabs(double(w_offset[p]))) * std::fabs(double(a[p]));
  return s;
}

inline double dot(const std::vector<float>& w, const std::vector<float>& a) {
  double s = 0.0;
  for (size_t p = 0; p < w.size(); ++p) s += double(w[p]) * double(a[p]);
  return s;
}

}  // namespace loci::test
