// The runtime's attention against the double-precision reference op.
#include <catch2/catch.hpp>

#include <cmath>
#include <cstring>
#include <vector>

#include "loci/fp16.h"
#include "loci/ops.h"
#include "runtime/graph/attention.h"
#include "support/test_support.h"

namespace {

struct Case {
  size_t n_tokens, n_kv, n_head, n_kv_head, head_dim;
};

// Largest |a - b| relative to the largest |b|.
double rel_error(const std::vector<float>& a, const std::vector<float>& b) {
  double e = 0, m = 0;
  for (size_t i = 0; i < a.size(); ++i) {
    e = std::max(e, std::fabs(double(a[i]) - b[i]));
    m = std::max(m, std::fabs(double(b[i])));
  }
  return m > 0 ? e / m : e;
}

// Padded: the kernels may read up to kKernelPadding bytes past the last row.
size_t v_bytes_transposed(const Case& c, size_t elem) {
  return c.n_kv_head * c.head_dim * c.n_kv * elem + loci::kKernelPadding;
}

void check(const Case& c, loci::DType kv, std::mt19937_64& g) {
  const size_t q_width = c.n_head * c.head_dim, kv_width = c.n_kv_head * c.head_dim;
  const auto q = loci::test::random_floats(g, c.n_tokens * q_width, -2, 2);
  const auto kf = loci::test::random_floats(g, c.n_kv * kv_width, -2, 2);
  const auto vf = loci::test::random_floats(g, c.n_kv * kv_width, -2, 2);
  std::vector<uint16_t> kh(kf.size()), vh(vf.size());
  for (size_t i = 0; i < kf.size(); ++i) kh[i] = loci::f32_to_fp16(kf[i]), vh[i] = loci::f32_to_fp16(vf[i]);
  const bool f16 = kv == loci::DType::F16;
  const size_t elem = f16 ? 2 : 4;
  const auto* k = f16 ? static_cast<const void*>(kh.data()) : kf.data();
  const auto* v = f16 ? static_cast<const void*>(vh.data()) : vf.data();
  // The new tokens are the last n_tokens cache slots.
  std::vector<int32_t> pos(c.n_tokens);
  for (size_t t = 0; t < c.n_tokens; ++t) pos[t] = int32_t(c.n_kv - c.n_tokens + t);

  std::vector<float> want(c.n_tokens * q_width), got(want.size(), NAN);
  loci::ops::AttentionArgs a;
  a.q = q.data(), a.q_stride = q_width * 4, a.q_pos = pos.data();
  a.k = k, a.k_stride = kv_width * elem, a.v = v, a.v_stride = kv_width * elem, a.kv_dtype = kv;
  a.out = want.data(), a.out_stride = q_width * 4;
  a.n_tokens = c.n_tokens, a.n_kv = c.n_kv, a.n_head = c.n_head, a.n_kv_head = c.n_kv_head, a.head_dim = c.head_dim;
  std::vector<double> scratch(c.n_kv + c.head_dim);
  a.scratch = scratch.data(), a.scratch_bytes = scratch.size() * sizeof(double);
  REQUIRE(loci::ops::attention(a).is_ok());

  // The runtime keeps V transposed: kv_width rows of n_kv positions.
  std::vector<uint8_t> vt(v_bytes_transposed(c, elem));
  for (size_t j = 0; j < c.n_kv; ++j)
    for (size_t r = 0; r < kv_width; ++r)
      std::memcpy(vt.data() + (r * c.n_kv + j) * elem, static_cast<const uint8_t*>(v) + (j * kv_width + r) * elem, elem);
  const size_t group = c.n_head / c.n_kv_head;
  auto scratch_bytes = loci::detail::attention_scratch_bytes(c.n_kv, c.head_dim, kv);
  REQUIRE(scratch_bytes.is_ok());
  std::vector<uint64_t> fscratch((*scratch_bytes + 7) / 8 + 8);
  void* aligned = reinterpret_cast<void*>((reinterpret_cast<uintptr_t>(fscratch.data()) + 63) / 64 * 64);
  for (size_t h = 0; h < c.n_kv_head; ++h) {
    loci::detail::KvHeadAttention r;
    r.q = q.data() + h * group * c.head_dim, r.q_stride = q_width * 4, r.q_pos = pos.data();
    r.k = static_cast<const uint8_t*>(k) + h * c.head_dim * elem;
    r.k_stride = kv_width * elem;
    r.vt = vt.data() + h * c.head_dim * c.n_kv * elem;
    r.vt_stride = c.n_kv * elem, r.kv_dtype = kv;
    r.out = got.data() + h * group * c.head_dim, r.out_stride = q_width * 4;
    r.n_tokens = c.n_tokens, r.n_kv = c.n_kv, r.group = group, r.head_dim = c.head_dim;
    r.scratch = aligned;
    r.scratch_bytes = *scratch_bytes;
    loci::detail::attend_kv_head(r);
  }
  // F32: float sums against double ones. F16: q and the softmax weights are
  // rounded to F16 first (as llama.cpp does), about 2^-11 relative each.
  INFO("n_tokens " << c.n_tokens << " n_kv " << c.n_kv << " heads " << c.n_head << "/" << c.n_kv_head << " dim "
                   << c.head_dim << " kv " << loci::dtype_name(kv));
  CHECK(rel_error(got, want) < (f16 ? 3e-3 : 2e-5));
}

}  // namespace

TEST_CASE("runtime attention matches ops::attention", "[attention]") {
  auto g = loci::test::rng(71);
  for (loci::DType kv : {loci::DType::F32, loci::DType::F16})
    for (const Case& c : {Case{1, 1, 1, 1, 4}, Case{5, 5, 16, 16, 4}, Case{1, 37, 8, 4, 8}, Case{7, 40, 4, 2, 64},
                          Case{3, 130, 8, 1, 128}, Case{16, 16, 6, 3, 17}})
      check(c, kv, g);
}
