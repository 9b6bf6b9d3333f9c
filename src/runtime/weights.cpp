// Binds the architecture's tensors to views into the mapped file, checking
// each one's presence, type and exact shape, so the graph can trust them.
#include <string>

#include "loci/matmul.h"
#include "runtime/model_internal.h"

namespace loci::detail {
namespace {

class Binder {
 public:
  Binder(const GgufFile& f) : f_(f) {}

  // A matrix of `rows` rows of `cols` elements, in any dtype the matmul runs.
  Result<TensorView> matrix(const std::string& name, int64_t cols, int64_t rows) const {
    LOCI_ASSIGN_OR_RETURN(const GgufTensor* t, find(name));
    LOCI_RETURN_IF_ERROR(shape(*t, cols, rows));
    if (!matmul_kernel_info(t->dtype))
      return unsupported("model " + f_.path() + ": tensor '" + name + "' has type " + dtype_name(t->dtype) +
                         ", which loci's matmul does not support");
    return t->view;
  }

  // A vector of n F32 values (norm weights, biases, rope factors); null when
  // optional and absent.
  Result<const float*> vector(const std::string& name, int64_t n, bool optional = false) const {
    const GgufTensor* t = f_.find_tensor(name);
    if (!t && optional) return static_cast<const float*>(nullptr);
    LOCI_ASSIGN_OR_RETURN(t, find(name));
    LOCI_RETURN_IF_ERROR(shape(*t, n, 1));
    if (t->dtype != DType::F32)
      return unsupported("model " + f_.path() + ": tensor '" + name + "' has type " + dtype_name(t->dtype) +
                         ", expected f32");
    return static_cast<const float*>(t->view.data);
  }

 private:
  Result<const GgufTensor*> find(const std::string& name) const {
    const GgufTensor* t = f_.find_tensor(name);
    if (!t) return invalid_model("model " + f_.path() + ": tensor '" + name + "' is missing");
    return t;
  }
  Status shape(const GgufTensor& t, int64_t cols, int64_t rows) const {
    if (t.ne[0] == cols && t.ne[1] == rows && t.ne[2] == 1 && t.ne[3] == 1) return Status::ok();
    return invalid_model("model " + f_.path() + ": tensor '" + std::string(t.name) + "' has shape [" +
                         std::to_string(t.ne[0]) + ", " + std::to_string(t.ne[1]) + ", " + std::to_string(t.ne[2]) +
                         ", " + std::to_string(t.ne[3]) + "], expected [" + std::to_string(cols) + ", " +
                         std::to_string(rows) + "] (info at offset " + std::to_string(t.info_offset) + ")");
  }
  const GgufFile& f_;
};

Result<LayerWeights> bind_layer(const Binder& b, const HParams& hp, uint32_t i) {
  const std::string p = "blk." + std::to_string(i) + ".";
  const int64_t d = hp.n_embd, q = int64_t(hp.n_head) * hp.head_dim, kv = int64_t(hp.n_head_kv) * hp.head_dim;
  const bool biases = hp.arch == Arch::kQwen2;
  LayerWeights l;
  LOCI_ASSIGN_OR_RETURN(l.attn_norm, b.vector(p + "attn_norm.weight", d));
  LOCI_ASSIGN_OR_RETURN(l.wq, b.matrix(p + "attn_q.weight", d, q));
  LOCI_ASSIGN_OR_RETURN(l.wk, b.matrix(p + "attn_k.weight", d, kv));
  LOCI_ASSIGN_OR_RETURN(l.wv, b.matrix(p + "attn_v.weight", d, kv));
  if (biases) {
    LOCI_ASSIGN_OR_RETURN(l.bq, b.vector(p + "attn_q.bias", q));
    LOCI_ASSIGN_OR_RETURN(l.bk, b.vector(p + "attn_k.bias", kv));
    LOCI_ASSIGN_OR_RETURN(l.bv, b.vector(p + "attn_v.bias", kv));
  }
  LOCI_ASSIGN_OR_RETURN(l.wo, b.matrix(p + "attn_output.weight", q, d));
  LOCI_ASSIGN_OR_RETURN(l.ffn_norm, b.vector(p + "ffn_norm.weight", d));
  LOCI_ASSIGN_OR_RETURN(l.w_gate, b.matrix(p + "ffn_gate.weight", d, hp.n_ff));
  LOCI_ASSIGN_OR_RETURN(l.w_up, b.matrix(p + "ffn_up.weight", d, hp.n_ff));
  LOCI_ASSIGN_OR_RETURN(l.w_down, b.matrix(p + "ffn_down.weight", hp.n_ff, d));
  return l;
}

}  // namespace

Result<ModelWeights> bind_weights(const GgufFile& f, const HParams& hp) {
  const Binder b(f);
  ModelWeights w;
  const GgufTensor* embd = f.find_tensor("token_embd.weight");
  if (!embd || embd->ne[0] != hp.n_embd || embd->ne[1] != hp.n_vocab || embd->ne[2] != 1 || embd->ne[3] != 1)
    return invalid_model("model " + f.path() + ": tensor 'token_embd.weight' must be [n_embd, n_vocab]");
  w.tok_embd = embd->view;
  LOCI_ASSIGN_OR_RETURN(w.output_norm, b.vector("output_norm.weight", hp.n_embd));
  if (hp.tied_embeddings) {
    if (!matmul_kernel_info(embd->dtype))
      return unsupported("model " + f.path() + ": tied 'token_embd.weight' of type " + dtype_name(embd->dtype) +
                         " cannot serve as the output matrix");
    w.output = embd->view;
  } else {
    LOCI_ASSIGN_OR_RETURN(w.output, b.matrix("output.weight", hp.n_embd, hp.n_vocab));
  }
  if (hp.has_rope_freqs) {
    LOCI_ASSIGN_OR_RETURN(w.rope_freqs, b.vector("rope_freqs.weight", hp.n_rot / 2));
    for (uint32_t i = 0; i < hp.n_rot / 2; ++i)
      if (!(w.rope_freqs[i] > 0.0f) || !(w.rope_freqs[i] < 1e30f))
        return invalid_model("model " + f.path() + ": rope_freqs.weight[" + std::to_string(i) +
                             "] must be a positive finite factor");
  }
  w.layers.reserve(hp.n_layer);
  for (uint32_t i = 0; i < hp.n_layer; ++i) {
    LOCI_ASSIGN_OR_RETURN(LayerWeights l, bind_layer(b, hp, i));
    w.layers.push_back(l);
  }
  return w;
}

}  // namespace loci::detail
