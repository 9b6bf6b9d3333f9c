// Reference quantization and dequantization.
//
// Dequantization is pinned to the GGUF block layouts independently of our
// quantizers: hand-built blocks with known bytes must give hand-computed values,
// and random blocks must match a per-element reading of the format written
// here from the spec. Quantization is checked by round-trip error per type.
#include <catch2/catch.hpp>

#include <cmath>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "loci/fp16.h"
#include "loci/quant.h"
#include "support/test_support.h"

using namespace loci;

namespace {

const DType kAllTypes[] = {DType::F32,  DType::F16,  DType::BF16, DType::Q4_0, DType::Q4_1,
                           DType::Q5_0, DType::Q5_1, DType::Q8_0, DType::Q8_1, DType::Q2_K,
                           DType::Q3_K, DType::Q4_K, DType::Q5_K, DType::Q6_K, DType::Q8_K};

size_t block_elems(DType t) { return dtype_info(t)->block_elems; }
size_t block_bytes(DType t) { return dtype_info(t)->block_bytes; }

double rel_rms(const std::vector<float>& ref, const std::vector<float>& got) {
  double err = 0, sum = 0;
  for (size_t i = 0; i < ref.size(); ++i) {
    err += double(got[i] - ref[i]) * double(got[i] - ref[i]);
    sum += double(ref[i]) * double(ref[i]);
  }
  return sum > 0 ? std::sqrt(err / sum) : std::sqrt(err);
}

std::vector<float> round_trip(DType t, const std::vector<float>& x) {
  std::vector<uint8_t> q(*dtype_row_bytes(t, x.size()));
  std::vector<float> y(x.size(), NAN);
  REQUIRE(quantize_row(t, x.data(), q.data(), x.size()).is_ok());
  REQUIRE(dequantize_row(t, q.data(), y.data(), x.size()).is_ok());
  return y;
}

bool all_finite(const std::vector<float>& v) {
  for (float f : v)
    if (!std::isfinite(f)) return false;
  return true;
}

// ---- round-trip error bounds -------------------------------------------------

// Relative RMS error (|dequant - x| / |x|) allowed per type: `typical` for
// uniform, normal and offset-uniform data, `heavy` for normal data with 4% of
// elements scaled 8x. Measured on this machine (seeded runs, 16k elements):
//   type   typical  heavy       type   typical  heavy
//   f16    0.00022  0.00020     q8_1   0.0053   0.0095
//   bf16   0.0017   0.0017      q2_k   0.26     0.28
//   q4_0   0.085    0.150       q3_k   0.143    0.197
//   q4_1   0.079    0.102       q4_k   0.070    0.093
//   q5_0   0.042    0.075       q5_k   0.035    0.046
//   q5_1   0.038    0.050       q6_k   0.017    0.027
//   q8_0   0.0053   0.0095      q8_k   0.0069   0.020
// Bounds leave ~15-25% margin; a layout or scale bug gives errors near 1.
struct ErrorBound {
  DType type;
  double typical, heavy;
};
const ErrorBound kBounds[] = {
    {DType::F32, 0.0, 0.0},         {DType::F16, 0.0003, 0.0003},   {DType::BF16, 0.0025, 0.0025},
    {DType::Q4_0, 0.10, 0.18},      {DType::Q4_1, 0.095, 0.13},     {DType::Q5_0, 0.05, 0.09},
    {DType::Q5_1, 0.045, 0.06},     {DType::Q8_0, 0.0065, 0.012},   {DType::Q8_1, 0.0065, 0.012},
    {DType::Q2_K, 0.30, 0.33},      {DType::Q3_K, 0.17, 0.23},      {DType::Q4_K, 0.08, 0.11},
    {DType::Q5_K, 0.04, 0.055},     {DType::Q6_K, 0.02, 0.033},     {DType::Q8_K, 0.008, 0.025},
};

enum class Dist { kUniform, kNormal, kOffset, kHeavy, kConstant };

std::vector<float> make_data(Dist d, size_t n, std::mt19937_64& g) {
  std::normal_distribution<float> normal(0.0f, 1.0f);
  std::uniform_real_distribution<float> uniform(-1.0f, 1.0f);
  std::vector<float> x(n);
  for (size_t i = 0; i < n; ++i) {
    switch (d) {
      case Dist::kUniform: x[i] = uniform(g); break;
      case Dist::kNormal: x[i] = normal(g); break;
      case Dist::kOffset: x[i] = 2.0f + uniform(g); break;  // all positive
      case Dist::kHeavy: x[i] = normal(g) * (uniform(g) > 0.92f ? 8.0f : 1.0f); break;
      case Dist::kConstant: x[i] = i % kQK_K == 0 ? normal(g) : x[i - 1]; break;  // per super-block
    }
  }
  return x;
}

}  // namespace

