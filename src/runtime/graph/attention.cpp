#include "runtime/graph/attention.h"

#include <algorithm>
#include <cassert>
#include <cmath>

#include "loci/matmul.h"
#include "loci/tensor.h"

namespace loci::detail {
namespace {

// Query rows per pass: bounds the scores buffer at kChunk x n_ctx floats.
constexpr size_t kChunk = 32;

size_t round_up(size_t x) { return (x + kKernelPadding - 1) / kKernelPadding * kKernelPadding; }

// Scaled, causally masked scores -> softmax weights in place; the sum in
// double as llama.cpp does. Slots from `seen` to `width` get weight 0.
void softmax_row(float* s, size_t seen, size_t width, float scale) {
  float max = -INFINITY;
  for (size_t j = 0; j < seen; ++j) max = std::max(max, s[j] * scale);
  double sum = 0.0;
  for (size_t j = 0; j < seen; ++j) {
    s[j] = std::exp(s[j] * scale - max);
    sum += s[j];
  }
  const float inv = float(1.0 / sum);
  for (size_t j = 0; j < seen; ++j) s[j] *= inv;
  std::fill(s + seen, s + width, 0.0f);
}

TensorView cache_matrix(const void* data, DType dt, size_t row_elems, size_t rows, size_t stride) {
  TensorView v;
  v.data = const_cast<void*>(data);
  v.dtype = dt;
  v.ndim = 2;
  v.ne[0] = int64_t(row_elems);
  v.ne[1] = int64_t(rows);
  v.nb[0] = dt == DType::F16 ? 2 : 4;
  v.nb[1] = stride;
  v.nb[2] = v.nb[3] = stride * rows;
  return v;
}

}  // namespace

Result<size_t> attention_scratch_bytes(size_t n_ctx, size_t head_dim, DType kv_dtype) {
  if (n_ctx > (size_t(1) << 28) || head_dim > (size_t(1) << 20)) return out_of_range("attention: scratch size overflows");
  LOCI_ASSIGN_OR_RETURN(const size_t ws_scores, matmul_workspace_bytes(kv_dtype, kChunk, head_dim));
  LOCI_ASSIGN_OR_RETURN(const size_t ws_values, matmul_workspace_bytes(kv_dtype, kChunk, n_ctx));
  return round_up(kChunk * n_ctx * sizeof(float)) + round_up(std::max(ws_scores, ws_values));
}

void attend_kv_head(const KvHeadAttention& a) {
  const size_t hd = a.head_dim;
  const size_t scores_bytes = round_up(kChunk * a.n_kv * sizeof(float));
  float* scores = static_cast<float*>(a.scratch);
  void* ws = static_cast<uint8_t*>(a.scratch) + scores_bytes;
  const size_t ws_bytes = a.scratch_bytes - scores_bytes;
  const float scale = 1.0f / std::sqrt(float(hd));
  for (size_t h = 0; h < a.group; ++h) {
    for (size_t t0 = 0; t0 < a.n_tokens; t0 += kChunk) {
      const size_t rows = std::min(kChunk, a.n_tokens - t0);
      // Keys this chunk can see: up to its last query's position.
      const size_t seen = std::min(a.n_kv, size_t(a.q_pos[t0 + rows - 1]) + 1);
      const auto* q = reinterpret_cast<const uint8_t*>(a.q) + t0 * a.q_stride + h * hd * sizeof(float);
      auto* out = reinterpret_cast<uint8_t*>(a.out) + t0 * a.out_stride + h * hd * sizeof(float);

      MatmulArgs qk;
      qk.w = cache_matrix(a.k, a.kv_dtype, hd, seen, a.k_stride);
      qk.x = reinterpret_cast<const float*>(q);
      qk.x_stride = a.q_stride;
      qk.m = rows;
      qk.y = scores;
      qk.y_stride = seen * sizeof(float);
      qk.workspace = ws;
      qk.workspace_bytes = ws_bytes;
      // The caller sized the scratch (attention_scratch_bytes), so neither product can fail.
      [[maybe_unused]] const Status s1 = matmul(qk, nullptr);
      assert(s1.is_ok());
      for (size_t r = 0; r < rows; ++r) {
        const size_t row_seen = std::min(seen, size_t(a.q_pos[t0 + r]) + 1);
        softmax_row(scores + r * seen, row_seen, seen, scale);
      }

      MatmulArgs pv;
      pv.w = cache_matrix(a.vt, a.kv_dtype, seen, hd, a.vt_stride);
      pv.x = scores;
      pv.x_stride = seen * sizeof(float);
      pv.m = rows;
      pv.y = reinterpret_cast<float*>(out);
      pv.y_stride = a.out_stride;
      pv.workspace = ws;
      pv.workspace_bytes = ws_bytes;
      [[maybe_unused]] const Status s2 = matmul(pv, nullptr);
      assert(s2.is_ok());
    }
  }
}

}  // namespace loci::detail
