// Reference ops against straightforward double-precision computations written
// here, on random data, plus hand-computed values and argument checks.
#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <complex>
#include <cstdint>
#include <limits>
#include <vector>

#include "loci/fp16.h"
#include "loci/ops.h"
#include "support/test_support.h"

using namespace loci;

namespace {

constexpr float kInf = std::numeric_limits<float>::infinity();

// A row-major float matrix whose rows may be padded, to exercise strides.
struct Mat {
  size_t rows = 0, cols = 0, pitch = 0;  // pitch in floats
  std::vector<float> data;

  Mat(size_t r, size_t c, size_t pad = 0) : rows(r), cols(c), pitch(c + pad), data(r * (c + pad) + 1, -7.0f) {}
  float* row(size_t i) { return data.data() + i * pitch; }
  const float* row(size_t i) const { return data.data() + i * pitch; }
  float& at(size_t i, size_t j) { return data[i * pitch + j]; }
  float at(size_t i, size_t j) const { return data[i * pitch + j]; }
  size_t stride() const { return pitch * sizeof(float); }
};

Mat random_mat(std::mt19937_64& g, size_t rows, size_t cols, size_t pad = 0, float lo = -1.0f, float hi = 1.0f) {
  Mat m(rows, cols, pad);
  std::uniform_real_distribution<float> d(lo, hi);
  for (size_t i = 0; i < rows; ++i)
    for (size_t j = 0; j < cols; ++j) m.at(i, j) = d(g);
  return m;
}

// Largest |got - want| over the matrix.
double max_error(const Mat& got, const std::vector<double>& want) {
  double e = 0.0;
  for (size_t i = 0; i < got.rows; ++i)
    for (size_t j = 0; j < got.cols; ++j) e = std::max(e, std::fabs(double(got.at(i, j)) - want[i * got.cols + j]));
  return e;
}

// Padding between rows must never be written.
bool padding_untouched(const Mat& m) {
  for (size_t i = 0; i < m.rows; ++i)
    for (size_t j = m.cols; j < m.pitch; ++j)
      if (m.at(i, j) != -7.0f) return false;
  return m.data.back() == -7.0f;
}

StatusCode code_of(const Status& s) { return s.code(); }

// The matrix's values without padding, as doubles (to compare two results).
std::vector<double> values(const Mat& m) {
  std::vector<double> v;
  for (size_t i = 0; i < m.rows; ++i)
    for (size_t j = 0; j < m.cols; ++j) v.push_back(m.at(i, j));
  return v;
}

}  // namespace

// --- matmul -------------------------------------------------------------------

TEST_CASE("matmul_f32 matches a double dot product per output", "[ops]") {
  auto g = test::rng(1);
  for (size_t m : {1, 3, 5}) {
    for (size_t n : {1, 4, 7, 9}) {
      const size_t k = 1 + g() % 70;
      const Mat x = random_mat(g, m, k, 3), w = random_mat(g, n, k, 1);
      Mat y(m, n, 2);
      REQUIRE(ops::matmul_f32(x.row(0), x.stride(), w.row(0), w.stride(), y.row(0), y.stride(), m, n, k).is_ok());
      std::vector<double> want(m * n);
      for (size_t i = 0; i < m; ++i)
        for (size_t j = 0; j < n; ++j) {
          double s = 0.0;
          for (size_t p = 0; p < k; ++p) s += double(x.at(i, p)) * double(w.at(j, p));
          want[i * n + j] = s;
        }
      CHECK(max_error(y, want) <= 1e-6);
      CHECK(padding_untouched(y));
    }
  }
}

TEST_CASE("matmul_f32 hand-computed values and empty k", "[ops]") {
  const float x[2 * 3] = {1, 2, 3, -1, 0.5f, 4};
  const float w[2 * 3] = {1, 0, -1, 2, 2, 2};
  float y[4] = {};
  REQUIRE(ops::matmul_f32(x, 12, w, 12, y, 8, 2, 2, 3).is_ok());
  CHECK(y[0] == -2.0f);  // 1 - 3
  CHECK(y[1] == 12.0f);  // 2 + 4 + 6
  CHECK(y[2] == -5.0f);  // -1 - 4
  CHECK(y[3] == 7.0f);   // -2 + 1 + 8
  // k = 0: every output is an empty sum.
  float z[2] = {5, 5};
  REQUIRE(ops::matmul_f32(nullptr, 0, nullptr, 0, z, 8, 1, 2, 0).is_ok());
  CHECK(z[0] == 0.0f);
  CHECK(z[1] == 0.0f);
}

TEST_CASE("matmul_f32 rejects bad arguments", "[ops]") {
  float x[8] = {}, w[8] = {}, y[8] = {};
  CHECK(code_of(ops::matmul_f32(nullptr, 8, w, 8, y, 8, 2, 2, 2)) == StatusCode::kInvalidArgument);
  CHECK(code_of(ops::matmul_f32(x, 4, w, 8, y, 8, 2, 2, 2)) == StatusCode::kInvalidArgument);  // rows overlap
  CHECK(code_of(ops::matmul_f32(x, 8, w, 8, y, 6, 2, 2, 2)) == StatusCode::kInvalidArgument);  // not whole floats
  CHECK(code_of(ops::matmul_f32(x, 8, w, 8, nullptr, 8, 2, 2, 2)) == StatusCode::kInvalidArgument);
  CHECK(ops::matmul_f32(nullptr, 0, nullptr, 0, nullptr, 0, 0, 3, 3).is_ok());  // no work
}

