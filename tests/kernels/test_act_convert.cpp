// Activation converters: every SIMD converter the host runs must write exactly
// the reference bytes (activations.cpp), on random data of several shapes and
// on the inputs where rounding is delicate (exact .5 ties, tiny and huge
// scales, NaN and inf), and dispatch must pick one allowed by the cap.
#include <catch2/catch.hpp>

#include <cmath>
#include <cstdint>
#include <cstring>
#include <functional>
#include <limits>
#include <string>
#include <vector>

#include "kernels/ukernel.h"
#include "support/test_support.h"

using namespace loci;

namespace {

constexpr DType kActs[] = {DType::F16, DType::BF16, DType::Q8_0, DType::Q8_1, DType::Q8_K};
constexpr size_t kGuard = 64;  // bytes after the row that a converter must leave alone

size_t block_elems(DType act) { return dtype_info(act)->block_elems; }

// Fills one block of `bs` floats; `g` is the data's random source.
using BlockFill = std::function<void(std::mt19937_64& g, float* x, size_t bs)>;

float uniform(std::mt19937_64& g, float lo, float hi) { return std::uniform_real_distribution<float>(lo, hi)(g); }
int uniform_int(std::mt19937_64& g, int lo, int hi) { return std::uniform_int_distribution<int>(lo, hi)(g); }
float random_sign(std::mt19937_64& g) { return uniform_int(g, 0, 1) ? 1.0f : -1.0f; }

// A block whose scale is a power of two, 2^e: the largest magnitude is 127 * 2^e
// (sign random), so both Q8_0's x * (1/d) and Q8_K's x * (-127/max) are exact
// and the other elements (j + 0.5) * 2^e land exactly on .5 ties.
// Returns where the largest magnitude is.
size_t make_ties(std::mt19937_64& g, float* x, size_t bs) {
  const int e = uniform_int(g, -20, 20);
  for (size_t j = 0; j < bs; ++j) x[j] = std::ldexp(float(uniform_int(g, -127, 126)) + 0.5f, e);
  const size_t at = size_t(uniform_int(g, 0, int(bs) - 1));
  x[at] = random_sign(g) * std::ldexp(127.0f, e);
  return at;
}

void fill_ties(std::mt19937_64& g, float* x, size_t bs) { make_ties(g, x, bs); }

// Like fill_ties, but one ulp either side of each tie.
void fill_near_ties(std::mt19937_64& g, float* x, size_t bs) {
  const size_t max_at = make_ties(g, x, bs);
  const float inf = std::numeric_limits<float>::infinity();
  for (size_t j = 0; j < bs; ++j)
    if (j != max_at) x[j] = std::nextafter(x[j], uniform_int(g, 0, 1) ? inf : -inf);
}

void fill_uniform(std::mt19937_64& g, float* x, size_t bs) {
  for (size_t j = 0; j < bs; ++j) x[j] = uniform(g, -1.0f, 1.0f);
}

// Magnitudes over 2^-40 .. 2^40 within one block.
void fill_wide(std::mt19937_64& g, float* x, size_t bs) {
  for (size_t j = 0; j < bs; ++j) x[j] = random_sign(g) * std::ldexp(uniform(g, 1.0f, 2.0f), uniform_int(g, -40, 40));
}

// The largest magnitude is negative, and a later element has the same
// magnitude with the other sign (Q8_K must keep the first).
void fill_negative_max(std::mt19937_64& g, float* x, size_t bs) {
  fill_uniform(g, x, bs);
  if (bs == 1) {
    x[0] = -1.5f;
    return;
  }
  const size_t at = size_t(uniform_int(g, 0, int(bs) - 2));
  x[at] = -1.5f;
  x[size_t(uniform_int(g, int(at) + 1, int(bs) - 1))] = 1.5f;
}

void fill_zero(std::mt19937_64& g, float* x, size_t bs) {
  for (size_t j = 0; j < bs; ++j) x[j] = uniform_int(g, 0, 1) ? 0.0f : -0.0f;
}

// Subnormal floats, or tiny normal ones whose scale's reciprocal overflows.
void fill_tiny(std::mt19937_64& g, float* x, size_t bs) {
  const bool subnormal = uniform_int(g, 0, 1);
  for (size_t j = 0; j < bs; ++j) {
    const float m = uniform(g, -1.0f, 1.0f);
    x[j] = subnormal ? m * std::numeric_limits<float>::denorm_min() * float(uniform_int(g, 0, 1 << 22))
                     : m * 1e-37f;
  }
}

// Near the top of the float range, with FLT_MAX itself.
void fill_huge(std::mt19937_64& g, float* x, size_t bs) {
  for (size_t j = 0; j < bs; ++j) x[j] = uniform(g, -3e38f, 3e38f);
  x[size_t(uniform_int(g, 0, int(bs) - 1))] = random_sign(g) * std::numeric_limits<float>::max();
}

// Ordinary data with a few NaNs (any payload, either sign) and infinities.
void fill_special(std::mt19937_64& g, float* x, size_t bs) {
  fill_uniform(g, x, bs);
  for (int s = 0; s < 3; ++s) {
    const size_t at = size_t(uniform_int(g, 0, int(bs) - 1));
    const int kind = uniform_int(g, 0, 2);
    if (kind == 0) {
      x[at] = random_sign(g) * std::numeric_limits<float>::infinity();
    } else {
      const uint32_t bits = (uniform_int(g, 0, 1) ? 0xff800000u : 0x7f800000u) | uint32_t(uniform_int(g, 1, (1 << 23) - 1));
      std::memcpy(&x[at], &bits, sizeof bits);
    }
  }
}

// Every float conversion edge: halves' overflow and subnormal range, bf16 ties.
void fill_half_edges(std::mt19937_64& g, float* x, size_t bs) {
  for (size_t j = 0; j < bs; ++j) {
    const int kind = uniform_int(g, 0, 3);
    uint32_t bits = 0;
    if (kind == 0) bits = 0x477fe000u + uint32_t(uniform_int(g, 0, 0x3000));  // around 65504 .. overflow
    if (kind == 1) bits = 0x33000000u + uint32_t(uniform_int(g, 0, 0x5800000));  // half subnormals
    if (kind == 2) bits = (uint32_t(uniform_int(g, 0, 0x7f7f)) << 16) | 0x8000u;  // bf16 and f16 ties
    if (kind == 3) bits = uint32_t(uniform_int(g, 0, 0x7fffffff)) << 1;  // any bits, NaNs included
    bits |= uniform_int(g, 0, 1) ? 0x80000000u : 0u;
    std::memcpy(&x[j], &bits, sizeof bits);
  }
}

struct Distribution {
  const char* name;
  BlockFill fill;
};

const std::vector<Distribution>& distributions() {
  static const std::vector<Distribution> all = {
      {"uniform", fill_uniform},   {"wide", fill_wide},   {"ties", fill_ties},       {"near ties", fill_near_ties},
      {"negative max", fill_negative_max}, {"zero", fill_zero}, {"tiny", fill_tiny}, {"huge", fill_huge},
      {"nan and inf", fill_special}, {"half edges", fill_half_edges}};
  return all;
}

// A row of `blocks` blocks, each from `fill`, or from a random distribution when mixed.
std::vector<float> make_row(std::mt19937_64& g, size_t bs, size_t blocks, const BlockFill* fill) {
  std::vector<float> x(bs * blocks);
  const auto& dists = distributions();
  for (size_t b = 0; b < blocks; ++b) {
    const BlockFill& f = fill ? *fill : dists[size_t(uniform_int(g, 0, int(dists.size()) - 1))].fill;
    f(g, x.data() + b * bs, bs);
  }
  return x;
}

// Runs `fn` on x into a buffer prefilled with a marker byte, guard included.
std::vector<uint8_t> run(loci_act_convert_fn fn, DType act, const std::vector<float>& x) {
  const size_t row = *dtype_row_bytes(act, x.size());
  std::vector<uint8_t> out(row + kGuard, 0xA5);
  fn(x.data(), out.data(), x.size());
  return out;
}

size_t first_difference(const std::vector<uint8_t>& a, const std::vector<uint8_t>& b) {
  for (size_t i = 0; i < a.size(); ++i)
    if (a[i] != b[i]) return i;
  return a.size();
}

// The converters other than the reference that this host can run.
std::vector<const ConverterCandidate*> runnable_simd_converters() {
  size_t count = 0;
  const ConverterCandidate* all = all_converter_candidates(&count);
  std::vector<const ConverterCandidate*> out;
  for (size_t i = 0; i < count; ++i)
    if (all[i].isa != Isa::kRef && isa_supported(all[i].isa)) out.push_back(&all[i]);
  return out;
}

// Checks c against the reference on x; reports the first differing byte.
void check_same_bytes(const ConverterCandidate& c, const std::vector<float>& x) {
  const ConverterCandidate* ref = reference_converter(c.act);
  REQUIRE(ref != nullptr);
  const std::vector<uint8_t> want = run(ref->fn, c.act, x);
  const std::vector<uint8_t> got = run(c.fn, c.act, x);
  const size_t at = first_difference(want, got);
  INFO(c.name << " k=" << x.size() << ": first differing byte " << at << " of " << want.size());
  if (at < want.size()) {
    const size_t row_bytes = dtype_info(c.act)->block_bytes;
    const size_t block = at / row_bytes;
    INFO("block " << block << ", ref byte " << int(want[at]) << ", got " << int(got[at]));
    for (size_t j = 0; j < block_elems(c.act) && j < 8; ++j) INFO("x[" << j << "] = " << x[block * block_elems(c.act) + j]);
    CHECK(at == want.size());
  } else {
    SUCCEED();
  }
}

}  // namespace

