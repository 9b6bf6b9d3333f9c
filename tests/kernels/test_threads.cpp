// loci::matmul through the public API: bit-identical results for any thread
// count, agreement with a single direct kernel call, and argument checks.
#include <catch2/catch.hpp>

#include <cstring>
#include <limits>
#include <memory>
#include <vector>

#include "kernels/kernel_test_data.h"
#include "kernels/ukernel.h"
#include "loci/threadpool.h"
#include "support/test_support.h"

using namespace loci;

namespace {

// A k of a few blocks of the product (any k works for the float types).
size_t few_blocks_k(DType weight) {
  const size_t kb = test::k_block(weight);
  return kb == 1 ? 72 : kb == kQK ? 96 : 2 * kb;
}

// n weight rows of k elements in a loci::Tensor, random as the parity test's.
Tensor random_weights(DType weight, size_t n, size_t k, std::mt19937_64& g) {
  Result<Tensor> t = Tensor::create(weight, {int64_t(k), int64_t(n)});
  REQUIRE(t.is_ok());
  test::fill_random_weights(weight, n, k, static_cast<uint8_t*>(t->data()), t->view().nb[1], g);
  return std::move(t).value();
}

// Everything one matmul call needs, owned.
struct Call {
  Tensor w;
  size_t m, n, k;
  std::vector<float> x;
  std::vector<uint8_t> workspace;

  MatmulArgs args(float* y) {
    MatmulArgs a;
    a.w = w.view();
    a.x = x.data();
    a.x_stride = k * sizeof(float);
    a.m = m;
    a.y = y;
    a.y_stride = n * sizeof(float);
    a.workspace = workspace.data();
    a.workspace_bytes = workspace.size();
    return a;
  }

  std::vector<float> run(ThreadPool* pool) {
    std::vector<float> y(m * n, -1.0f);
    const Status st = matmul(args(y.data()), pool);
    INFO(st.to_string());
    REQUIRE(st.is_ok());
    return y;
  }
};

Call make_call(DType weight, size_t m, size_t n, size_t k, std::mt19937_64& g) {
  Call c{random_weights(weight, n, k, g), m, n, k, test::random_activation_floats(m * k, g), {}};
  const Result<size_t> need = matmul_workspace_bytes(weight, m, k);
  REQUIRE(need.is_ok());
  c.workspace.resize(*need);
  return c;
}

// The products the selected kernel computes in one call over the whole matrix,
// on activations converted as the driver converts them.
std::vector<float> one_kernel_call(const Call& c) {
  const DType act = matmul_activation_dtype(c.w.view().dtype);
  const size_t a_row = test::row_bytes(act, c.k);
  std::vector<uint8_t> a(c.m * a_row + kKernelPadding);
  for (size_t i = 0; i < c.m; ++i) test::convert_activation_row(act, &c.x[i * c.k], a.data() + i * a_row, c.k);
  const UkernelCandidate* uk = selected_ukernel(c.w.view().dtype);
  REQUIRE(uk != nullptr);
  std::vector<float> y(c.m * c.n);
  (c.m < kGemmMinRows ? uk->gemv : uk->gemm)(c.m, c.n, c.k, a.data(), a_row, c.w.data(), c.w.view().nb[1], y.data(),
                                             c.n * sizeof(float));
  return y;
}

bool same_bits(const std::vector<float>& a, const std::vector<float>& b) {
  return a.size() == b.size() && std::memcmp(a.data(), b.data(), a.size() * sizeof(float)) == 0;
}

class CapGuard {
 public:
  CapGuard() : saved_(isa_cap()) {}
  ~CapGuard() { set_isa_cap(saved_); }
  CapGuard(const CapGuard&) = delete;
  CapGuard& operator=(const CapGuard&) = delete;

 private:
  Isa saved_;
};

}  // namespace

TEST_CASE("matmul is bit-identical for any thread count", "[matmul][threads]") {
  std::vector<std::unique_ptr<ThreadPool>> pools;
  for (size_t t = 1; t <= 4; ++t) {
    Result<std::unique_ptr<ThreadPool>> p = ThreadPool::create(t);
    REQUIRE(p.is_ok());
    REQUIRE((*p)->threads() == t);
    pools.push_back(std::move(p).value());
  }
  std::mt19937_64 g = test::rng(0x7e4d);
  for (DType weight : test::kMatmulWeights) {
    for (size_t m : {1, 5, 70}) {
      INFO(dtype_name(weight) << " m=" << m);
      Call c = make_call(weight, m, 200, few_blocks_k(weight), g);
      const std::vector<float> inline_y = c.run(nullptr);
      for (const auto& pool : pools) {
        INFO(pool->threads() << " threads");
        CHECK(same_bits(c.run(pool.get()), inline_y));
      }
    }
  }
}

