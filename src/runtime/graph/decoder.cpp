// The decoder graph of the llama family (Llama 1/2/3, Mistral-style, SmolLM,
// TinyLlama, the stories models) and of qwen2. The two differ only in data
// the loader already resolved: qwen2 carries Q/K/V biases (null for llama)
// and uses NeoX RoPE (hp.rope_mode). Everything else is this one loop.
#include "runtime/graph/forward.h"

namespace loci::detail {
namespace {

Status attention_block(Forward& f, const LayerWeights& l, size_t layer) {
  const Activations& a = f.act();
  const size_t q_width = size_t(f.hp.n_head) * f.hp.head_dim, kv_width = size_t(f.hp.n_head_kv) * f.hp.head_dim;
  LOCI_RETURN_IF_ERROR(f.rms_norm(a.x, l.attn_norm, a.h, f.hp.n_embd));
  LOCI_RETURN_IF_ERROR(f.project(l.wq, a.h, a.q));
  LOCI_RETURN_IF_ERROR(f.project(l.wk, a.h, a.k));
  LOCI_RETURN_IF_ERROR(f.project(l.wv, a.h, a.v));
  if (l.bq) {
    LOCI_RETURN_IF_ERROR(f.add_bias(l.bq, a.q, q_width));
    LOCI_RETURN_IF_ERROR(f.add_bias(l.bk, a.k, kv_width));
    LOCI_RETURN_IF_ERROR(f.add_bias(l.bv, a.v, kv_width));
  }
  LOCI_RETURN_IF_ERROR(f.rope(a.q, f.hp.n_head));
  LOCI_RETURN_IF_ERROR(f.rope(a.k, f.hp.n_head_kv));
  LOCI_RETURN_IF_ERROR(f.store_kv(layer));
  LOCI_RETURN_IF_ERROR(f.attend(layer));
  LOCI_RETURN_IF_ERROR(f.project(l.wo, a.attn, a.h));
  return f.residual(a.h, f.hp.n_embd);
}

Status feed_forward_block(Forward& f, const LayerWeights& l) {
  const Activations& a = f.act();
  LOCI_RETURN_IF_ERROR(f.rms_norm(a.x, l.ffn_norm, a.h, f.hp.n_embd));
  LOCI_RETURN_IF_ERROR(f.project(l.w_gate, a.h, a.gate));
  LOCI_RETURN_IF_ERROR(f.project(l.w_up, a.h, a.up));
  LOCI_RETURN_IF_ERROR(f.swiglu());
  LOCI_RETURN_IF_ERROR(f.project(l.w_down, a.gate, a.h));
  return f.residual(a.h, f.hp.n_embd);
}

Status decoder_forward(Forward& f) {
  LOCI_RETURN_IF_ERROR(f.embed());
  for (size_t layer = 0; layer < f.w.layers.size(); ++layer) {
    LOCI_RETURN_IF_ERROR(f.cancelled());
    LOCI_RETURN_IF_ERROR(attention_block(f, f.w.layers[layer], layer));
    // Polled between the blocks too: a cancel waits for half a layer at most.
    LOCI_RETURN_IF_ERROR(f.cancelled());
    LOCI_RETURN_IF_ERROR(feed_forward_block(f, f.w.layers[layer]));
  }
  return Status::ok();  // the session asks for the logits it needs
}

}  // namespace

GraphFn graph_for(Arch arch) {
  switch (arch) {
    case Arch::kLlama:
    case Arch::kQwen2:
      return decoder_forward;
  }
  return nullptr;
}

}  // namespace loci::detail