// --- norms --------------------------------------------------------------------

TEST_CASE("rms_norm matches the definition, with and without weight, in place", "[ops]") {
  auto g = test::rng(2);
  const size_t rows = 3, n = 1 + g() % 100;
  const float eps = 1e-5f;
  const Mat x = random_mat(g, rows, n, 2, -3.0f, 3.0f);
  const Mat w = random_mat(g, 1, n, 0, 0.5f, 2.0f);
  for (const float* weight : {static_cast<const float*>(nullptr), w.row(0)}) {
    Mat y(rows, n, 1);
    REQUIRE(ops::rms_norm(x.row(0), x.stride(), y.row(0), y.stride(), rows, n, weight, eps).is_ok());
    std::vector<double> want(rows * n);
    for (size_t i = 0; i < rows; ++i) {
      double ms = 0.0;
      for (size_t j = 0; j < n; ++j) ms += std::pow(double(x.at(i, j)), 2) / double(n);
      for (size_t j = 0; j < n; ++j) want[i * n + j] = x.at(i, j) / std::sqrt(ms + eps) * (weight ? weight[j] : 1.0);
    }
    CHECK(max_error(y, want) <= 1e-5);
    CHECK(padding_untouched(y));
    // In place gives the same floats.
    Mat z = x;
    REQUIRE(ops::rms_norm(z.row(0), z.stride(), z.row(0), z.stride(), rows, n, weight, eps).is_ok());
    CHECK(max_error(z, values(y)) == 0.0);
  }
}

TEST_CASE("rms_norm and layer_norm hand-computed values", "[ops]") {
  const float x[4] = {2, -2, 2, -2};
  float y[4];
  REQUIRE(ops::rms_norm(x, 16, y, 16, 1, 4, nullptr, 0.0f).is_ok());
  CHECK(y[0] == 1.0f);
  CHECK(y[1] == -1.0f);
  const float x3[3] = {1, 2, 3};  // mean 2, population variance 2/3
  const float w3[3] = {1, 1, 2}, b3[3] = {0, 5, 0};
  float y3[3];
  REQUIRE(ops::layer_norm(x3, 12, y3, 12, 1, 3, w3, b3, 0.0f).is_ok());
  CHECK(y3[0] == Approx(-1.224744871391589).epsilon(1e-6));  // -sqrt(3/2)
  CHECK(y3[1] == 5.0f);
  CHECK(y3[2] == Approx(2.449489742783178).epsilon(1e-6));
}

TEST_CASE("layer_norm matches the definition", "[ops]") {
  auto g = test::rng(3);
  const size_t rows = 4, n = 2 + g() % 90;
  const float eps = 1e-5f;
  const Mat x = random_mat(g, rows, n, 0, 1.0f, 4.0f);  // off-centre, so the mean matters
  const Mat w = random_mat(g, 1, n), b = random_mat(g, 1, n);
  Mat y(rows, n, 3);
  REQUIRE(ops::layer_norm(x.row(0), x.stride(), y.row(0), y.stride(), rows, n, w.row(0), b.row(0), eps).is_ok());
  std::vector<double> want(rows * n);
  for (size_t i = 0; i < rows; ++i) {
    double mean = 0.0, var = 0.0;
    for (size_t j = 0; j < n; ++j) mean += x.at(i, j);
    mean /= double(n);
    for (size_t j = 0; j < n; ++j) var += (x.at(i, j) - mean) * (x.at(i, j) - mean);
    var /= double(n);
    for (size_t j = 0; j < n; ++j)
      want[i * n + j] = (x.at(i, j) - mean) / std::sqrt(var + eps) * w.at(0, j) + b.at(0, j);
  }
  CHECK(max_error(y, want) <= 1e-5);
  CHECK(padding_untouched(y));
}

TEST_CASE("norms reject bad arguments", "[ops]") {
  float x[8] = {}, y[8] = {};
  CHECK(code_of(ops::rms_norm(x, 16, y, 16, 2, 4, nullptr, -1e-6f)) == StatusCode::kInvalidArgument);
  CHECK(code_of(ops::rms_norm(x, 16, y, 16, 2, 4, nullptr, std::nanf(""))) == StatusCode::kInvalidArgument);
  CHECK(code_of(ops::rms_norm(x, 8, y, 16, 2, 4, nullptr, 1e-6f)) == StatusCode::kInvalidArgument);
  CHECK(code_of(ops::layer_norm(nullptr, 16, y, 16, 2, 4, nullptr, nullptr, 1e-6f)) == StatusCode::kInvalidArgument);
  CHECK(code_of(ops::layer_norm(x, 16, y, 16, 2, 4, reinterpret_cast<const float*>(reinterpret_cast<const char*>(x) + 1),
                                nullptr, 1e-6f)) == StatusCode::kInvalidArgument);  // misaligned weight
}

// --- rope ---------------------------------------------------------------------