TEST_CASE("round trip error stays within each type's bound", "[quant]") {
  auto g = test::rng(1);
  const size_t n = kQK_K * 64;
  const struct {
    Dist dist;
    const char* name;
  } dists[] = {{Dist::kUniform, "uniform"}, {Dist::kNormal, "normal"}, {Dist::kOffset, "offset"},
               {Dist::kHeavy, "heavy"}, {Dist::kConstant, "constant"}};
  for (const auto& d : dists) {
    const std::vector<float> x = make_data(d.dist, n, g);
    for (const ErrorBound& b : kBounds) {
      const std::vector<float> y = round_trip(b.type, x);
      const double err = rel_rms(x, y);
      double bound = d.dist == Dist::kHeavy ? b.heavy : b.typical;
      // A constant block is exact up to rounding its scale to fp16/bf16.
      if (d.dist == Dist::kConstant) bound = b.type == DType::BF16 ? 0.004 : (b.type == DType::F32 ? 0.0 : 0.001);
      INFO(dtype_name(b.type) << " on " << d.name << " data: relative RMS error " << err << ", bound " << bound);
      CHECK(all_finite(y));
      CHECK(err <= bound);
    }
  }
}

TEST_CASE("all-zero blocks round trip to exact zeros, also inside nonzero rows", "[quant]") {
  auto g = test::rng(2);
  for (DType t : kAllTypes) {
    INFO(dtype_name(t));
    const size_t be = block_elems(t) == 1 ? kQK_K : block_elems(t);
    // Blocks 0 and 2 random, 1 and 3 zero; for K-quants also zero sub-blocks
    // (elements 32..63: one of 32, two of 16) inside a random super-block.
    std::vector<float> x = test::random_floats(g, 4 * be);
    std::fill(x.begin() + be, x.begin() + 2 * be, 0.0f);
    std::fill(x.begin() + 3 * be, x.end(), 0.0f);
    if (be == kQK_K) std::fill(x.begin() + 32, x.begin() + 64, 0.0f);
    const std::vector<float> y = round_trip(t, x);
    for (size_t i = 0; i < x.size(); ++i)
      if (x[i] == 0.0f) REQUIRE(y[i] == 0.0f);
    CHECK(all_finite(y));
    const std::vector<float> zeros(be, 0.0f);
    CHECK(round_trip(t, zeros) == zeros);
  }
}

TEST_CASE("quantizers stay finite for tiny and large magnitudes", "[quant]") {
  auto g = test::rng(3);
  const std::vector<float> base = test::random_floats(g, kQK_K * 4);
  for (float scale : {1e-7f, 1e-3f, 3e3f}) {
    std::vector<float> x(base);
    for (float& v : x) v *= scale;
    for (DType t : kAllTypes) {
      INFO(dtype_name(t) << " at scale " << scale);
      const std::vector<float> y = round_trip(t, x);
      CHECK(all_finite(y));
      if (scale >= 1e-3f) {  // below that the fp16 scales themselves go subnormal
        const ErrorBound* b = nullptr;
        for (const ErrorBound& e : kBounds)
          if (e.type == t) b = &e;
        CHECK(rel_rms(x, y) <= b->typical);
      }
    }
  }
}

// ---- dequantization pinned to the format ---------------------------------------

namespace {

uint16_t h(float v) { return f32_to_fp16(v); }

// Dequantizes one block of type t held in `bytes` with the typed and the generic
// functions and checks they agree.
std::vector<float> dequant_block(DType t, const std::vector<uint8_t>& bytes, size_t blocks = 1) {
  const size_t n = blocks * block_elems(t);
  std::vector<float> y(n, NAN);
  REQUIRE(dequantize_row(t, bytes.data(), y.data(), n).is_ok());
  return y;
}

template <typename Block>
std::vector<uint8_t> bytes_of(const Block& b) {
  std::vector<uint8_t> v(sizeof b);
  std::memcpy(v.data(), &b, sizeof b);
  return v;
}

}  // namespace

