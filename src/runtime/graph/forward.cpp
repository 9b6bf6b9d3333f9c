#include "runtime/graph/forward.h"

#include <algorithm>

#include "loci/fp16.h"
#include "loci/matmul.h"
#include "loci/ops.h"
#include "loci/quant.h"
#include "loci/threadpool.h"
#include "runtime/graph/attention.h"

namespace loci::detail {
namespace {

size_t row_stride(size_t width) { return width * sizeof(float); }

}  // namespace

void Forward::begin(const int32_t* tokens, size_t n, size_t start) {
  tokens_ = tokens;
  n_ = n;
  start_ = start;
  for (size_t i = 0; i < n; ++i) a_.pos[i] = int32_t(start + i);
}

Status Forward::cancelled() const {
  if (opt_.cancel && opt_.cancel(opt_.cancel_user)) return {StatusCode::kCancelled, "evaluation cancelled"};
  return Status::ok();
}

Status Forward::embed() { return ops::get_rows(w.tok_embd, tokens_, n_, a_.x, row_stride(hp.n_embd)); }

Status Forward::rms_norm(const float* in, const float* weight, float* out, size_t width) {
  return ops::rms_norm(in, row_stride(width), out, row_stride(width), n_, width, weight, hp.rms_eps);
}

Status Forward::project(const TensorView& wt, const float* in, float* out) {
  MatmulArgs m;
  m.w = wt;
  m.x = in;
  m.x_stride = row_stride(size_t(wt.ne[0]));
  m.m = n_;
  m.y = out;
  m.y_stride = row_stride(size_t(wt.ne[1]));
  m.workspace = a_.workspace;
  m.workspace_bytes = a_.workspace_bytes;
  return matmul(m, pool_);
}

Status Forward::add_bias(const float* bias, float* inout, size_t width) {
  return ops::add(inout, row_stride(width), bias, 0, inout, row_stride(width), n_, width);
}

Status Forward::rope(float* inout, size_t n_heads) {
  ops::RopeParams p;
  p.mode = hp.rope_mode;
  p.n_rot = hp.n_rot;
  p.freq_base = hp.rope_base;
  p.freq_scale = hp.rope_scale;
  p.freq_factors = w.rope_freqs;
  const size_t width = n_heads * hp.head_dim;
  return ops::rope(inout, row_stride(width), inout, row_stride(width), n_, n_heads, hp.head_dim, a_.pos, p);
}

Status Forward::store_kv(size_t layer) {
  const size_t width = size_t(hp.n_head_kv) * hp.head_dim;
  const bool f16 = kv_.dtype == DType::F16;
  for (size_t i = 0; i < n_; ++i) {
    const float* k = a_.k + i * width;
    const float* v = a_.v + i * width;
    uint8_t* kd = kv_.k_row(layer, start_ + i);
    if (f16) convert_row_f32_to_f16(k, reinterpret_cast<uint16_t*>(kd), width);
    else std::copy(k, k + width, reinterpret_cast<float*>(kd));
    // V goes in column start_ + i of the transposed rows.
    for (size_t r = 0; r < width; ++r) {
      uint8_t* vd = kv_.vt_row(layer, r) + (start_ + i) * kv_.elem();
      if (f16) *reinterpret_cast<uint16_t*>(vd) = f32_to_fp16(v[r]);
      else *reinterpret_cast<float*>(vd) = v[r];
    }
  }
  return Status::ok();
}

// Each kv head and the query heads that share it form an independent task
// with its own scratch, so results do not depend on the thread count. The
// arguments were checked when the session was planned.
Status Forward::attend(size_t layer) {
  const size_t hd = hp.head_dim, group = hp.n_head / hp.n_head_kv;
  const size_t q_stride = row_stride(size_t(hp.n_head) * hd);
  parallel_for(pool_, hp.n_head_kv, [&](size_t g) {
    KvHeadAttention a;
    a.q = a_.q + g * group * hd;
    a.q_stride = q_stride;
    a.q_pos = a_.pos;
    a.k = kv_.k_row(layer, 0) + g * hd * kv_.elem();
    a.k_stride = kv_.row_bytes;
    a.vt = kv_.vt_row(layer, g * hd);
    a.vt_stride = kv_.vt_stride();
    a.kv_dtype = kv_.dtype;
    a.out = a_.attn + g * group * hd;
    a.out_stride = q_stride;
    a.n_tokens = n_;
    a.n_kv = start_ + n_;
    a.group = group;
    a.head_dim = hd;
    a.scratch = a_.attn_scratch + g * a_.attn_scratch_each;
    a.scratch_bytes = a_.attn_scratch_each;
    attend_kv_head(a);
  });
  return Status::ok();
}

Status Forward::swiglu() {
  const size_t s = row_stride(hp.n_ff);
  return ops::swiglu(a_.gate, s, a_.up, s, a_.gate, s, n_, hp.n_ff);
}

Status Forward::residual(const float* delta, size_t width) {
  return ops::add(a_.x, row_stride(width), delta, row_stride(width), a_.x, row_stride(width), n_, width);
}

Status Forward::output(float* all, size_t stride) {
  const size_t d = hp.n_embd;
  // Only the rows whose logits are wanted go through the final norm and matmul.
  const size_t first = all ? 0 : n_ - 1, rows = n_ - first;
  LOCI_RETURN_IF_ERROR(
      ops::rms_norm(a_.x + first * d, row_stride(d), a_.h, row_stride(d), rows, d, w.output_norm, hp.rms_eps));
  MatmulArgs m;
  m.w = w.output;
  m.x = a_.h;
  m.x_stride = row_stride(d);
  m.m = rows;
  m.y = all ? all : a_.logits;
  m.y_stride = all ? stride : row_stride(hp.n_vocab);
  m.workspace = a_.workspace;
  m.workspace_bytes = a_.workspace_bytes;
  LOCI_RETURN_IF_ERROR(matmul(m, pool_));
  if (all) {
    const float* last = reinterpret_cast<const float*>(reinterpret_cast<const uint8_t*>(all) + (rows - 1) * stride);
    std::copy(last, last + hp.n_vocab, a_.logits);
  }
  return Status::ok();
}

}  // namespace loci::detail