namespace {

// Independent RoPE: each rotated pair is a complex number multiplied by
// e^{i theta}, theta = pos * scale / (base^(2i/n_rot) * factor).
std::vector<double> rope_expected(const Mat& x, size_t n_head, size_t head_dim, const std::vector<int32_t>& pos,
                                  const ops::RopeParams& p) {
  std::vector<double> out(x.rows * x.cols);
  for (size_t t = 0; t < x.rows; ++t)
    for (size_t h = 0; h < n_head; ++h) {
      const size_t base = h * head_dim;
      for (size_t d = 0; d < head_dim; ++d) out[t * x.cols + base + d] = x.at(t, base + d);
      for (size_t i = 0; i < p.n_rot / 2; ++i) {
        const size_t a = p.mode == ops::RopeMode::kNeox ? i : 2 * i;
        const size_t b = p.mode == ops::RopeMode::kNeox ? i + p.n_rot / 2 : 2 * i + 1;
        const double factor = p.freq_factors ? p.freq_factors[i] : 1.0;
        const double theta =
            pos[t] * double(p.freq_scale) / (std::pow(double(p.freq_base), double(2 * i) / double(p.n_rot)) * factor);
        const std::complex<double> z =
            std::complex<double>(x.at(t, base + a), x.at(t, base + b)) * std::polar(1.0, theta);
        out[t * x.cols + base + a] = z.real();
        out[t * x.cols + base + b] = z.imag();
      }
    }
  return out;
}

}  // namespace

TEST_CASE("rope at position 0 is the identity and turns (1,0) to (cos, sin)", "[ops]") {
  ops::RopeParams p;
  p.n_rot = 2;
  const float x[2] = {0.25f, -3.5f};
  float y[2];
  const int32_t zero = 0, one = 1, three = 3;
  for (ops::RopeMode mode : {ops::RopeMode::kNormal, ops::RopeMode::kNeox}) {
    p.mode = mode;
    REQUIRE(ops::rope(x, 8, y, 8, 1, 1, 2, &zero, p).is_ok());
    CHECK(y[0] == x[0]);
    CHECK(y[1] == x[1]);
  }
  // Pair 0 turns by pos * freq_scale radians whatever the base.
  const float e0[2] = {1.0f, 0.0f};
  p.mode = ops::RopeMode::kNormal;
  REQUIRE(ops::rope(e0, 8, y, 8, 1, 1, 2, &one, p).is_ok());
  CHECK(y[0] == Approx(0.5403023058681398).epsilon(1e-6));  // cos 1
  CHECK(y[1] == Approx(0.8414709848078965).epsilon(1e-6));  // sin 1
  p.freq_scale = 0.5f;
  REQUIRE(ops::rope(e0, 8, y, 8, 1, 1, 2, &three, p).is_ok());
  CHECK(y[0] == Approx(0.0707372016677029).epsilon(1e-5));  // cos 1.5
  CHECK(y[1] == Approx(0.9974949866040544).epsilon(1e-6));  // sin 1.5
}

TEST_CASE("rope second pair turns by pos / base^(2/n_rot), and NeoX pairs halves", "[ops]") {
  // head_dim 4, n_rot 4, base 100: pair 1 turns by pos / 10.
  ops::RopeParams p;
  p.n_rot = 4;
  p.freq_base = 100.0f;
  const int32_t pos = 5;  // pair 0: 5 rad, pair 1: 0.5 rad
  const float x[4] = {0, 0, 1, 0};
  float y[4];
  REQUIRE(ops::rope(x, 16, y, 16, 1, 1, 4, &pos, p).is_ok());
  CHECK(y[0] == 0.0f);
  CHECK(y[1] == 0.0f);
  CHECK(y[2] == Approx(0.8775825618903728).epsilon(1e-6));  // cos 0.5
  CHECK(y[3] == Approx(0.479425538604203).epsilon(1e-6));   // sin 0.5
  // NeoX pairs x[0] with x[2]: the same input is pair 0's real part, turned by 5 rad.
  p.mode = ops::RopeMode::kNeox;
  REQUIRE(ops::rope(x, 16, y, 16, 1, 1, 4, &pos, p).is_ok());
  CHECK(y[0] == Approx(0.9589242746631385).epsilon(1e-6));  // x0 cos - x1 sin = -sin 5, for (x0, x1) = (0, 1)
  CHECK(y[1] == 0.0f);
  CHECK(y[2] == Approx(0.28366218546322625).epsilon(1e-6));  // cos 5
  CHECK(y[3] == 0.0f);
}

