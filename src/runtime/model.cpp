// Model loading: map the file, read the hyperparameters, build the
// tokenizer, bind the weights. All checks happen here, once.
#include <new>

#include "core/bad_alloc.h"
#include "loci/log.h"
#include "runtime/model_internal.h"
#include "runtime/session_plan.h"

namespace loci {

const char* arch_name(Arch a) {
  switch (a) {
    case Arch::kLlama: return "llama";
    case Arch::kQwen2: return "qwen2";
  }
  return "unknown";
}

Model::~Model() = default;

Result<std::shared_ptr<const Model>> Model::load(const std::string& path) {
  LOCI_ASSIGN_OR_RETURN(auto file, GgufFile::open(path));
  return from_gguf(std::move(file));
}

Result<std::shared_ptr<const Model>> Model::from_gguf(std::shared_ptr<const GgufFile> file) {
  return detail::bad_alloc_as_status("model load", [&]() -> Result<std::shared_ptr<const Model>> {
    if (!file) return invalid_argument("model: null file");
    std::shared_ptr<Model> m(new (std::nothrow) Model());
    if (!m) return out_of_memory("model");
    LOCI_ASSIGN_OR_RETURN(m->hp_, detail::read_hparams(*file));
    LOCI_ASSIGN_OR_RETURN(m->tokenizer_, Tokenizer::from_gguf(*file));
    if (m->tokenizer_->n_vocab() != m->hp_.n_vocab)
      return invalid_model("model " + file->path() + ": the vocabulary has " + std::to_string(m->tokenizer_->n_vocab()) +
                           " tokens but token_embd.weight has " + std::to_string(m->hp_.n_vocab) + " rows");
    LOCI_ASSIGN_OR_RETURN(ModelWeights w, detail::bind_weights(*file, m->hp_));
    m->w_.reset(new (std::nothrow) ModelWeights(std::move(w)));
    if (!m->w_) return out_of_memory("model weights table");
    m->file_ = std::move(file);
    const HParams& hp = m->hp_;
    detail::log(LogLevel::kInfo, "model %s: %s, %u layers, n_embd %u, n_head %u/%u, n_vocab %u, %.2fM parameters",
                m->file_->path().c_str(), arch_name(hp.arch), hp.n_layer, hp.n_embd, hp.n_head, hp.n_head_kv,
                hp.n_vocab, double(m->n_params()) / 1e6);
    return std::shared_ptr<const Model>(std::move(m));
  });
}

uint64_t Model::n_params() const {
  uint64_t n = 0;
  for (const GgufTensor& t : file_->tensors()) n += uint64_t(t.ne[0] * t.ne[1] * t.ne[2] * t.ne[3]);
  return n;
}

namespace {

MemoryEstimate make_estimate(const GgufFile& file, const ModelWeights& w, const detail::SessionPlan& p,
                             const Tokenizer& tokenizer) {
  MemoryEstimate e;
  e.weights_mapped = file.tensor_bytes();
  e.model_heap = tokenizer.heap_bytes() + w.layers.size() * sizeof(LayerWeights) +
                 file.tensors().size() * sizeof(GgufTensor) + file.kvs().size() * sizeof(GgufKv);
  e.kv_cache = p.kv_bytes;
  e.scratch = p.scratch_bytes;
  return e;
}

}  // namespace

Result<MemoryEstimate> estimate_memory(const GgufFile& file, const SessionOptions& options) {
  return detail::bad_alloc_as_status("memory estimate", [&]() -> Result<MemoryEstimate> {
    LOCI_ASSIGN_OR_RETURN(const HParams hp, detail::read_hparams(file));
    LOCI_ASSIGN_OR_RETURN(const ModelWeights w, detail::bind_weights(file, hp));
    LOCI_ASSIGN_OR_RETURN(const auto tokenizer, Tokenizer::from_gguf(file));
    LOCI_ASSIGN_OR_RETURN(const detail::SessionPlan p, detail::plan_session(hp, w, options));
    return make_estimate(file, w, p, *tokenizer);
  });
}

Result<MemoryEstimate> Model::estimate(const SessionOptions& options) const {
  LOCI_ASSIGN_OR_RETURN(const detail::SessionPlan p, detail::plan_session(hp_, *w_, options));
  return make_estimate(*file_, *w_, p, *tokenizer_);
}

}  // namespace loci