TEST_CASE("hand-built legacy blocks dequantize to hand-computed values", "[quant]") {
  SECTION("q4_0: (q - 8) * d, element j in the low nibble of byte j, j+16 in the high") {
    BlockQ4_0 b;
    b.d = h(0.5f);
    for (int j = 0; j < 16; ++j) b.qs[j] = uint8_t(j | ((15 - j) << 4));
    const std::vector<float> y = dequant_block(DType::Q4_0, bytes_of(b));
    const float want_lo[16] = {-4, -3.5, -3, -2.5, -2, -1.5, -1, -0.5, 0, 0.5, 1, 1.5, 2, 2.5, 3, 3.5};
    for (int j = 0; j < 16; ++j) {
      CHECK(y[j] == want_lo[j]);
      CHECK(y[16 + j] == want_lo[15 - j]);
    }
  }
  SECTION("q4_1: q * d + m") {
    BlockQ4_1 b;
    b.d = h(0.25f);
    b.m = h(-1.0f);
    for (int j = 0; j < 16; ++j) b.qs[j] = uint8_t(j | ((15 - j) << 4));
    const std::vector<float> y = dequant_block(DType::Q4_1, bytes_of(b));
    CHECK(y[0] == -1.0f);
    CHECK(y[1] == -0.75f);
    CHECK(y[15] == 2.75f);
    CHECK(y[16] == 2.75f);
    CHECK(y[31] == -1.0f);
  }
  SECTION("q5_0: fifth bit of element j is bit j of qh (little-endian), value (q - 16) * d") {
    BlockQ5_0 b;
    b.d = h(1.0f);
    const uint8_t qh[4] = {0xFF, 0xFF, 0x00, 0x00};  // elements 0..15 have it, 16..31 not
    std::memcpy(b.qh, qh, 4);
    for (int j = 0; j < 16; ++j) b.qs[j] = uint8_t(j | ((15 - j) << 4));
    const std::vector<float> y = dequant_block(DType::Q5_0, bytes_of(b));
    for (int j = 0; j < 16; ++j) {
      CHECK(y[j] == float(j));            // 16 + j - 16
      CHECK(y[16 + j] == float(-1 - j));  // 15 - j - 16
    }
  }
  SECTION("q5_1: q * d + m with the fifth bit from qh") {
    BlockQ5_1 b;
    b.d = h(0.5f);
    b.m = h(2.0f);
    const uint8_t qh[4] = {0x00, 0x00, 0xFF, 0xFF};  // only elements 16..31
    std::memcpy(b.qh, qh, 4);
    for (int j = 0; j < 16; ++j) b.qs[j] = uint8_t(j | ((15 - j) << 4));
    const std::vector<float> y = dequant_block(DType::Q5_1, bytes_of(b));
    CHECK(y[0] == 2.0f);
    CHECK(y[15] == 9.5f);
    CHECK(y[16] == 17.5f);  // 31 * 0.5 + 2
    CHECK(y[31] == 10.0f);  // 16 * 0.5 + 2
  }
  SECTION("q8_0 and q8_1: q * d") {
    BlockQ8_0 b;
    BlockQ8_1 c;
    b.d = c.d = h(0.125f);
    c.s = h(123.0f);  // the sum field must not affect values
    for (int j = 0; j < 32; ++j) b.qs[j] = c.qs[j] = int8_t(8 * j - 128);
    const std::vector<float> y = dequant_block(DType::Q8_0, bytes_of(b));
    const std::vector<float> z = dequant_block(DType::Q8_1, bytes_of(c));
    for (int j = 0; j < 32; ++j) {
      CHECK(y[j] == float(j - 16));
      CHECK(z[j] == float(j - 16));
    }
  }
}