TEST_CASE("rope matches complex rotation for both modes, partial n_rot and freq factors", "[ops]") {
  auto g = test::rng(4);
  const size_t n_tokens = 5, n_head = 3, head_dim = 8;
  const Mat x = random_mat(g, n_tokens, n_head * head_dim, 2);
  std::vector<int32_t> pos(n_tokens);
  for (auto& v : pos) v = int32_t(g() % 5000);
  const std::vector<float> factors = {1.0f, 2.5f, 8.0f, 0.75f};
  struct Case {
    ops::RopeMode mode;
    size_t n_rot;
    float scale;
    bool factors;
  };
  for (const Case c : {Case{ops::RopeMode::kNormal, 8, 1.0f, false}, Case{ops::RopeMode::kNeox, 8, 1.0f, false},
                       Case{ops::RopeMode::kNormal, 4, 1.0f, false}, Case{ops::RopeMode::kNeox, 6, 0.25f, false},
                       Case{ops::RopeMode::kNormal, 8, 1.0f, true}, Case{ops::RopeMode::kNeox, 8, 0.5f, true}}) {
    INFO("mode " << int(c.mode) << " n_rot " << c.n_rot << " scale " << c.scale << " factors " << c.factors);
    ops::RopeParams p;
    p.mode = c.mode;
    p.n_rot = c.n_rot;
    p.freq_base = 10000.0f;
    p.freq_scale = c.scale;
    p.freq_factors = c.factors ? factors.data() : nullptr;
    Mat y(n_tokens, n_head * head_dim, 1);
    REQUIRE(ops::rope(x.row(0), x.stride(), y.row(0), y.stride(), n_tokens, n_head, head_dim, pos.data(), p).is_ok());
    CHECK(max_error(y, rope_expected(x, n_head, head_dim, pos, p)) <= 1e-6);
    CHECK(padding_untouched(y));
    // Dims past n_rot are copied bit for bit.
    for (size_t t = 0; t < n_tokens; ++t)
      for (size_t h = 0; h < n_head; ++h)
        for (size_t d = c.n_rot; d < head_dim; ++d) CHECK(y.at(t, h * head_dim + d) == x.at(t, h * head_dim + d));
    // In place gives the same floats.
    Mat z = x;
    REQUIRE(ops::rope(z.row(0), z.stride(), z.row(0), z.stride(), n_tokens, n_head, head_dim, pos.data(), p).is_ok());
    for (size_t t = 0; t < n_tokens; ++t)
      for (size_t j = 0; j < x.cols; ++j) REQUIRE(z.at(t, j) == y.at(t, j));
  }
}

TEST_CASE("rope modes and freq factors change the result", "[ops]") {
  auto g = test::rng(5);
  const Mat x = random_mat(g, 1, 8);
  const int32_t pos = 7;
  ops::RopeParams p;
  p.n_rot = 8;
  auto run = [&](const ops::RopeParams& q) {
    Mat y(1, 8);
    REQUIRE(ops::rope(x.row(0), x.stride(), y.row(0), y.stride(), 1, 1, 8, &pos, q).is_ok());
    return std::vector<float>(y.row(0), y.row(0) + 8);
  };
  const auto normal = run(p);
  p.mode = ops::RopeMode::kNeox;
  const auto neox = run(p);
  CHECK(normal != neox);
  const float ones[4] = {1, 1, 1, 1}, other[4] = {1, 1, 4, 1};
  p.freq_factors = ones;
  CHECK(run(p) == neox);  // factors of 1 change nothing
  p.freq_factors = other;
  CHECK(run(p) != neox);
}

TEST_CASE("rope rejects bad arguments", "[ops]") {
  float x[8] = {};
  const int32_t pos = 1;
  ops::RopeParams p;
  p.n_rot = 4;
  REQUIRE(ops::rope(x, 32, x, 32, 1, 2, 4, &pos, p).is_ok());
  auto code = [&](const ops::RopeParams& q) { return ops::rope(x, 32, x, 32, 1, 2, 4, &pos, q).code(); };
  CHECK(ops::rope(x, 32, x, 32, 1, 2, 4, nullptr, p).code() == StatusCode::kInvalidArgument);
  for (size_t bad_rot : {0, 3, 6}) {
    ops::RopeParams q = p;
    q.n_rot = bad_rot;
    CHECK(code(q) == StatusCode::kInvalidArgument);
  }
  ops::RopeParams q = p;
  q.mode = static_cast<ops::RopeMode>(1);
  CHECK(code(q) == StatusCode::kInvalidArgument);
  q = p;
  q.freq_base = 0.0f;
  CHECK(code(q) == StatusCode::kInvalidArgument);
  q = p;
  q.freq_scale = -1.0f;
  CHECK(code(q) == StatusCode::kInvalidArgument);
  const float zero_factor[2] = {1.0f, 0.0f};
  q = p;
  q.freq_factors = zero_factor;
  CHECK(code(q) == StatusCode::kInvalidArgument);
  CHECK(ops::rope(x, 8, x, 32, 2, 2, 4, &pos, p).code() == StatusCode::kInvalidArgument);  // x rows overlap
}

// --- softmax ------------------------------------------------------------------

TEST_CASE("softmax matches the definition with scale and a broadcast mask", "[ops]") {
  auto g = test::rng(6);
  const size_t rows = 4, n = 1 + g() % 60;
  const float scale = 0.7f;
  const Mat x = random_mat(g, rows, n, 1, -8.0f, 8.0f);
  Mat mask(1, n);
  for (size_t j = 0; j < n; ++j) mask.at(0, j) = (j % 3 == 1) ? -kInf : float(j % 5) * 0.5f;
  for (bool use_mask : {false, true}) {
    Mat y(rows, n, 2);
    REQUIRE(ops::softmax(x.row(0), x.stride(), y.row(0), y.stride(), rows, n, use_mask ? mask.row(0) : nullptr, 0, scale)
                .is_ok());
    std::vector<double> want(rows * n);
    for (size_t i = 0; i < rows; ++i) {
      double sum = 0.0;
      for (size_t j = 0; j < n; ++j) {
        want[i * n + j] = std::exp(double(x.at(i, j)) * scale + (use_mask ? double(mask.at(0, j)) : 0.0));
        sum += want[i * n + j];
      }
      for (size_t j = 0; j < n; ++j) want[i * n + j] /= sum;
    }
    CHECK(max_error(y, want) <= 1e-6);
    CHECK(padding_untouched(y));
    if (use_mask)
      for (size_t i = 0; i < rows; ++i)
        for (size_t j = 1; j < n; j += 3) CHECK(y.at(i, j) == 0.0f);
  }
}