TEST_CASE("matmul equals one kernel call over the whole matrix", "[matmul]") {
  // Each output depends only on its rows, so the driver's tiling must not
  // change a bit; checked with the host's kernels and with ref kernels.
  CapGuard guard;
  std::mt19937_64 g = test::rng(0x0e1c);
  for (Isa cap : {host_isa(), Isa::kRef}) {
    set_isa_cap(cap);
    for (DType weight : test::kMatmulWeights) {
      for (size_t m : {3, 70}) {
        INFO(dtype_name(weight) << " m=" << m << " cap " << isa_name(cap));
        Call c = make_call(weight, m, 70, test::k_block(weight) == 1 ? 40 : test::k_block(weight), g);
        CHECK(same_bits(c.run(nullptr), one_kernel_call(c)));
      }
    }
  }
}

TEST_CASE("matmul rejects bad arguments and leaves y untouched", "[matmul]") {
  std::mt19937_64 g = test::rng(0xba0d);
  const size_t m = 3, n = 8, k = 64;
  Call c = make_call(DType::Q4_0, m, n, k, g);
  std::vector<float> y(m * n);
  const std::vector<float> sentinel(m * n, 12345.0f);

  auto expect = [&](const MatmulArgs& a, StatusCode code) {
    y = sentinel;
    const Status st = matmul(a, nullptr);
    INFO(st.to_string());
    CHECK(st.code() == code);
    CHECK(same_bits(y, sentinel));
  };

  const MatmulArgs good = c.args(y.data());
  {
    y = sentinel;
    REQUIRE(matmul(good, nullptr).is_ok());
  }
  MatmulArgs a = good;
  SECTION("k not a whole number of blocks") {
    a.w.ne[0] = 33;
    expect(a, StatusCode::kInvalidArgument);
    a.w.ne[0] = 48;
    expect(a, StatusCode::kInvalidArgument);
  }
  SECTION("k not a whole number of K-quant super-blocks") {
    a.w.dtype = DType::Q4_K;
    a.w.ne[0] = 32;
    expect(a, StatusCode::kInvalidArgument);
  }
  SECTION("empty or non-2-D weight") {
    a.w.ne[0] = 0;
    expect(a, StatusCode::kInvalidArgument);
    a = good;
    a.w.ne[1] = -1;
    expect(a, StatusCode::kInvalidArgument);
    a = good;
    a.w.ne[2] = 2;
    expect(a, StatusCode::kInvalidArgument);
  }
  SECTION("workspace too small or missing") {
    a.workspace_bytes = good.workspace_bytes - 1;
    expect(a, StatusCode::kInvalidArgument);
    a = good;
    a.workspace = nullptr;
    expect(a, StatusCode::kInvalidArgument);
    a.workspace_bytes = 0;
    expect(a, StatusCode::kInvalidArgument);
  }
  SECTION("null pointers") {
    a.x = nullptr;
    expect(a, StatusCode::kInvalidArgument);
    a = good;
    a.w.data = nullptr;
    expect(a, StatusCode::kInvalidArgument);
    a = good;
    a.y = nullptr;
    y = sentinel;
    CHECK(matmul(a, nullptr).code() == StatusCode::kInvalidArgument);
  }
  SECTION("strides smaller than a row") {
    a.x_stride = k * sizeof(float) - sizeof(float);
    expect(a, StatusCode::kInvalidArgument);
    a = good;
    a.y_stride = n * sizeof(float) - sizeof(float);
    expect(a, StatusCode::kInvalidArgument);
    a = good;
    a.w.nb[1] = test::row_bytes(DType::Q4_0, k) - 2;
    expect(a, StatusCode::kInvalidArgument);
  }
  SECTION("weight dtypes without a product") {
    a.w.dtype = DType::Q8_K;
    a.w.ne[0] = 256;
    expect(a, StatusCode::kUnsupported);
    a = good;
    a.w.dtype = DType::Q8_1;
    expect(a, StatusCode::kUnsupported);
  }
  SECTION("nothing to do is fine and writes nothing") {
    a.m = 0;
    expect(a, StatusCode::kOk);
  }
}

TEST_CASE("matmul_workspace_bytes checks k and overflow", "[matmul]") {
  const Result<size_t> f32 = matmul_workspace_bytes(DType::F32, 4, 10);
  REQUIRE(f32.is_ok());
  CHECK(*f32 == 0);
  const Result<size_t> q = matmul_workspace_bytes(DType::Q4_0, 3, 64);
  REQUIRE(q.is_ok());
  CHECK(*q >= 3 * 2 * sizeof(BlockQ8_0));
  CHECK(matmul_workspace_bytes(DType::Q4_0, 3, 33).status().code() == StatusCode::kInvalidArgument);
  CHECK(matmul_workspace_bytes(DType::Q4_K, 3, 32).status().code() == StatusCode::kInvalidArgument);
  CHECK(matmul_workspace_bytes(DType::Q8_0, std::numeric_limits<size_t>::max() / 8, 4096).status().code() ==
        StatusCode::kOutOfRange);
}