TEST_CASE("hand-built K-quant blocks dequantize to hand-computed values", "[quant]") {
  SECTION("q2_k: 16 sub-blocks of 16, scale nibble low / min nibble high, 2-bit planes") {
    BlockQ2_K b;
    b.d = h(1.0f);
    b.dmin = h(0.5f);
    for (int j = 0; j < 16; ++j) b.scales[j] = uint8_t(j | ((15 - j) << 4));
    // 0xE4 = 3,2,1,0 from the top: in each 128-element half, element p has
    // quant p / 32.
    std::memset(b.qs, 0xE4, sizeof b.qs);
    const std::vector<float> y = dequant_block(DType::Q2_K, bytes_of(b));
    for (int i = 0; i < 256; ++i) {
      const int j = i / 16, q = (i % 128) / 32;
      INFO("element " << i);
      CHECK(y[i] == float(j * q) - 0.5f * float(15 - j));
    }
    CHECK(y[0] == -7.5f);
    CHECK(y[255] == 45.0f);  // sub-block 15, quant 3, min 0
  }
  SECTION("q3_k: 6-bit signed scales split 4+2 bits, third bit in hmask") {
    BlockQ3_K b;
    b.d = h(0.5f);
    // Scale code j is 24 + j (scale j - 8): low nibbles of codes 0..7 in the low
    // halves of bytes 0..7 and of codes 8..15 in their high halves; the top two
    // bits (1 for j < 8, 2 for j >= 8) in bytes 8..11, code j at byte 8 + j%4,
    // bits 2*(j/4). Worked out by hand:
    const uint8_t scales[12] = {0x08, 0x19, 0x2A, 0x3B, 0x4C, 0x5D, 0x6E, 0x7F, 0xA5, 0xA5, 0xA5, 0xA5};
    std::memcpy(b.scales, scales, 12);
    std::memset(b.qs, 0xE4, sizeof b.qs);     // low bits as in q2_k
    std::memset(b.hmask, 0x0F, sizeof b.hmask);  // high bit set for elements 0..127 only
    const std::vector<float> y = dequant_block(DType::Q3_K, bytes_of(b));
    for (int i = 0; i < 256; ++i) {
      const int j = i / 16, q = (i % 128) / 32 - (i >= 128 ? 4 : 0);
      INFO("element " << i);
      CHECK(y[i] == 0.5f * float(j - 8) * float(q));
    }
    CHECK(y[0] == 0.0f);
    CHECK(y[127] == 0.5f * -1 * 3);
    CHECK(y[128] == 0.5f * 0 * -4);
    CHECK(y[255] == 0.5f * 7 * -1);
  }

  // Shared by q4_k and q5_k: scales {1,2,3,4,17,33,50,63}, mins {0,1,2,63,16,32,48,5}.
  // Bytes 0..3: scale j | (top 2 bits of scale j+4) << 6; bytes 4..7: min j | (top
  // bits of min j+4) << 6; bytes 8..11: low nibble of scale j+4 | low nibble of
  // min j+4 << 4. Worked out by hand:
  const uint8_t k_scales[12] = {0x41, 0x82, 0xC3, 0xC4, 0x40, 0x81, 0xC2, 0x3F, 0x01, 0x01, 0x02, 0x5F};
  const int sc[8] = {1, 2, 3, 4, 17, 33, 50, 63};
  const int mn[8] = {0, 1, 2, 63, 16, 32, 48, 5};
  for (int j = 0; j < 8; ++j) {
    uint8_t s, m;
    k_scale_min(k_scales, j, &s, &m);
    CHECK(s == sc[j]);
    CHECK(m == mn[j]);
  }
  // Byte l of each 32-byte group: low nibble l%16 (sub-block 2k), high 15 - l%16 (2k+1).
  auto k_nibble = [](int i) { return (i / 32) % 2 == 0 ? (i % 32) % 16 : 15 - (i % 32) % 16; };

  SECTION("q4_k: sub-blocks of 32, d*scale*q - dmin*min") {
    BlockQ4_K b;
    b.d = h(1.0f);
    b.dmin = h(0.25f);
    std::memcpy(b.scales, k_scales, 12);
    for (int l = 0; l < 128; ++l) b.qs[l] = uint8_t((l % 32 % 16) | ((15 - l % 32 % 16) << 4));
    const std::vector<float> y = dequant_block(DType::Q4_K, bytes_of(b));
    for (int i = 0; i < 256; ++i) {
      const int j = i / 32;
      INFO("element " << i);
      CHECK(y[i] == float(sc[j] * k_nibble(i)) - 0.25f * float(mn[j]));
    }
    CHECK(y[0] == 0.0f);
    CHECK(y[255] == 0.0f - 1.25f);
    CHECK(y[100] == 4.0f * 11 - 15.75f);  // sub-block 3, byte 4: high nibble 11
  }
  SECTION("q5_k: as q4_k plus a fifth bit, qh[l] bit j for sub-block j") {
    BlockQ5_K b;
    b.d = h(1.0f);
    b.dmin = h(0.25f);
    std::memcpy(b.scales, k_scales, 12);
    for (int l = 0; l < 128; ++l) b.qs[l] = uint8_t((l % 32 % 16) | ((15 - l % 32 % 16) << 4));
    for (int l = 0; l < 32; ++l) b.qh[l] = l < 16 ? 0x55 : 0xAA;  // even sub-blocks first half, odd second
    const std::vector<float> y = dequant_block(DType::Q5_K, bytes_of(b));
    for (int i = 0; i < 256; ++i) {
      const int j = i / 32, l = i % 32;
      const int high = (l < 16) == (j % 2 == 0) ? 16 : 0;
      INFO("element " << i);
      CHECK(y[i] == float(sc[j] * (k_nibble(i) + high)) - 0.25f * float(mn[j]));
    }
    CHECK(y[0] == 16.0f);  // 1 * (0 + 16) - 0
  }
  SECTION("q6_k: int8 scales per 16, 4 low bits in ql and 2 high bits in qh, minus 32") {
    BlockQ6_K b;
    b.d = h(0.5f);
    for (int j = 0; j < 16; ++j) b.scales[j] = int8_t(j - 8);
    // ql byte l of each 32: low nibble l%16, high 15 - l%16; qh 0xE4: quarter k
    // of each 128-element half gets top bits k.
    for (int l = 0; l < 128; ++l) b.ql[l] = uint8_t((l % 16) | ((15 - l % 16) << 4));
    std::memset(b.qh, 0xE4, sizeof b.qh);
    const std::vector<float> y = dequant_block(DType::Q6_K, bytes_of(b));
    for (int i = 0; i < 256; ++i) {
      const int k = (i % 128) / 32, l = i % 32;
      const int low = k < 2 ? l % 16 : 15 - l % 16;  // quarters 2,3 use high nibbles
      const int q = (low | (k << 4)) - 32;
      INFO("element " << i);
      CHECK(y[i] == 0.5f * float(i / 16 - 8) * float(q));
    }
    CHECK(y[0] == 0.5f * -8 * -32);
    CHECK(y[255] == 0.5f * 7 * (0 + 48 - 32));
  }
  SECTION("q8_k: float d times int8") {
    BlockQ8_K b;
    b.d = 0.5f;
    for (int i = 0; i < 256; ++i) b.qs[i] = int8_t(i - 128);
    std::memset(b.bsums, 0x7F, sizeof b.bsums);  // must not affect values
    const std::vector<float> y = dequant_block(DType::Q8_K, bytes_of(b));
    for (int i = 0; i < 256; ++i) CHECK(y[i] == 0.5f * float(i - 128));
  }
}

