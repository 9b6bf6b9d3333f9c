// Causal attention of a chunk of query tokens over the KV cache, computed the
// way llama.cpp's CPU backend does (F32 accumulation; with an F16 cache the
// query and the softmax weights are rounded to F16 before their products),
// so logits match its golden outputs closely. ops::attention is the
// double-precision reference this is tested against.
//
// Both products run on the matmul kernels (the cache is the weight matrix):
// scores = Q K^T against the K rows, then out = P V against V stored
// transposed, one row per head dimension, so each is a plain matmul.
#pragma once

#include <cstddef>
#include <cstdint>

#include "loci/dtype.h"
#include "loci/status.h"

namespace loci::detail {

struct KvHeadAttention {
  const float* q;         // n_tokens rows; the group's first query head
  size_t q_stride;        // bytes
  const int32_t* q_pos;   // n_tokens positions
  const void* k;          // cache slot 0 of this kv head: a row of head_dim per position
  size_t k_stride;        // bytes between positions
  const void* vt;         // this kv head's V transposed: head_dim rows of positions
  size_t vt_stride;       // bytes between those rows
  DType kv_dtype;         // F32 or F16
  float* out;             // n_tokens rows; the group's first output head
  size_t out_stride;
  size_t n_tokens, n_kv, group, head_dim;
  void* scratch;          // 64-byte aligned
  size_t scratch_bytes;   // at least attention_scratch_bytes(n_kv, head_dim, kv_dtype)
};

// Scratch one attend_kv_head call needs for a cache of n_ctx positions.
Result<size_t> attention_scratch_bytes(size_t n_ctx, size_t head_dim, DType kv_dtype);

// Query heads group*g .. group*g + group-1 share kv head g; this runs one g
// on the calling thread.
void attend_kv_head(const KvHeadAttention& a);

}  // namespace loci::detail
