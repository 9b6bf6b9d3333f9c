// What the runtime keeps of a loaded model, shared by the loader, the session
// and the per-architecture graphs.
#pragma once

#include <vector>

#include "loci/gguf.h"
#include "loci/model.h"
#include "loci/tensor.h"

namespace loci {

// One transformer block's weights: views into the mapped file. Norm weights and
// biases are F32 rows (checked at load); matrices are any matmul dtype.
struct LayerWeights {
  const float* attn_norm = nullptr;
  TensorView wq, wk, wv, wo;
  const float* bq = nullptr;  // qwen2 only
  const float* bk = nullptr;
  const float* bv = nullptr;
  const float* ffn_norm = nullptr;
  TensorView w_gate, w_up, w_down;
};

struct ModelWeights {
  TensorView tok_embd;
  const float* output_norm = nullptr;
  TensorView output;  // token_embd itself when the embeddings are tied
  const float* rope_freqs = nullptr;  // n_rot/2 divisors, or null
  std::vector<LayerWeights> layers;
};

namespace detail {

// Reads and validates the hyperparameters in `file`'s metadata.
Result<HParams> read_hparams(const GgufFile& file);
// Finds every tensor the architecture needs and checks its type and shape.
Result<ModelWeights> bind_weights(const GgufFile& file, const HParams& hp);

}  // namespace detail
}  // namespace loci
