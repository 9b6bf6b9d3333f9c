// Reference float ops (see loci/ops.h). Plain loops in double: these are the
// ground truth, so clarity and accuracy come before speed.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <string>
#include <type_traits>

#include "loci/fp16.h"
#include "loci/ops.h"

namespace loci::ops {
namespace {

constexpr size_t kMaxSize = std::numeric_limits<size_t>::max();

std::string fail_text(const char* op, const char* what, const std::string& why) {
  return std::string(op) + ": " + what + " " + why;
}

// Checks a matrix argument of `rows` rows of `n` elements of `elem` bytes,
// `stride` bytes apart (see the conventions in ops.h).
Status check_rows(const char* op, const char* what, const void* p, size_t stride, size_t rows, size_t n,
                  size_t elem = sizeof(float), bool broadcast = false) {
  if (rows == 0 || n == 0) return Status::ok();
  if (!p) return invalid_argument(fail_text(op, what, "is null"));
  if (reinterpret_cast<uintptr_t>(p) % elem != 0) return invalid_argument(fail_text(op, what, "is misaligned"));
  if (n > kMaxSize / elem) return invalid_argument(fail_text(op, what, "row of " + std::to_string(n) + " elements overflows"));
  if (rows == 1 || (broadcast && stride == 0)) return Status::ok();
  if (stride % elem != 0 || stride < n * elem)
    return invalid_argument(fail_text(op, what, "stride of " + std::to_string(stride) + " bytes is not whole elements of a " +
                                                    std::to_string(n) + "-element row"));
  return Status::ok();
}

// An optional vector of n floats (a norm weight or bias).
Status check_vector(const char* op, const char* what, const float* p, size_t n) {
  return p ? check_rows(op, what, p, 0, 1, n) : Status::ok();
}

Status check_eps(const char* op, float eps) {
  if (!(eps >= 0.0f) || !std::isfinite(eps)) return invalid_argument(std::string(op) + ": eps must be finite and >= 0");
  return Status::ok();
}

// a * b, saturating at kMaxSize, which every row-size check then rejects.
size_t checked_mul(size_t a, size_t b) { return (b != 0 && a > kMaxSize / b) ? kMaxSize : a * b; }

template <typename T>
T* row_at(T* base, size_t stride, size_t i) {
  using Byte = std::conditional_t<std::is_const_v<T>, const uint8_t, uint8_t>;
  return reinterpret_cast<T*>(reinterpret_cast<Byte*>(base) + i * stride);
}

// y = f(x) elementwise; in place.
template <typename F>
Status unary(const char* op, const float* x, size_t x_stride, float* y, size_t y_stride, size_t rows, size_t n, F f) {
  LOCI_RETURN_IF_ERROR(check_rows(op, "x", x, x_stride, rows, n));
  LOCI_RETURN_IF_ERROR(check_rows(op, "y", y, y_stride, rows, n));
  for (size_t r = 0; r < rows; ++r) {
    const float* xr = row_at(x, x_stride, r);
    float* yr = row_at(y, y_stride, r);
    for (size_t j = 0; j < n; ++j) yr[j] = f(xr[j]);
  }
  return Status::ok();
}

// y = f(a, b) elementwise; in place; b_stride 0 broadcasts b's row if allowed.
template <typename F>
Status binary(const char* op, const float* a, size_t a_stride, const float* b, size_t b_stride, float* y,
              size_t y_stride, size_t rows, size_t n, bool broadcast_b, F f) {
  LOCI_RETURN_IF_ERROR(check_rows(op, "a", a, a_stride, rows, n));
  LOCI_RETURN_IF_ERROR(check_rows(op, "b", b, b_stride, rows, n, sizeof(float), broadcast_b));
  LOCI_RETURN_IF_ERROR(check_rows(op, "y", y, y_stride, rows, n));
  for (size_t r = 0; r < rows; ++r) {
    const float* ar = row_at(a, a_stride, r);
    const float* br = row_at(b, b_stride, r);
    float* yr = row_at(y, y_stride, r);
    for (size_t j = 0; j < n; ++j) yr[j] = f(ar[j], br[j]);
  }
  return Status::ok();
}

double sigmoid_times(double x) { return x / (1.0 + std::exp(-x)); }

// Four dot products of x with w rows j..j+3 at once: independent accumulators
// keep the FPU busy, and each sum still runs in index order.
void dot4(const float* x, const float* w0, const float* w1, const float* w2, const float* w3, size_t k, double* out) {
  double s0 = 0.0, s1 = 0.0, s2 = 0.0, s3 = 0.0;
  for (size_t p = 0; p < k; ++p) {
    const double xp = x[p];
    s0 += xp * w0[p];
    s1 += xp * w1[p];
    s2 += xp * w2[p];
    s3 += xp * w3[p];
  }
  out[0] = s0, out[1] = s1, out[2] = s2, out[3] = s3;
}

double dot(const float* x, const float* w, size_t k) {
  double s = 0.0;
  for (size_t p = 0; p < k; ++p) s += double(x[p]) * w[p];
  return s;
}

// Writes exp(z - max) for the row's scaled, masked logits into y and returns
// their sum, or 0 when every logit is -inf.
double softmax_numerators(const float* x, const float* mask, float* y, size_t n, double scale) {
  auto logit = [&](size_t j) { return double(x[j]) * scale + (mask ? double(mask[j]) : 0.0); };
  double max = -std::numeric_limits<double>::infinity();
  for (size_t j = 0; j < n; ++j) max = std::max(max, logit(j));
  if (max == -std::numeric_limits<double>::infinity()) return 0.0;
  double sum = 0.0;
  for (size_t j = 0; j < n; ++j) {
    const double e = std::exp(logit(j) - max);
    y[j] = float(e);
    sum += y[j];  // sum what is stored, so the row sums to 1 as closely as floats allow
  }
  return sum;
}

Status check_rope_params(const RopeParams& p, size_t head_dim) {
  if (p.mode != RopeMode::kNormal && p.mode != RopeMode::kNeox)
    return invalid_argument("rope: unknown mode " + std::to_string(int32_t(p.mode)));
  if (p.n_rot < 2 || p.n_rot % 2 != 0 || p.n_rot > head_dim)
    return invalid_argument("rope: n_rot " + std::to_string(p.n_rot) + " must be even and in 2.." + std::to_string(head_dim));
  if (!(p.freq_base > 0.0f) || !std::isfinite(p.freq_base)) return invalid_argument("rope: freq_base must be finite and > 0");
  if (!(p.freq_scale > 0.0f) || !std::isfinite(p.freq_scale)) return invalid_argument("rope: freq_scale must be finite and > 0");
  if (p.freq_factors) {
    for (size_t i = 0; i < p.n_rot / 2; ++i)
      if (!(p.freq_factors[i] > 0.0f) || !std::isfinite(p.freq_factors[i]))
        return invalid_argument("rope: freq_factors[" + std::to_string(i) + "] must be finite and > 0");
  }
  return Status::ok();
}

// Rotation angle of pair i at position pos (see RopeParams).
double rope_theta(const RopeParams& p, double pos, size_t i) {
  const double inv_freq = std::pow(double(p.freq_base), -2.0 * double(i) / double(p.n_rot));
  const double factor = p.freq_factors ? double(p.freq_factors[i]) : 1.0;
  return pos * double(p.freq_scale) * inv_freq / factor;
}

double load(const float* p, size_t i) { return p[i]; }
double load(const uint16_t* p, size_t i) { return fp16_to_f32(p[i]); }

size_t kv_elem_bytes(DType t) { return t == DType::F16 ? sizeof(uint16_t) : sizeof(float); }

Status check_attention(const AttentionArgs& a, size_t width) {
  const char* op = "attention";
  if (a.n_kv_head == 0 || a.n_head % a.n_kv_head != 0)
    return invalid_argument("attention: n_kv_head " + std::to_string(a.n_kv_head) + " does not divide n_head " +
                            std::to_string(a.n_head));
  if (a.kv_dtype != DType::F32 && a.kv_dtype != DType::F16)
    return unsupported(std::string("attention: kv cache dtype ") + dtype_name(a.kv_dtype) + " (want f32 or f16)");
  const size_t kv_width = checked_mul(a.n_kv_head, a.head_dim);
  LOCI_RETURN_IF_ERROR(check_rows(op, "q", a.q, a.q_stride, a.n_tokens, width));
  LOCI_RETURN_IF_ERROR(check_rows(op, "out", a.out, a.out_stride, a.n_tokens, width));
  LOCI_RETURN_IF_ERROR(check_rows(op, "k", a.k, a.k_stride, a.n_kv, kv_width, kv_elem_bytes(a.kv_dtype)));
  LOCI_RETURN_IF_ERROR(check_rows(op, "v", a.v, a.v_stride, a.n_kv, kv_width, kv_elem_bytes(a.kv_dtype)));
  if (!a.q_pos) return invalid_argument("attention: q_pos is null");
  for (size_t t = 0; t < a.n_tokens; ++t)
    if (a.q_pos[t] < 0) return out_of_range("attention: q_pos[" + std::to_string(t) + "] is negative");
  if (!std::isfinite(a.scale)) return invalid_argument("attention: scale must be finite");
  LOCI_ASSIGN_OR_RETURN(const size_t need, attention_scratch_bytes(a.n_kv, a.head_dim));
  if (a.scratch_bytes < need || !a.scratch || reinterpret_cast<uintptr_t>(a.scratch) % alignof(double) != 0)
    return invalid_argument("attention: scratch of " + std::to_string(a.scratch_bytes) + " bytes at " +
                            (a.scratch ? "a misaligned or" : "a null") + " address, need " + std::to_string(need) +
                            " bytes, 8-byte aligned");
  return Status::ok();
}

// One query head over cache slots [0, seen) of its kv head (k and v point at
// that head in slot 0). scratch: seen scores, then head_dim accumulators.
template <typename Elem>
void attend_head(const float* q, const Elem* k, size_t k_stride, const Elem* v, size_t v_stride, size_t seen,
                 size_t head_dim, double scale, double* scores, double* acc, float* out) {
  double max = -std::numeric_limits<double>::infinity();
  for (size_t j = 0; j < seen; ++j) {
    const Elem* kj = row_at(k, k_stride, j);
    double s = 0.0;
    for (size_t d = 0; d < head_dim; ++d) s += double(q[d]) * load(kj, d);
    scores[j] = s * scale;
    max = std::max(max, scores[j]);
  }
  double sum = 0.0;
  for (size_t j = 0; j < seen; ++j) {
    scores[j] = std::exp(scores[j] - max);
    sum += scores[j];
  }
  std::fill(acc, acc + head_dim, 0.0);
  for (size_t j = 0; j < seen; ++j) {
    const Elem* vj = row_at(v, v_stride, j);
    const double w = scores[j] / sum;
    for (size_t d = 0; d < head_dim; ++d) acc[d] += w * load(vj, d);
  }
  for (size_t d = 0; d < head_dim; ++d) out[d] = float(acc[d]);
}

template <typename Elem>
void attend_all(const AttentionArgs& a, double scale) {
  const size_t group = a.n_head / a.n_kv_head;
  double* acc = static_cast<double*>(a.scratch);
  double* scores = acc + a.head_dim;
  const auto* k = static_cast<const Elem*>(a.k);
  const auto* v = static_cast<const Elem*>(a.v);
  for (size_t t = 0; t < a.n_tokens; ++t) {
    const size_t seen = std::min(a.n_kv, size_t(a.q_pos[t]) + 1);
    const float* qt = row_at(a.q, a.q_stride, t);
    float* ot = row_at(a.out, a.out_stride, t);
    for (size_t h = 0; h < a.n_head; ++h) {
      float* oh = ot + h * a.head_dim;
      if (seen == 0) {
        std::fill(oh, oh + a.head_dim, 0.0f);
        continue;
      }
      const size_t kv_off = (h / group) * a.head_dim;
      attend_head(qt + h * a.head_dim, k + kv_off, a.k_stride, v + kv_off, a.v_stride, seen, a.head_dim, scale, scores,
                  acc, oh);
    }
  }
}

}  // namespace

Status matmul_f32(const float* x, size_t x_stride, const float* w, size_t w_stride, float* y, size_t y_stride,
                  size_t m, size_t n, size_t k) {
  if (m == 0 || n == 0) return Status::ok();
  LOCI_RETURN_IF_ERROR(check_rows("matmul_f32", "x", x, x_stride, m, k));
  LOCI_RETURN_IF_ERROR(check_rows("matmul_f32", "w", w, w_stride, n, k));
  LOCI_RETURN_IF_ERROR(check_rows("matmul_f32", "y", y, y_stride, m, n));
  for (size_t i = 0; i < m; ++i) {
    const float* xi = row_at(x, x_stride, i);
    float* yi = row_at(y, y_stride, i);
    size_t j = 0;
    for (; j + 4 <= n; j += 4) {
      double s[4];
      dot4(xi, row_at(w, w_stride, j), row_at(w, w_stride, j + 1), row_at(w, w_stride, j + 2),
           row_at(w, w_stride, j + 3), k, s);
      for (size_t c = 0; c < 4; ++c) yi[j + c] = float(s[c]);
    }
    for (; j < n; ++j) yi[j] = float(dot(xi, row_at(w, w_stride, j), k));
  }
  return Status::ok();
}

Status rms_norm(const float* x, size_t x_stride, float* y, size_t y_stride, size_t rows, size_t n,
                const float* weight, float eps) {
  if (rows == 0 || n == 0) return Status::ok();
  LOCI_RETURN_IF_ERROR(check_rows("rms_norm", "x", x, x_stride, rows, n));
  LOCI_RETURN_IF_ERROR(check_rows("rms_norm", "y", y, y_stride, rows, n));
  LOCI_RETURN_IF_ERROR(check_vector("rms_norm", "weight", weight, n));
  LOCI_RETURN_IF_ERROR(check_eps("rms_norm", eps));
  for (size_t r = 0; r < rows; ++r) {
    const float* xr = row_at(x, x_stride, r);
    float* yr = row_at(y, y_stride, r);
    // Rounded step by step as llama.cpp does (float squares summed in
    // double, float mean and scale, then x * scale and * weight as separate
    // float products): the next quantized matmul rounds these values, and an
    // exact tie falling the other way moves a small model's logits visibly.
    double sum_sq = 0.0;
    for (size_t j = 0; j < n; ++j) sum_sq += double(xr[j] * xr[j]);
    const float mean = float(sum_sq / double(n));
    const float scale = 1.0f / std::sqrt(mean + eps);
    for (size_t j = 0; j < n; ++j) {
      const float v = xr[j] * scale;
      yr[j] = weight ? v * weight[j] : v;
    }
  }
  return Status::ok();
}

Status layer_norm(const float* x, size_t x_stride, float* y, size_t y_stride, size_t rows, size_t n,
                  const float* weight, const float* bias, float eps) {
  if (rows == 0 || n == 0) return Status::ok();
  LOCI_RETURN_IF_ERROR(check_rows("layer_norm", "x", x, x_stride, rows, n));
  LOCI_RETURN_IF_ERROR(check_rows("layer_norm", "y", y, y_stride, rows, n));
  LOCI_RETURN_IF_ERROR(check_vector("layer_norm", "weight", weight, n));
  LOCI_RETURN_IF_ERROR(check_vector("layer_norm", "bias", bias, n));
  LOCI_RETURN_IF_ERROR(check_eps("layer_norm", eps));
  for (size_t r = 0; r < rows; ++r) {
    const float* xr = row_at(x, x_stride, r);
    float* yr = row_at(y, y_stride, r);
    double sum = 0.0;
    for (size_t j = 0; j < n; ++j) sum += xr[j];
    const double mean = sum / double(n);
    double sum_sq = 0.0;
    for (size_t j = 0; j < n; ++j) sum_sq += (xr[j] - mean) * (xr[j] - mean);
    const double scale = 1.0 / std::sqrt(sum_sq / double(n) + eps);
    for (size_t j = 0; j < n; ++j)
      yr[j] = float((xr[j] - mean) * scale * (weight ? double(weight[j]) : 1.0) + (bias ? double(bias[j]) : 0.0));
  }
  return Status::ok();
}

Status rope(const float* x, size_t x_stride, float* y, size_t y_stride, size_t n_tokens, size_t n_head,
            size_t head_dim, const int32_t* positions, const RopeParams& params) {
  const size_t width = checked_mul(n_head, head_dim);
  if (n_tokens == 0 || width == 0) return Status::ok();
  LOCI_RETURN_IF_ERROR(check_rows("rope", "x", x, x_stride, n_tokens, width));
  LOCI_RETURN_IF_ERROR(check_rows("rope", "y", y, y_stride, n_tokens, width));
  if (!positions) return invalid_argument("rope: positions is null");
  LOCI_RETURN_IF_ERROR(check_rope_params(params, head_dim));
  const size_t half = params.n_rot / 2;
  const bool neox = params.mode == RopeMode::kNeox;
  for (size_t t = 0; t < n_tokens; ++t) {
    const float* xt = row_at(x, x_stride, t);
    float* yt = row_at(y, y_stride, t);
    for (size_t i = 0; i < half; ++i) {
      const double theta = rope_theta(params, double(positions[t]), i);
      const double c = std::cos(theta), s = std::sin(theta);
      const size_t i0 = neox ? i : 2 * i;
      const size_t i1 = neox ? i + half : 2 * i + 1;
      for (size_t h = 0; h < n_head; ++h) {
        const double x0 = xt[h * head_dim + i0], x1 = xt[h * head_dim + i1];
        yt[h * head_dim + i0] = float(x0 * c - x1 * s);
        yt[h * head_dim + i1] = float(x0 * s + x1 * c);
      }
    }
    if (params.n_rot == head_dim || xt == yt) continue;
    for (size_t h = 0; h < n_head; ++h)
      std::memcpy(yt + h * head_dim + params.n_rot, xt + h * head_dim + params.n_rot,
                  (head_dim - params.n_rot) * sizeof(float));
  }
  return Status::ok();
}

Status softmax(const float* x, size_t x_stride, float* y, size_t y_stride, size_t rows, size_t n, const float* mask,
               size_t mask_stride, float scale) {
  LOCI_RETURN_IF_ERROR(check_rows("softmax", "x", x, x_stride, rows, n));
  LOCI_RETURN_IF_ERROR(check_rows("softmax", "y", y, y_stride, rows, n));
  if (mask) LOCI_RETURN_IF_ERROR(check_rows("softmax", "mask", mask, mask_stride, rows, n, sizeof(float), true));
  if (!std::isfinite(scale)) return invalid_argument("softmax: scale must be finite");
  for (size_t r = 0; r < rows; ++r) {
    float* yr = row_at(y, y_stride, r);
    const double sum = softmax_numerators(row_at(x, x_stride, r), mask ? row_at(mask, mask_stride, r) : nullptr, yr, n, scale);
    if (sum == 0.0) {
      std::fill(yr, yr + n, 0.0f);
      continue;
    }
    for (size_t j = 0; j < n; ++j) yr[j] = float(yr[j] / sum);
  }
  return Status::ok();
}

Status silu(const float* x, size_t x_stride, float* y, size_t y_stride, size_t rows, size_t n) {
  return unary("silu", x, x_stride, y, y_stride, rows, n, [](float v) { return float(sigmoid_times(v)); });
}

Status gelu(const float* x, size_t x_stride, float* y, size_t y_stride, size_t rows, size_t n) {
  return unary("gelu", x, x_stride, y, y_stride, rows, n, [](float v) {
    const double kSqrt2OverPi = 0.79788456080286535587989211986876;
    const double xd = v;
    return float(0.5 * xd * (1.0 + std::tanh(kSqrt2OverPi * xd * (1.0 + 0.044715 * xd * xd))));
  });
}

Status swiglu(const float* gate, size_t gate_stride, const float* up, size_t up_stride, float* y, size_t y_stride,
              size_t rows, size_t n) {
  return binary("swiglu", gate, gate_stride, up, up_stride, y, y_stride, rows, n, false,
                [](float g, float u) { return float(sigmoid_times(g) * u); });
}

Status add(const float* a, size_t a_stride, const float* b, size_t b_stride, float* y, size_t y_stride, size_t rows,
           size_t n) {
  return binary("add", a, a_stride, b, b_stride, y, y_stride, rows, n, true, [](float u, float v) { return u + v; });
}

Status mul(const float* a, size_t a_stride, const float* b, size_t b_stride, float* y, size_t y_stride, size_t rows,
           size_t n) {
  return binary("mul", a, a_stride, b, b_stride, y, y_stride, rows, n, true, [](float u, float v) { return u * v; });
}

Result<size_t> attention_scratch_bytes(size_t n_kv, size_t head_dim) {
  const size_t max_doubles = kMaxSize / sizeof(double);
  if (head_dim > max_doubles || n_kv > max_doubles - head_dim) return out_of_range("attention: scratch size overflows");
  return (n_kv + head_dim) * sizeof(double);
}

Status attention(const AttentionArgs& a) {
  const size_t width = checked_mul(a.n_head, a.head_dim);
  if (a.n_tokens == 0 || width == 0) return Status::ok();
  LOCI_RETURN_IF_ERROR(check_attention(a, width));
  const double scale = a.scale != 0.0f ? double(a.scale) : 1.0 / std::sqrt(double(a.head_dim));
  if (a.kv_dtype == DType::F16)
    attend_all<uint16_t>(a, scale);
  else
    attend_all<float>(a, scale);
  return Status::ok();
}

}  // namespace loci::ops