TEST_CASE("softmax is stable for large inputs and zero for fully masked rows", "[ops]") {
  const float x[3] = {1000.0f, 1000.0f + std::log(3.0f), -1000.0f};
  float y[3];
  REQUIRE(ops::softmax(x, 12, y, 12, 1, 3, nullptr, 0, 1.0f).is_ok());
  CHECK(y[0] == Approx(0.25).epsilon(1e-4));
  CHECK(y[1] == Approx(0.75).epsilon(1e-4));
  CHECK(y[2] == 0.0f);
  // Per-row masks: row 0 sees everything, row 1 only its first element, row 2 nothing.
  const float xs[2 * 3] = {0.0f, std::log(3.0f), 0.0f, 5.0f, 6.0f, 7.0f};
  const float ms[3 * 3] = {0, 0, -kInf, 0, -kInf, -kInf, -kInf, -kInf, -kInf};
  float ys[3 * 3];
  REQUIRE(ops::softmax(xs, 12, ys, 12, 2, 3, ms, 12, 1.0f).is_ok());
  CHECK(ys[0] == Approx(0.25).epsilon(1e-6));
  CHECK(ys[1] == Approx(0.75).epsilon(1e-6));
  CHECK(ys[2] == 0.0f);
  CHECK(ys[3] == 1.0f);
  CHECK(ys[4] == 0.0f);
  const float all_masked[3] = {-kInf, -kInf, -kInf};
  REQUIRE(ops::softmax(xs, 12, ys, 12, 1, 3, all_masked, 0, 1.0f).is_ok());
  CHECK((ys[0] == 0.0f && ys[1] == 0.0f && ys[2] == 0.0f));
  // In place.
  float z[3] = {1.0f, 2.0f, 3.0f};
  float want[3];
  REQUIRE(ops::softmax(z, 12, want, 12, 1, 3, nullptr, 0, 1.0f).is_ok());
  REQUIRE(ops::softmax(z, 12, z, 12, 1, 3, nullptr, 0, 1.0f).is_ok());
  CHECK((z[0] == want[0] && z[1] == want[1] && z[2] == want[2]));
}

TEST_CASE("softmax rejects bad arguments", "[ops]") {
  float x[6] = {}, y[6] = {};
  CHECK(ops::softmax(x, 12, y, 12, 2, 3, nullptr, 0, kInf).code() == StatusCode::kInvalidArgument);
  CHECK(ops::softmax(x, 12, y, 12, 2, 3, nullptr, 0, std::nanf("")).code() == StatusCode::kInvalidArgument);
  CHECK(ops::softmax(x, 12, y, 4, 2, 3, nullptr, 0, 1.0f).code() == StatusCode::kInvalidArgument);
  CHECK(ops::softmax(x, 12, y, 12, 2, 3, x, 4, 1.0f).code() == StatusCode::kInvalidArgument);  // mask stride
}

// --- activations and elementwise ---------------------------------------------

TEST_CASE("silu, gelu and swiglu match their formulas", "[ops]") {
  auto g = test::rng(7);
  const size_t rows = 3, n = 1 + g() % 50;
  const Mat x = random_mat(g, rows, n, 1, -6.0f, 6.0f), u = random_mat(g, rows, n, 2, -2.0f, 2.0f);
  std::vector<double> want_silu(rows * n), want_gelu(rows * n), want_swiglu(rows * n);
  for (size_t i = 0; i < rows; ++i)
    for (size_t j = 0; j < n; ++j) {
      const double v = x.at(i, j);
      want_silu[i * n + j] = v / (1.0 + std::exp(-v));
      want_gelu[i * n + j] = 0.5 * v * (1.0 + std::tanh(std::sqrt(2.0 / std::acos(-1.0)) * (v + 0.044715 * v * v * v)));
      want_swiglu[i * n + j] = want_silu[i * n + j] * u.at(i, j);
    }
  Mat y(rows, n, 3);
  REQUIRE(ops::silu(x.row(0), x.stride(), y.row(0), y.stride(), rows, n).is_ok());
  CHECK(max_error(y, want_silu) <= 1e-6);
  REQUIRE(ops::gelu(x.row(0), x.stride(), y.row(0), y.stride(), rows, n).is_ok());
  CHECK(max_error(y, want_gelu) <= 1e-6);
  REQUIRE(ops::swiglu(x.row(0), x.stride(), u.row(0), u.stride(), y.row(0), y.stride(), rows, n).is_ok());
  CHECK(max_error(y, want_swiglu) <= 1e-6);
  CHECK(padding_untouched(y));
}

