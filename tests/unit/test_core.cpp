#include <catch2/catch.hpp>

#include "loci/dtype.h"
#include "loci/fp16.h"
#include "loci/status.h"
#include "loci/tensor.h"

using namespace loci;

namespace {
Result<int> parse_positive(int v) {
  if (v <= 0) return invalid_argument("not positive: " + std::to_string(v));
  return v;
}
Status twice_positive(int v, int* out) {
  LOCI_ASSIGN_OR_RETURN(int x, parse_positive(v));
  *out = 2 * x;
  return Status::ok();
}
}  // namespace

TEST_CASE("Status and Result carry errors through the helper macros", "[core]") {
  int out = 0;
  REQUIRE(twice_positive(4, &out).is_ok());
  CHECK(out == 8);
  const Status bad = twice_positive(-1, &out);
  CHECK(bad.code() == StatusCode::kInvalidArgument);
  CHECK(bad.to_string() == "invalid_argument: not positive: -1");
  CHECK(out == 8);
  // A Result cannot be built from an OK status.
  Result<int> r(Status::ok());
  CHECK_FALSE(r.is_ok());
  CHECK(r.status().code() == StatusCode::kInternal);
}

TEST_CASE("dtype table matches GGUF ids and block layouts", "[core]") {
  struct Want {
    uint32_t id;
    const char* name;
    size_t elems, bytes;
  };
  const Want want[] = {{0, "f32", 1, 4},     {1, "f16", 1, 2},       {2, "q4_0", 32, 18},  {3, "q4_1", 32, 20},
                       {6, "q5_0", 32, 22},  {7, "q5_1", 32, 24},    {8, "q8_0", 32, 34},  {10, "q2_k", 256, 84},
                       {11, "q3_k", 256, 110}, {12, "q4_k", 256, 144}, {13, "q5_k", 256, 176}, {14, "q6_k", 256, 210},
                       {15, "q8_k", 256, 292}, {30, "bf16", 1, 2}};
  for (const Want& w : want) {
    const DTypeInfo* info = dtype_info_from_gguf_id(w.id);
    REQUIRE(info != nullptr);
    CHECK(std::string(info->name) == w.name);
    CHECK(info->block_elems == w.elems);
    CHECK(info->block_bytes == w.bytes);
    CHECK(dtype_from_name(w.name) == info->dtype);
  }
  CHECK(dtype_info_from_gguf_id(4) == nullptr);  // retired Q4_2
  CHECK(dtype_info_from_gguf_id(0xffffffffu) == nullptr);
  CHECK(dtype_row_bytes(DType::Q4_0, 64) == size_t(36));
  CHECK_FALSE(dtype_row_bytes(DType::Q4_0, 33).has_value());
  CHECK_FALSE(dtype_row_bytes(DType::Q8_K, size_t(-1) / 256 * 256).has_value());  // overflows
}

TEST_CASE("fp16 and bf16 conversions round to nearest even", "[core]") {
  CHECK(f32_to_fp16(1.0f) == 0x3c00);
  CHECK(f32_to_fp16(-2.0f) == 0xc000);
  CHECK(f32_to_fp16(65504.0f) == 0x7bff);
  CHECK(f32_to_fp16(65520.0f) == 0x7c00);             // rounds to inf
  CHECK(f32_to_fp16(1.0f + 1.0f / 2048) == 0x3c00);   // tie -> even
  CHECK(f32_to_fp16(1.0f + 3.0f / 2048) == 0x3c02);   // tie -> even (up)
  CHECK(f32_to_fp16(5.9604645e-8f) == 0x0001);        // smallest subnormal
  CHECK(f32_to_fp16(2.9802322e-8f) == 0x0000);        // half of it, tie -> even (0)
  CHECK(std::isnan(fp16_to_f32(f32_to_fp16(std::nanf("")))));
  // Every finite half survives a round trip through float.
  for (uint32_t h = 0; h < 0x10000; ++h) {
    if ((h & 0x7c00) == 0x7c00) continue;
    REQUIRE(f32_to_fp16(fp16_to_f32(uint16_t(h))) == h);
  }
  CHECK(f32_to_bf16(1.0f) == 0x3f80);
  CHECK(f32_to_bf16(f32_from_bits(0x3f808000u)) == 0x3f80);  // tie -> even
  CHECK(f32_to_bf16(f32_from_bits(0x3f818000u)) == 0x3f82);
  CHECK(bf16_to_f32(0x4049) == f32_from_bits(0x40490000u));
}

TEST_CASE("Tensor reserves zeroed kernel padding and rejects bad shapes", "[core]") {
  Result<Tensor> t = Tensor::create(DType::Q4_0, {64, 3});
  REQUIRE(t.is_ok());
  CHECK(t->view().row_bytes() == 36);
  CHECK(t->bytes() == 108);
  CHECK(reinterpret_cast<uintptr_t>(t->data()) % kKernelPadding == 0);
  const auto* pad = static_cast<const uint8_t*>(t->data()) + t->bytes();
  for (size_t i = 0; i < kKernelPadding; ++i) REQUIRE(pad[i] == 0);
  CHECK(t->view().is_contiguous());
  CHECK(Tensor::create(DType::Q4_0, {33}).status().code() == StatusCode::kInvalidArgument);
  CHECK(Tensor::create(DType::F32, {-1}).status().code() == StatusCode::kInvalidArgument);
  CHECK(Tensor::create(DType::F32, {1 << 30, 1 << 30, 1 << 30}).status().code() == StatusCode::kOutOfRange);
}