namespace {

// The value of element i of one block, read per element from the format
// description with llama.cpp's operation order: block scale times sub-block
// scale first, then times the quant, then minus the min product.
float spec_value(DType t, const uint8_t* p, int i) {
  auto f16 = [p](size_t off) {
    uint16_t v;
    std::memcpy(&v, p + off, 2);
    return fp16_to_f32(v);
  };
  auto bit = [p](size_t off, int k) { return (p[off + k / 8] >> (k % 8)) & 1; };
  auto k6 = [p](size_t scales, int j, bool want_min) {  // Q4_K/Q5_K 6-bit fields
    const uint8_t* s = p + scales;
    if (j < 4) return want_min ? s[j + 4] & 63 : s[j] & 63;
    const int low = want_min ? s[j + 4] >> 4 : s[j + 4] & 15;
    const int top = want_min ? s[j] >> 6 : s[j - 4] >> 6;
    return low | (top << 4);
  };
  switch (t) {
    case DType::Q4_0: return float(((p[2 + i % 16] >> (4 * (i / 16))) & 15) - 8) * f16(0);
    case DType::Q4_1: return float((p[4 + i % 16] >> (4 * (i / 16))) & 15) * f16(0) + f16(2);
    case DType::Q5_0: return float((((p[6 + i % 16] >> (4 * (i / 16))) & 15) | (bit(2, i) << 4)) - 16) * f16(0);
    case DType::Q5_1: return float(((p[8 + i % 16] >> (4 * (i / 16))) & 15) | (bit(4, i) << 4)) * f16(0) + f16(2);
    case DType::Q8_0: return float(int8_t(p[2 + i])) * f16(0);
    case DType::Q8_1: return float(int8_t(p[4 + i])) * f16(0);
    case DType::Q2_K: {  // scales[16] qs[64] d dmin
      const int q = (p[16 + 32 * (i / 128) + i % 32] >> (2 * ((i % 128) / 32))) & 3;
      const uint8_t s = p[i / 16];
      return f16(80) * float(s & 15) * float(q) - f16(82) * float(s >> 4);
    }
    case DType::Q3_K: {  // hmask[32] qs[64] scales[12] d
      const int low = (p[32 + 32 * (i / 128) + i % 32] >> (2 * ((i % 128) / 32))) & 3;
      const int q = low - (((p[i % 32] >> (i / 32)) & 1) ? 0 : 4);
      const int j = i / 16;
      const int code = ((p[96 + j % 8] >> (4 * (j / 8))) & 15) | (((p[104 + j % 4] >> (2 * (j / 4))) & 3) << 4);
      return f16(108) * float(code - 32) * float(q);
    }
    case DType::Q4_K: {  // d dmin scales[12] qs[128]
      const int j = i / 32;
      const int q = (p[16 + 32 * (i / 64) + i % 32] >> (4 * (j % 2))) & 15;
      return f16(0) * float(k6(4, j, false)) * float(q) - f16(2) * float(k6(4, j, true));
    }
    case DType::Q5_K: {  // d dmin scales[12] qh[32] qs[128]
      const int j = i / 32;
      const int q = ((p[48 + 32 * (i / 64) + i % 32] >> (4 * (j % 2))) & 15) + 16 * ((p[16 + i % 32] >> j) & 1);
      return f16(0) * float(k6(4, j, false)) * float(q) - f16(2) * float(k6(4, j, true));
    }
    case DType::Q6_K: {  // ql[128] qh[64] scales[16] d
      const int half = i / 128, k = (i % 128) / 32, l = i % 32;
      const int low = (p[64 * half + 32 * (k % 2) + l] >> (4 * (k / 2))) & 15;
      const int top = (p[128 + 32 * half + l] >> (2 * k)) & 3;
      return f16(208) * float(int8_t(p[192 + i / 16])) * float((low | (top << 4)) - 32);
    }
    case DType::Q8_K: {  // float d, qs[256], bsums
      float d;
      std::memcpy(&d, p, 4);
      return d * float(int8_t(p[4 + i]));
    }
    default: return NAN;
  }
}

// Offsets of each type's fp16 (or float) scale fields, so random blocks can be
// given finite scales.
std::vector<size_t> half_fields(DType t) {
  switch (t) {
    case DType::Q4_0:
    case DType::Q5_0:
    case DType::Q8_0: return {0};
    case DType::Q4_1:
    case DType::Q5_1:
    case DType::Q8_1: return {0, 2};
    case DType::Q2_K: return {80, 82};
    case DType::Q3_K: return {108};
    case DType::Q4_K:
    case DType::Q5_K: return {0, 2};
    case DType::Q6_K: return {208};
    default: return {};
  }
}

}  // namespace