TEST_CASE("activations: hand-computed values and extremes", "[ops]") {
  const float x[5] = {0.0f, 1.0f, -2.0f, -1000.0f, 1000.0f};
  float s[5], ge[5];
  REQUIRE(ops::silu(x, 20, s, 20, 1, 5).is_ok());
  REQUIRE(ops::gelu(x, 20, ge, 20, 1, 5).is_ok());
  CHECK(s[0] == 0.0f);
  CHECK(s[1] == Approx(0.7310585786300049).epsilon(1e-6));  // 1 / (1 + e^-1)
  CHECK(s[3] == 0.0f);
  CHECK(s[4] == 1000.0f);
  CHECK(ge[0] == 0.0f);
  CHECK(ge[1] == Approx(0.8411919906082768).epsilon(1e-6));  // tanh-approximate GELU(1)
  CHECK(ge[2] == Approx(-0.04540230591222494).epsilon(1e-5));
  CHECK(ge[3] == 0.0f);
  CHECK(ge[4] == 1000.0f);
  const float gate[2] = {2.0f, 0.0f}, up[2] = {3.0f, 9.0f};
  float y[2];
  REQUIRE(ops::swiglu(gate, 8, up, 8, y, 8, 1, 2).is_ok());
  CHECK(y[0] == Approx(3.0 * 1.7615941559557646).epsilon(1e-6));  // silu(2) * 3
  CHECK(y[1] == 0.0f);
}

TEST_CASE("add and mul are exact float ops and broadcast a stride-0 row", "[ops]") {
  auto g = test::rng(8);
  const size_t rows = 4, n = 1 + g() % 40;
  const Mat a = random_mat(g, rows, n, 1), full_b = random_mat(g, rows, n, 2), bias = random_mat(g, 1, n);
  Mat y(rows, n, 1);
  REQUIRE(ops::add(a.row(0), a.stride(), full_b.row(0), full_b.stride(), y.row(0), y.stride(), rows, n).is_ok());
  for (size_t i = 0; i < rows; ++i)
    for (size_t j = 0; j < n; ++j) REQUIRE(y.at(i, j) == a.at(i, j) + full_b.at(i, j));
  REQUIRE(ops::mul(a.row(0), a.stride(), bias.row(0), 0, y.row(0), y.stride(), rows, n).is_ok());
  for (size_t i = 0; i < rows; ++i)
    for (size_t j = 0; j < n; ++j) REQUIRE(y.at(i, j) == a.at(i, j) * bias.at(0, j));
  Mat z = a;  // in place, broadcast
  REQUIRE(ops::add(z.row(0), z.stride(), bias.row(0), 0, z.row(0), z.stride(), rows, n).is_ok());
  for (size_t i = 0; i < rows; ++i)
    for (size_t j = 0; j < n; ++j) REQUIRE(z.at(i, j) == a.at(i, j) + bias.at(0, j));
  CHECK(padding_untouched(y));
  CHECK(padding_untouched(z));
}

TEST_CASE("elementwise ops reject bad arguments", "[ops]") {
  float a[8] = {}, b[8] = {}, y[8] = {};
  CHECK(ops::add(a, 0, b, 16, y, 16, 2, 4).code() == StatusCode::kInvalidArgument);  // only b may broadcast
  CHECK(ops::swiglu(a, 16, b, 0, y, 16, 2, 4).code() == StatusCode::kInvalidArgument);
  CHECK(ops::mul(a, 16, nullptr, 0, y, 16, 2, 4).code() == StatusCode::kInvalidArgument);
  CHECK(ops::silu(a, 16, y, 12, 2, 4).code() == StatusCode::kInvalidArgument);
  CHECK(ops::gelu(a, 16, nullptr, 16, 2, 4).code() == StatusCode::kInvalidArgument);
  CHECK(ops::silu(nullptr, 0, nullptr, 0, 0, 4).is_ok());
}

// --- attention ----------------------------------------------------------------

namespace {

struct AttnCase {
  size_t n_tokens, n_kv, n_head, n_kv_head, head_dim;
};

// Straightforward attention in double: for every query head, softmax over the
// slots it may see, then the weighted sum of values.
std::vector<double> attention_expected(const AttnCase& c, const Mat& q, const std::vector<int32_t>& pos,
                                       const std::vector<double>& k, const std::vector<double>& v, double scale) {
  std::vector<double> out(c.n_tokens * c.n_head * c.head_dim, 0.0);
  const size_t group = c.n_head / c.n_kv_head;
  for (size_t t = 0; t < c.n_tokens; ++t)
    for (size_t h = 0; h < c.n_head; ++h) {
      const size_t kvh = h / group;
      std::vector<double> w;
      for (size_t j = 0; j < c.n_kv && j <= size_t(pos[t]); ++j) {
        double s = 0.0;
        for (size_t d = 0; d < c.head_dim; ++d)
          s += double(q.at(t, h * c.head_dim + d)) * k[(j * c.n_kv_head + kvh) * c.head_dim + d];
        w.push_back(std::exp(s * scale));
      }
      double sum = 0.0;
      for (double e : w) sum += e;
      for (size_t j = 0; j < w.size(); ++j)
        for (size_t d = 0; d < c.head_dim; ++d)
          out[(t * c.n_head + h) * c.head_dim + d] += w[j] / sum * v[(j * c.n_kv_head + kvh) * c.head_dim + d];
    }
  return out;
}

struct Scratch {
  std::vector<double> buf;
  explicit Scratch(size_t bytes) : buf(bytes / sizeof(double) + 1) {}
};

ops::AttentionArgs attention_args(const AttnCase& c, const Mat& q, const std::vector<int32_t>& pos, Mat& out) {
  ops::AttentionArgs a;
  a.q = q.row(0);
  a.q_stride = q.stride();
  a.q_pos = pos.data();
  a.out = out.row(0);
  a.out_stride = out.stride();
  a.n_tokens = c.n_tokens;
  a.n_kv = c.n_kv;
  a.n_head = c.n_head;
  a.n_kv_head = c.n_kv_head;
  a.head_dim = c.head_dim;
  return a;
}

}  // namespace

