#include "runtime/graph/attention.h"

#include <algorithm>
#include <cmath>

#include "loci/fp16.h"

namespace loci::detail {
namespace {

constexpr size_t kLanes = 16;  // independent partial sums, so the loop vectorizes

inline float load(const float* p, size_t i) { return p[i]; }
inline float load(const uint16_t* p, size_t i) { return fp16_to_f32(p[i]); }

template <typename Elem>
float dot(const float* q, const Elem* k, size_t n) {
  float acc[kLanes] = {};
  size_t i = 0;
  for (; i + kLanes <= n; i += kLanes)
    for (size_t l = 0; l < kLanes; ++l) acc[l] += q[i + l] * load(k, i + l);
  float s = 0.0f;
  for (; i < n; ++i) s += q[i] * load(k, i);
  for (size_t l = 0; l < kLanes; ++l) s += acc[l];
  return s;
}

template <typename Elem>
const Elem* slot(const void* base, size_t stride, size_t j) {
  return reinterpret_cast<const Elem*>(static_cast<const uint8_t*>(base) + j * stride);
}

// Scores -> softmax weights in place; the sum in double as llama.cpp does.
void softmax(float* s, size_t n) {
  float max = -INFINITY;
  for (size_t j = 0; j < n; ++j) max = std::max(max, s[j]);
  double sum = 0.0;
  for (size_t j = 0; j < n; ++j) {
    s[j] = std::exp(s[j] - max);
    sum += s[j];
  }
  const float inv = float(1.0 / sum);
  for (size_t j = 0; j < n; ++j) s[j] *= inv;
}

template <typename Elem>
void attend_head(const float* q_in, const KvHeadAttention& a, size_t seen, float* out) {
  constexpr bool kF16 = sizeof(Elem) == 2;
  float* scores = a.scratch;
  float* q = a.scratch + a.n_kv;
  const size_t hd = a.head_dim;
  for (size_t d = 0; d < hd; ++d) q[d] = kF16 ? fp16_to_f32(f32_to_fp16(q_in[d])) : q_in[d];
  const float scale = 1.0f / std::sqrt(float(hd));
  for (size_t j = 0; j < seen; ++j) scores[j] = dot(q, slot<Elem>(a.k, a.kv_stride, j), hd) * scale;
  softmax(scores, seen);
  std::fill(out, out + hd, 0.0f);
  for (size_t j = 0; j < seen; ++j) {
    const float p = kF16 ? fp16_to_f32(f32_to_fp16(scores[j])) : scores[j];
    const Elem* v = slot<Elem>(a.v, a.kv_stride, j);
    for (size_t d = 0; d < hd; ++d) out[d] += p * load(v, d);
  }
}

template <typename Elem>
void attend_all(const KvHeadAttention& a) {
  for (size_t t = 0; t < a.n_tokens; ++t) {
    const size_t seen = std::min(a.n_kv, size_t(a.q_pos[t]) + 1);
    const float* qt = reinterpret_cast<const float*>(reinterpret_cast<const uint8_t*>(a.q) + t * a.q_stride);
    float* ot = reinterpret_cast<float*>(reinterpret_cast<uint8_t*>(a.out) + t * a.out_stride);
    for (size_t h = 0; h < a.group; ++h) attend_head<Elem>(qt + h * a.head_dim, a, seen, ot + h * a.head_dim);
  }
}

}  // namespace

void attend_kv_head(const KvHeadAttention& a) {
  if (a.kv_dtype == DType::F16)
    attend_all<uint16_t>(a);
  else
    attend_all<float>(a);
}

}  // namespace loci::detail