TEST_CASE("every activation dtype has a reference and a selected converter", "[act_convert]") {
  for (DType act : kActs) {
    INFO(dtype_name(act));
    const ConverterCandidate* ref = reference_converter(act);
    REQUIRE(ref != nullptr);
    CHECK(ref->isa == Isa::kRef);
    const ConverterCandidate* sel = selected_converter(act);
    REQUIRE(sel != nullptr);
    CHECK(sel->act == act);
    CHECK(isa_supported(sel->isa));
  }
  CHECK(selected_converter(DType::F32) == nullptr);
}

TEST_CASE("the selected converter follows the ISA cap and is reported", "[act_convert]") {
  const Isa saved = isa_cap();
  for (Isa cap : {Isa::kRef, host_isa()}) {
    set_isa_cap(cap);
    for (DType act : kActs) {
      INFO(dtype_name(act) << " cap " << isa_name(cap));
      const ConverterCandidate* sel = selected_converter(act);
      REQUIRE(sel != nullptr);
      CHECK((sel->isa == Isa::kRef || sel->isa <= cap));
      if (cap == Isa::kRef) CHECK(sel->isa == Isa::kRef);
      // No better converter that the host runs and the cap allows was passed over.
      for (const ConverterCandidate* c : runnable_simd_converters())
        if (c->act == act && c->isa <= cap && int32_t(c->isa) / 10 == int32_t(cap) / 10) CHECK(sel->isa >= c->isa);
    }
    for (const MatmulKernelInfo& info : matmul_kernel_report()) {
      INFO(dtype_name(info.weight));
      const ConverterCandidate* sel = selected_converter(info.activation);
      if (sel) {
        REQUIRE(info.convert_name != nullptr);
        CHECK(std::string(info.convert_name) == sel->name);
      } else {
        CHECK(info.convert_name == nullptr);
      }
    }
  }
  set_isa_cap(saved);
}