TEST_CASE("random blocks dequantize exactly as the per-element format reading", "[quant]") {
  auto g = test::rng(4);
  std::normal_distribution<float> scale(0.0f, 0.05f);
  const DType types[] = {DType::Q4_0, DType::Q4_1, DType::Q5_0, DType::Q5_1, DType::Q8_0, DType::Q8_1, DType::Q2_K,
                         DType::Q3_K, DType::Q4_K, DType::Q5_K, DType::Q6_K, DType::Q8_K};
  const size_t kBlocks = 64;
  for (DType t : types) {
    INFO(dtype_name(t));
    const size_t bb = block_bytes(t), be = block_elems(t);
    std::vector<uint8_t> bytes = test::random_bytes(g, kBlocks * bb);
    for (size_t b = 0; b < kBlocks; ++b) {
      for (size_t off : half_fields(t)) {
        const uint16_t v = h(scale(g));
        std::memcpy(&bytes[b * bb + off], &v, 2);
      }
      if (t == DType::Q8_K) {
        const float d = scale(g);
        std::memcpy(&bytes[b * bb], &d, 4);
      }
    }
    const std::vector<float> y = dequant_block(t, bytes, kBlocks);
    size_t mismatches = 0;
    for (size_t b = 0; b < kBlocks; ++b)
      for (size_t i = 0; i < be; ++i) {
        const float want = spec_value(t, &bytes[b * bb], int(i));
        const float got = y[b * be + i];
#if defined(__FP_FAST_FMAF)
        // The compiler may fuse "a * q - m" on this target, in either code.
        const bool same = std::fabs(got - want) <= 1e-6f * (std::fabs(want) + 1e-3f);
#else
        const bool same = got == want;
#endif
        if (!same && mismatches++ < 5) FAIL_CHECK("block " << b << " element " << i << ": " << got << " vs " << want);
      }
    CHECK(mismatches == 0);
  }
}

// ---- quantizer encodings ----------------------------------------------------------