TEST_CASE("attention matches a direct computation, f32 and f16 caches, with GQA", "[ops]") {
  auto g = test::rng(9);
  for (const AttnCase c : {AttnCase{1, 1, 2, 2, 4}, AttnCase{3, 7, 4, 2, 8}, AttnCase{4, 9, 6, 1, 5},
                           AttnCase{2, 5, 4, 4, 16}}) {
    INFO("tokens " << c.n_tokens << " kv " << c.n_kv << " heads " << c.n_head << "/" << c.n_kv_head << " dim "
                   << c.head_dim);
    const size_t width = c.n_head * c.head_dim, kv_width = c.n_kv_head * c.head_dim;
    const Mat q = random_mat(g, c.n_tokens, width, 3, -2.0f, 2.0f);
    const Mat k = random_mat(g, c.n_kv, kv_width, 1, -2.0f, 2.0f), v = random_mat(g, c.n_kv, kv_width, 2);
    // The last tokens of the cache are the new ones; the first query also
    // gets an earlier position so it sees a strict prefix.
    std::vector<int32_t> pos(c.n_tokens);
    for (size_t t = 0; t < c.n_tokens; ++t) pos[t] = int32_t(c.n_kv - c.n_tokens + t);
    pos[0] = int32_t(g() % c.n_kv);
    std::vector<double> kd, vd;
    std::vector<uint16_t> kh, vh;
    for (size_t j = 0; j < c.n_kv; ++j)
      for (size_t e = 0; e < kv_width; ++e) {
        kd.push_back(k.at(j, e));
        vd.push_back(v.at(j, e));
        kh.push_back(f32_to_fp16(k.at(j, e)));
        vh.push_back(f32_to_fp16(v.at(j, e)));
      }
    auto scratch_bytes = ops::attention_scratch_bytes(c.n_kv, c.head_dim);
    REQUIRE(scratch_bytes.is_ok());
    Scratch scratch(*scratch_bytes);
    const double scale = 1.0 / std::sqrt(double(c.head_dim));

    Mat out(c.n_tokens, width, 2);
    ops::AttentionArgs a = attention_args(c, q, pos, out);
    a.k = k.row(0);
    a.k_stride = k.stride();
    a.v = v.row(0);
    a.v_stride = v.stride();
    a.scratch = scratch.buf.data();
    a.scratch_bytes = *scratch_bytes;
    REQUIRE(ops::attention(a).is_ok());
    CHECK(max_error(out, attention_expected(c, q, pos, kd, vd, scale)) <= 1e-6);
    CHECK(padding_untouched(out));

    // An explicit scale of 1/sqrt(head_dim) is the default.
    Mat out2(c.n_tokens, width, 2);
    a.out = out2.row(0);
    a.scale = float(scale);
    REQUIRE(ops::attention(a).is_ok());
    CHECK(max_error(out2, std::vector<double>(attention_expected(c, q, pos, kd, vd, double(float(scale))))) <= 1e-6);

    // f16 cache: the same computation on the rounded values.
    for (auto& e : kd) e = fp16_to_f32(f32_to_fp16(float(e)));
    for (auto& e : vd) e = fp16_to_f32(f32_to_fp16(float(e)));
    Mat out3(c.n_tokens, width, 2);
    a.out = out3.row(0);
    a.scale = 0.0f;
    a.kv_dtype = DType::F16;
    a.k = kh.data();
    a.k_stride = kv_width * 2;
    a.v = vh.data();
    a.v_stride = kv_width * 2;
    REQUIRE(ops::attention(a).is_ok());
    CHECK(max_error(out3, attention_expected(c, q, pos, kd, vd, scale)) <= 1e-6);
  }
}

