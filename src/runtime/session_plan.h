// The memory plan of a session: every buffer's size and place in one arena,
// computed before anything is allocated (Model::estimate reports it;
// Session::create allocates exactly it).
#pragma once

#include <cstddef>

#include "loci/model.h"

namespace loci::detail {

struct SessionPlan {
  size_t n_ctx = 0;
  size_t n_batch = 0;
  DType kv_dtype = DType::F16;
  size_t kv_row_bytes = 0;  // one layer's K (or V) for one position
  size_t kv_bytes = 0;      // K and V of every layer
  size_t scratch_bytes = 0; // activations, logits, workspaces
  // Byte offsets into the arena, which starts with the KV cache.
  size_t k = 0, v = 0;
  size_t x = 0, h = 0, q = 0, kk = 0, vv = 0, attn = 0, gate = 0, up = 0, logits = 0, pos = 0;
  size_t workspace = 0, workspace_bytes = 0;
  size_t attn_scratch = 0, attn_scratch_each = 0;
  size_t arena_bytes = 0;
};

Result<SessionPlan> plan_session(const HParams& hp, const ModelWeights& w, const SessionOptions& options);

}  // namespace loci::detail