TEST_CASE("SIMD converters write the reference bytes", "[act_convert]") {
  const std::vector<const ConverterCandidate*> simd = runnable_simd_converters();
  if (simd.empty()) WARN("no SIMD converter runs on this host: nothing to compare");
  std::mt19937_64 g = test::rng(0xAC7);
  for (const ConverterCandidate* c : simd) {
    const size_t bs = block_elems(c->act);
    SECTION(c->name) {
      for (const Distribution& d : distributions()) {
        INFO("distribution " << d.name);
        for (size_t blocks : {size_t(1), size_t(3), size_t(17)})
          for (int rep = 0; rep < 4; ++rep) check_same_bytes(*c, make_row(g, bs, blocks, &d.fill));
      }
      INFO("mixed distributions");
      for (int rep = 0; rep < 20; ++rep) check_same_bytes(*c, make_row(g, bs, size_t(uniform_int(g, 1, 40)), nullptr));
    }
  }
}

TEST_CASE("float converters handle every row length", "[act_convert]") {
  std::mt19937_64 g = test::rng(0xAC8);
  for (const ConverterCandidate* c : runnable_simd_converters()) {
    if (block_elems(c->act) != 1) continue;
    INFO(c->name);
    for (size_t n = 1; n <= 70; ++n) check_same_bytes(*c, make_row(g, 1, n, nullptr));
  }
}
