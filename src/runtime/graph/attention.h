// Causal attention of a chunk of query tokens over the KV cache, computed the
// way llama.cpp's CPU backend does (F32 accumulation; with an F16 cache the
// query and the softmax weights are rounded to F16 before their products),
// so logits match its golden outputs closely. ops::attention is the
// double-precision reference this is tested against.
#pragma once

#include <cstddef>
#include <cstdint>

#include "loci/dtype.h"

namespace loci::detail {

struct KvHeadAttention {
  const float* q;         // n_tokens rows; the group's first query head
  size_t q_stride;        // bytes
  const int32_t* q_pos;   // n_tokens positions
  const void* k;          // cache slot 0 of this kv head
  const void* v;
  size_t kv_stride;       // bytes between cache slots
  DType kv_dtype;         // F32 or F16
  float* out;             // n_tokens rows; the group's first output head
  size_t out_stride;
  size_t n_tokens, n_kv, group, head_dim;
  float* scratch;         // n_kv + head_dim floats
};

// Query heads group*g .. group*g + group-1 share kv head g; this runs one g.
void attend_kv_head(const KvHeadAttention& a);

}  // namespace loci::detail
