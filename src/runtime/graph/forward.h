// The steps a decoder forward pass is written in. A Forward holds one chunk
// of tokens and the session's preallocated buffers; each step reads and
// writes those buffers, so a graph is a short, readable list of calls and
// never allocates.
#pragma once

#include <cstddef>
#include <cstdint>

#include "loci/model.h"
#include "loci/status.h"
#include "runtime/model_internal.h"

namespace loci {
class ThreadPool;
}

namespace loci::detail {

// The KV cache of one session. K: per layer, n_ctx rows of n_head_kv *
// head_dim elements. V is stored transposed, per layer n_head_kv * head_dim
// rows of n_ctx positions, so attention's second product is a plain matmul.
struct KvCache {
  DType dtype = DType::F16;
  size_t n_ctx = 0;
  size_t row_bytes = 0;    // one position's K (or V) for one layer
  uint8_t* k = nullptr;    // [n_layer][n_ctx][width]
  uint8_t* v = nullptr;    // [n_layer][width][n_ctx]
  size_t elem() const { return dtype == DType::F16 ? 2 : 4; }
  size_t vt_stride() const { return n_ctx * elem(); }  // bytes between V rows
  uint8_t* k_row(size_t layer, size_t pos) const { return k + (layer * n_ctx + pos) * row_bytes; }
  // Row r (a head dimension) of layer's transposed V.
  uint8_t* vt_row(size_t layer, size_t r) const { return v + layer * n_ctx * row_bytes + r * vt_stride(); }
};

// Activation buffers for up to n_batch tokens, planned by SessionPlan.
struct Activations {
  float* x = nullptr;     // residual stream [n][n_embd]
  float* h = nullptr;     // normed input / block output [n][max(n_embd, n_head*head_dim)]
  float* q = nullptr;     // [n][n_head*head_dim]
  float* k = nullptr;     // [n][n_head_kv*head_dim]
  float* v = nullptr;
  float* attn = nullptr;  // attention output [n][n_head*head_dim]
  float* gate = nullptr;  // [n][n_ff]
  float* up = nullptr;
  float* logits = nullptr;  // one row of n_vocab
  int32_t* pos = nullptr;   // [n]
  void* workspace = nullptr;  // matmul activation conversion
  size_t workspace_bytes = 0;
  uint8_t* attn_scratch = nullptr;  // one slice per kv head
  size_t attn_scratch_each = 0;
};

class Forward {
 public:
  Forward(const HParams& hp, const ModelWeights& w, const KvCache& kv, const Activations& a, ThreadPool* pool,
          const SessionOptions& opt)
      : hp(hp), w(w), kv_(kv), a_(a), pool_(pool), opt_(opt) {}

  // The chunk being evaluated: n tokens at positions start..start+n-1.
  void begin(const int32_t* tokens, size_t n, size_t start);

  Status cancelled() const;
  Status embed();                                           // x = token_embd[tokens]
  Status rms_norm(const float* in, const float* weight, float* out, size_t width);
  Status project(const TensorView& w, const float* in, float* out);  // out = in W^T
  Status add_bias(const float* bias, float* inout, size_t width);
  Status rope(float* inout, size_t n_heads);
  Status store_kv(size_t layer);                            // cache[layer][pos] = k, v
  Status attend(size_t layer);                              // attn = softmax(q K^T) V
  Status swiglu();                                          // gate = silu(gate) * up
  Status residual(const float* delta, size_t width);        // x += delta
  // Logits for the chunk's last token (into a.logits), or for every token
  // (into all, `stride` bytes apart) when all is not null.
  Status output(float* all, size_t stride);

  const HParams& hp;
  const ModelWeights& w;
  const Activations& act() const { return a_; }

 private:
  const KvCache& kv_;
  const Activations& a_;
  ThreadPool* pool_;
  const SessionOptions& opt_;
  const int32_t* tokens_ = nullptr;
  size_t n_ = 0;
  size_t start_ = 0;
};

// The forward pass of one architecture over the chunk set by begin().
using GraphFn = Status (*)(Forward& f);
GraphFn graph_for(Arch arch);

}  // namespace loci::detail