TEST_CASE("attention maps query heads to kv heads in groups", "[ops]") {
  // Every value of kv head g is g + 1, so a query head's output names the kv
  // head it read, whatever the attention weights.
  auto g = test::rng(10);
  const AttnCase c{2, 3, 6, 3, 4};
  const Mat q = random_mat(g, c.n_tokens, c.n_head * c.head_dim), k = random_mat(g, c.n_kv, c.n_kv_head * c.head_dim);
  Mat v(c.n_kv, c.n_kv_head * c.head_dim);
  for (size_t j = 0; j < c.n_kv; ++j)
    for (size_t e = 0; e < c.n_kv_head * c.head_dim; ++e) v.at(j, e) = float(e / c.head_dim + 1);
  const std::vector<int32_t> pos = {1, 2};
  Mat out(c.n_tokens, c.n_head * c.head_dim);
  ops::AttentionArgs a = attention_args(c, q, pos, out);
  a.k = k.row(0), a.k_stride = k.stride(), a.v = v.row(0), a.v_stride = v.stride();
  Scratch scratch(*ops::attention_scratch_bytes(c.n_kv, c.head_dim));
  a.scratch = scratch.buf.data(), a.scratch_bytes = scratch.buf.size() * sizeof(double);
  REQUIRE(ops::attention(a).is_ok());
  const float want_kv[6] = {1, 1, 2, 2, 3, 3};  // 6 query heads over 3 kv heads
  for (size_t t = 0; t < c.n_tokens; ++t)
    for (size_t h = 0; h < c.n_head; ++h)
      for (size_t d = 0; d < c.head_dim; ++d) CHECK(out.at(t, h * c.head_dim + d) == Approx(want_kv[h]).epsilon(1e-6));
}

TEST_CASE("attention is causal by position and averages equal scores", "[ops]") {
  // One-hot values: output element d is the weight given to slot d.
  const AttnCase c{3, 4, 1, 1, 4};
  Mat q(c.n_tokens, 4), k(c.n_kv, 4), v(c.n_kv, 4);
  std::fill(q.data.begin(), q.data.end(), 0.0f);  // zero queries: every visible slot scores the same
  for (size_t j = 0; j < c.n_kv; ++j)
    for (size_t d = 0; d < 4; ++d) {
      k.at(j, d) = float(j + d);
      v.at(j, d) = j == d ? 1.0f : 0.0f;
    }
  const std::vector<int32_t> pos = {0, 2, 9};  // 9 sees the whole cache
  Mat out(c.n_tokens, 4);
  ops::AttentionArgs a = attention_args(c, q, pos, out);
  a.k = k.row(0), a.k_stride = k.stride(), a.v = v.row(0), a.v_stride = v.stride();
  Scratch scratch(*ops::attention_scratch_bytes(c.n_kv, c.head_dim));
  a.scratch = scratch.buf.data(), a.scratch_bytes = scratch.buf.size() * sizeof(double);
  REQUIRE(ops::attention(a).is_ok());
  const float want[3][4] = {{1, 0, 0, 0}, {1.0f / 3, 1.0f / 3, 1.0f / 3, 0}, {0.25f, 0.25f, 0.25f, 0.25f}};
  for (size_t t = 0; t < 3; ++t)
    for (size_t d = 0; d < 4; ++d) {
      INFO("token " << t << " slot " << d);
      if (want[t][d] == 0.0f)
        CHECK(out.at(t, d) == 0.0f);
      else
        CHECK(out.at(t, d) == Approx(want[t][d]).epsilon(1e-6));
    }
  // An empty cache gives zeros.
  a.n_kv = 0;
  a.k = a.v = nullptr;
  REQUIRE(ops::attention(a).is_ok());
  for (size_t j = 0; j < 4; ++j) CHECK(out.at(0, j) == 0.0f);
}

TEST_CASE("attention rejects bad arguments", "[ops]") {
  const AttnCase c{1, 2, 4, 2, 2};
  Mat q(1, 8), k(2, 4), v(2, 4), out(1, 8);
  std::vector<int32_t> pos = {1};
  Scratch scratch(*ops::attention_scratch_bytes(c.n_kv, c.head_dim));
  ops::AttentionArgs good = attention_args(c, q, pos, out);
  good.k = k.row(0), good.k_stride = k.stride(), good.v = v.row(0), good.v_stride = v.stride();
  good.scratch = scratch.buf.data(), good.scratch_bytes = *ops::attention_scratch_bytes(c.n_kv, c.head_dim);
  REQUIRE(ops::attention(good).is_ok());
  ops::AttentionArgs a = good;
  a.n_kv_head = 3;
  CHECK(ops::attention(a).code() == StatusCode::kInvalidArgument);
  a = good;
  a.n_kv_head = 0;
  CHECK(ops::attention(a).code() == StatusCode::kInvalidArgument);
  a = good;
  a.kv_dtype = DType::Q8_0;
  CHECK(ops::attention(a).code() == StatusCode::kUnsupported);
  a = good;
  a.scratch_bytes -= 1;
  CHECK(ops::attention(a).code() == StatusCode::kInvalidArgument);
  a = good;
  a.scratch = nullptr;
  CHECK(ops::attention(a).code() == StatusCode::kInvalidArgument);
  a = good;
  a.k_stride = 8;  // rows of 4 floats would overlap
  CHECK(ops::attention(a).code() == StatusCode::kInvalidArgument);
  a = good;
  a.v = nullptr;
  CHECK(ops::attention(a).code() == StatusCode::kInvalidArgument);
  a = good;
  a.q_pos = nullptr;
  CHECK(ops::attention(a).code() == StatusCode::kInvalidArgument);
  a = good;
  a.scale = kInf;
  CHECK(ops::attention(a).code() == StatusCode::kInvalidArgument);
  pos[0] = -1;
  CHECK(ops::attention(good).code() == StatusCode::kOutOfRange);
  CHECK(ops::attention_scratch_bytes(std::numeric_limits<size_t>::max() / 4, 1).status().code() ==
        StatusCode::kOutOfRange);
}