TEST_CASE("legacy quantizers encode as llama.cpp's reference does", "[quant]") {
  SECTION("q4_0: d = (signed largest element) / -8, q = trunc(x / d + 8.5) clamped to 15") {
    float x[32] = {};
    x[0] = -4.0f;  // the largest magnitude: d = -4 / -8 = 0.5, so -4 -> q 0
    x[1] = 1.25f;  // 2.5 + 8.5 = 11
    x[2] = -0.3f;  // -0.6 + 8.5 = 7.9 -> 7
    x[20] = 3.9f;  // 7.8 + 8.5 = 16.3 -> clamped to 15 (element 20: byte 4, high nibble)
    BlockQ4_0 b;
    quantize_row_q4_0(x, &b, 32);
    CHECK(fp16_to_f32(b.d) == 0.5f);
    CHECK((b.qs[0] & 15) == 0);
    CHECK((b.qs[1] & 15) == 11);
    CHECK((b.qs[2] & 15) == 7);
    CHECK((b.qs[3] & 15) == 8);  // zeros sit at 8
    CHECK((b.qs[4] >> 4) == 15);
  }
  SECTION("q4_1: min maps to 0 and max to 15") {
    float x[32];
    for (int j = 0; j < 32; ++j) x[j] = 1.0f + 0.5f * float(j % 16);  // 1 .. 8.5
    BlockQ4_1 b;
    quantize_row_q4_1(x, &b, 32);
    CHECK(fp16_to_f32(b.d) == 0.5f);
    CHECK(fp16_to_f32(b.m) == 1.0f);
    for (int j = 0; j < 16; ++j) CHECK(b.qs[j] == uint8_t(j | (j << 4)));
  }
  SECTION("q5_0/q5_1: the fifth bit goes to qh bit j") {
    float x[32];
    for (int j = 0; j < 32; ++j) x[j] = float(j) - 16.0f;  // -16 .. 15
    BlockQ5_0 b;
    quantize_row_q5_0(x, &b, 32);
    CHECK(fp16_to_f32(b.d) == 1.0f);  // -16 / -16
    // q = x / 1 + 16 = j: elements 16..31 have the fifth bit.
    const uint8_t want_qh[4] = {0x00, 0x00, 0xFF, 0xFF};
    CHECK(std::memcmp(b.qh, want_qh, 4) == 0);
    for (int j = 0; j < 16; ++j) CHECK(b.qs[j] == uint8_t(j | (j << 4)));
    BlockQ5_1 c;
    quantize_row_q5_1(x, &c, 32);
    CHECK(fp16_to_f32(c.d) == 1.0f);  // 31 / 31
    CHECK(fp16_to_f32(c.m) == -16.0f);
    CHECK(std::memcmp(c.qh, want_qh, 4) == 0);
  }
}

namespace {

// A super-block that an encoding with power-of-two super scales represents
// exactly: sub-block j is scale_code[j] * d * q - min_code[j] * dmin, and each
// sub-block holds both extreme quants so its range pins the scale.
std::vector<float> representable_block(DType t, std::mt19937_64& g) {
  std::uniform_int_distribution<int> pick(0, 1 << 20);
  const bool affine = t == DType::Q2_K || t == DType::Q4_K || t == DType::Q5_K;
  const int sub = t == DType::Q4_K || t == DType::Q5_K ? 32 : 16;
  const int n_sub = int(kQK_K) / sub;
  std::vector<float> x(kQK_K);
  if (affine) {
    const int nmax = t == DType::Q2_K ? 3 : t == DType::Q4_K ? 15 : 31;
    const int code_max = t == DType::Q2_K ? 15 : 63;
    const float d = 1.0f / 64, dmin = 1.0f / 32;
    for (int j = 0; j < n_sub; ++j) {
      // The largest codes must appear (they fix d and dmin); others random.
      const int sc = j == 0 ? code_max : 1 + pick(g) % code_max;
      const int mc = j == 1 ? code_max : pick(g) % (code_max + 1);
      for (int l = 0; l < sub; ++l) {
        const int q = l == 0 ? 0 : l == 1 ? nmax : pick(g) % (nmax + 1);
        x[j * sub + l] = d * float(sc) * float(q) - dmin * float(mc);
      }
    }
  } else {
    const int nmax = t == DType::Q3_K ? 4 : 32;
    const int code_half = t == DType::Q3_K ? 32 : 128;
    const float d = 1.0f / 128;
    for (int j = 0; j < n_sub; ++j) {
      const int sc = j == 0 ? -code_half : pick(g) % (2 * code_half) - code_half;
      for (int l = 0; l < sub; ++l) {
        const int q = l == 0 ? -nmax : pick(g) % (2 * nmax) - nmax;
        x[j * sub + l] = d * float(sc) * float(q);
      }
    }
  }
  return x;
}

}  // namespace

