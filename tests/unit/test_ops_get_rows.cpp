// get_rows: the gather itself (which row, any strides, any dtype) and its
// argument checks. Row contents are checked against the f32/f16/bf16 values
// directly, and for quants against dequantize_row of the chosen row.
#include <catch2/catch.hpp>

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <vector>

#include "loci/fp16.h"
#include "loci/ops.h"
#include "loci/quant.h"
#include "support/test_support.h"

using namespace loci;

namespace {

// A 3-D view over `bytes` with padding after every row and every plane, so a
// gather that ignores nb[1] or nb[2] reads the wrong bytes.
TensorView padded_view(DType t, int64_t ne0, int64_t ne1, int64_t ne2, std::vector<uint8_t>& bytes) {
  const size_t row = *dtype_row_bytes(t, size_t(ne0));
  TensorView v;
  v.dtype = t;
  v.ndim = 3;
  v.ne[0] = ne0, v.ne[1] = ne1, v.ne[2] = ne2;
  v.nb[0] = dtype_info(t)->block_bytes;
  v.nb[1] = row + 6;
  v.nb[2] = v.nb[1] * size_t(ne1) + 10;
  v.nb[3] = v.nb[2] * size_t(ne2);
  bytes.assign(v.nb[3] + 64, 0xAB);
  v.data = bytes.data();
  return v;
}

// Rows of a view in get_rows order: dim 1 fastest, then dim 2.
std::vector<const uint8_t*> row_pointers(const TensorView& v) {
  std::vector<const uint8_t*> rows;
  for (int64_t i2 = 0; i2 < v.ne[2]; ++i2)
    for (int64_t i1 = 0; i1 < v.ne[1]; ++i1) rows.push_back(static_cast<const uint8_t*>(v.data) + i1 * v.nb[1] + i2 * v.nb[2]);
  return rows;
}

std::vector<int32_t> random_ids(std::mt19937_64& g, size_t n, int64_t rows) {
  std::vector<int32_t> ids = {0, int32_t(rows - 1)};
  while (ids.size() < n) ids.push_back(int32_t(g() % uint64_t(rows)));
  return ids;
}

}  // namespace

TEST_CASE("get_rows gathers f32, f16 and bf16 rows exactly through any strides", "[ops]") {
  auto g = test::rng(20);
  const int64_t ne0 = 7, ne1 = 3, ne2 = 2;
  for (DType t : {DType::F32, DType::F16, DType::BF16}) {
    INFO(dtype_name(t));
    std::vector<uint8_t> bytes;
    const TensorView v = padded_view(t, ne0, ne1, ne2, bytes);
    const auto rows = row_pointers(v);
    std::vector<std::vector<float>> want(rows.size());
    for (size_t r = 0; r < rows.size(); ++r) {
      want[r] = test::random_floats(g, size_t(ne0), -4.0f, 4.0f);
      for (size_t j = 0; j < size_t(ne0); ++j) {
        uint8_t* p = const_cast<uint8_t*>(rows[r]);
        if (t == DType::F32) {
          std::memcpy(p + 4 * j, &want[r][j], 4);
        } else {
          const uint16_t h = t == DType::F16 ? f32_to_fp16(want[r][j]) : f32_to_bf16(want[r][j]);
          std::memcpy(p + 2 * j, &h, 2);
          want[r][j] = t == DType::F16 ? fp16_to_f32(h) : bf16_to_f32(h);
        }
      }
    }
    const auto ids = random_ids(g, 9, v.rows());
    const size_t pitch = size_t(ne0) + 2;
    std::vector<float> y(ids.size() * pitch, -7.0f);
    REQUIRE(ops::get_rows(v, ids.data(), ids.size(), y.data(), pitch * sizeof(float)).is_ok());
    for (size_t i = 0; i < ids.size(); ++i) {
      for (size_t j = 0; j < size_t(ne0); ++j) REQUIRE(y[i * pitch + j] == want[size_t(ids[i])][j]);
      CHECK(y[i * pitch + size_t(ne0)] == -7.0f);  // padding untouched
    }
  }
}

TEST_CASE("get_rows gathers every quantized dtype as dequantize_row of the chosen row", "[ops]") {
  auto g = test::rng(21);
  for (DType t : {DType::Q4_0, DType::Q4_1, DType::Q5_0, DType::Q5_1, DType::Q8_0, DType::Q2_K, DType::Q3_K,
                  DType::Q4_K, DType::Q5_K, DType::Q6_K}) {
    INFO(dtype_name(t));
    const int64_t ne0 = int64_t(dtype_info(t)->block_elems) * 2;
    std::vector<uint8_t> bytes;
    const TensorView v = padded_view(t, ne0, 4, 2, bytes);
    const auto rows = row_pointers(v);
    for (const uint8_t* r : rows) {
      const auto src = test::random_floats(g, size_t(ne0));
      REQUIRE(quantize_row(t, src.data(), const_cast<uint8_t*>(r), size_t(ne0)).is_ok());
    }
    const auto ids = random_ids(g, 6, v.rows());
    std::vector<float> y(ids.size() * size_t(ne0));
    std::vector<float> want(static_cast<size_t>(ne0));
    REQUIRE(ops::get_rows(v, ids.data(), ids.size(), y.data(), size_t(ne0) * sizeof(float)).is_ok());
    for (size_t i = 0; i < ids.size(); ++i) {
      REQUIRE(dequantize_row(t, rows[size_t(ids[i])], want.data(), size_t(ne0)).is_ok());
      for (size_t j = 0; j < size_t(ne0); ++j) REQUIRE(y[i * size_t(ne0) + j] == want[j]);
    }
  }
}

TEST_CASE("get_rows rejects bad ids and arguments and leaves the output untouched", "[ops]") {
  std::vector<float> src(4 * 8, 1.0f);
  const TensorView v = *TensorView::contiguous(DType::F32, {8, 4}, src.data());
  std::vector<float> y(16, -7.0f);
  const std::vector<int32_t> good = {3, 0};
  REQUIRE(ops::get_rows(v, good.data(), 2, y.data(), 32).is_ok());
  std::fill(y.begin(), y.end(), -7.0f);
  for (int32_t bad : {-1, 4, 1 << 30}) {
    const std::vector<int32_t> ids = {0, bad};
    CHECK(ops::get_rows(v, ids.data(), 2, y.data(), 32).code() == StatusCode::kOutOfRange);
  }
  CHECK(ops::get_rows(v, nullptr, 2, y.data(), 32).code() == StatusCode::kInvalidArgument);
  CHECK(ops::get_rows(v, good.data(), 2, nullptr, 32).code() == StatusCode::kInvalidArgument);
  CHECK(ops::get_rows(v, good.data(), 2, y.data(), 16).code() == StatusCode::kInvalidArgument);  // rows overlap
  TensorView bad_dtype = v;
  bad_dtype.dtype = static_cast<DType>(4);  // retired Q4_2
  CHECK(ops::get_rows(bad_dtype, good.data(), 2, y.data(), 32).code() == StatusCode::kUnsupported);
  TensorView partial_block = v;
  partial_block.dtype = DType::Q4_0;
  partial_block.ne[0] = 33;
  CHECK(ops::get_rows(partial_block, good.data(), 2, y.data(), 33 * 4).code() == StatusCode::kInvalidArgument);
  for (float f : y) REQUIRE(f == -7.0f);
  CHECK(ops::get_rows(v, nullptr, 0, nullptr, 0).is_ok());  // nothing to gather
}