TEST_CASE("K-quant quantizers reproduce exactly representable blocks", "[quant]") {
  // The search must find the encoding the data was built from (or another exact one).
  auto g = test::rng(5);
  for (DType t : {DType::Q2_K, DType::Q3_K, DType::Q4_K, DType::Q5_K, DType::Q6_K}) {
    INFO(dtype_name(t));
    for (int rep = 0; rep < 8; ++rep) {
      const std::vector<float> x = representable_block(t, g);
      const std::vector<float> y = round_trip(t, x);
      CHECK(rel_rms(x, y) == 0.0);
    }
  }
}

// ---- the generic entry points ------------------------------------------------------

TEST_CASE("generic functions match the typed ones, also on unaligned buffers", "[quant]") {
  auto g = test::rng(6);
  for (DType t : kAllTypes) {
    INFO(dtype_name(t));
    const size_t be = block_elems(t) == 1 ? 64 : block_elems(t);
    const size_t n = 3 * be;
    const std::vector<float> x = test::random_floats(g, n);
    const size_t bytes = *dtype_row_bytes(t, n);
    std::vector<uint8_t> aligned(bytes);
    REQUIRE(quantize_row(t, x.data(), aligned.data(), n).is_ok());
    // Same bytes when written at an odd address.
    std::vector<uint8_t> odd(bytes + 1);
    REQUIRE(quantize_row(t, x.data(), odd.data() + 1, n).is_ok());
    CHECK(std::memcmp(aligned.data(), odd.data() + 1, bytes) == 0);
    std::vector<float> y1(n), y2(n);
    REQUIRE(dequantize_row(t, aligned.data(), y1.data(), n).is_ok());
    REQUIRE(dequantize_row(t, odd.data() + 1, y2.data(), n).is_ok());
    CHECK(y1 == y2);
    if (t == DType::F32) CHECK(y1 == x);
    if (t == DType::F16) {
      for (size_t i = 0; i < n; ++i) REQUIRE(y1[i] == fp16_to_f32(f32_to_fp16(x[i])));
    }
    if (t == DType::BF16) {
      for (size_t i = 0; i < n; ++i) REQUIRE(y1[i] == bf16_to_f32(f32_to_bf16(x[i])));
    }
    if (t == DType::Q8_K) {  // generic quantize uses the activation quantizer
      std::vector<BlockQ8_K> typed(n / kQK_K);
      quantize_row_q8_k(x.data(), typed.data(), n);
      CHECK(std::memcmp(typed.data(), aligned.data(), bytes) == 0);
    }
  }
}

TEST_CASE("generic functions reject bad arguments", "[quant]") {
  std::vector<float> f(512, 1.0f);
  std::vector<uint8_t> buf(4096);
  for (DType t : kAllTypes) {
    INFO(dtype_name(t));
    const size_t be = block_elems(t);
    if (be > 1) {
      CHECK(dequantize_row(t, buf.data(), f.data(), be + 1).code() == StatusCode::kInvalidArgument);
      CHECK(quantize_row(t, f.data(), buf.data(), be - 1).code() == StatusCode::kInvalidArgument);
    }
    CHECK(dequantize_row(t, nullptr, f.data(), be).code() == StatusCode::kInvalidArgument);
    CHECK(quantize_row(t, f.data(), nullptr, be).code() == StatusCode::kInvalidArgument);
    CHECK(quantize_row(t, nullptr, buf.data(), be).is_ok() == false);
    // Zero elements is a valid no-op, even without buffers.
    CHECK(dequantize_row(t, nullptr, nullptr, 0).is_ok());
    CHECK(quantize_row(t, nullptr, nullptr, 0).is_ok());
  }
  for (uint32_t id : {4u, 5u, 16u, 29u, 31u, 0xFFFFFFFFu}) {
    const Status s = dequantize_row(DType(id), buf.data(), f.data(), 32);
    CHECK(s.code() == StatusCode::kInvalidArgument);
    CHECK(s.message().find(std::to_string(id)) != std::string::npos);
    CHECK(quantize_row(DType(id), f.data(), buf.data(), 32).code() == StatusCode::kInvalidArgument);
  }
  const Status s = dequantize_row(DType::Q4_K, buf.data(), f.data(), 100);
  CHECK(s.message().find("q4_k") != std::string::npos);
}
