// Hyperparameters from GGUF metadata. Every number the graph uses comes from
// here, checked for consistency, so no per-model constants exist anywhere.
#include <cmath>
#include <string>

#include "runtime/model_internal.h"

namespace loci::detail {
namespace {

// Upper bounds that keep every later size computation far from overflow.
constexpr uint32_t kMaxLayers = 4096;
constexpr uint32_t kMaxWidth = 1u << 20;  // n_embd, n_ff, head counts x head_dim
constexpr uint32_t kMaxHeads = 4096;

struct Keys {
  std::string prefix;
  std::string operator()(const char* name) const { return prefix + "." + name; }
};

Status bad(const GgufFile& f, const std::string& what) {
  return invalid_model("model " + f.path() + ": " + what);
}

Result<uint32_t> bounded(const GgufFile& f, const std::string& key, uint32_t lo, uint32_t hi, uint32_t fallback,
                         bool required) {
  Result<uint32_t> v = required ? f.get_u32(key) : f.get_u32(key, fallback);
  if (!v) return v;
  if (*v < lo || *v > hi)
    return bad(f, key + " = " + std::to_string(*v) + " is outside [" + std::to_string(lo) + ", " + std::to_string(hi) +
                      "]");
  return v;
}

Result<Arch> read_arch(const GgufFile& f) {
  LOCI_ASSIGN_OR_RETURN(std::string_view a, f.get_string("general.architecture"));
  if (a == "llama") return Arch::kLlama;
  if (a == "qwen2") return Arch::kQwen2;
  return unsupported("model " + f.path() + ": architecture '" + std::string(a) + "' is not supported (loci runs llama, qwen2)");
}

Status read_rope(const GgufFile& f, const Keys& k, HParams* hp) {
  // llama.cpp's rope type per architecture: adjacent pairs for llama, halves for qwen2.
  hp->rope_mode = hp->arch == Arch::kQwen2 ? ops::RopeMode::kNeox : ops::RopeMode::kNormal;
  LOCI_ASSIGN_OR_RETURN(hp->n_rot, bounded(f, k("rope.dimension_count"), 2, hp->head_dim, hp->head_dim, false));
  if (hp->n_rot % 2 != 0) return bad(f, k("rope.dimension_count") + " = " + std::to_string(hp->n_rot) + " is odd");
  LOCI_ASSIGN_OR_RETURN(const double base, f.get_float(k("rope.freq_base"), 10000.0));
  if (!(base > 1.0) || !std::isfinite(base)) return bad(f, k("rope.freq_base") + " must be a finite number above 1");
  hp->rope_base = float(base);
  LOCI_ASSIGN_OR_RETURN(std::string_view scaling, f.get_string(k("rope.scaling.type"), "none"));
  hp->rope_scale = 1.0f;
  if (scaling == "linear") {
    LOCI_ASSIGN_OR_RETURN(const double factor, f.get_float(k("rope.scaling.factor")));
    if (!(factor >= 1.0) || !std::isfinite(factor)) return bad(f, k("rope.scaling.factor") + " must be >= 1");
    hp->rope_scale = float(1.0 / factor);
  } else if (scaling != "none") {
    return unsupported("model " + f.path() + ": " + k("rope.scaling.type") + " '" + std::string(scaling) +
                       "' is not supported (none, linear)");
  }
  return Status::ok();
}

}  // namespace

Result<HParams> read_hparams(const GgufFile& f) {
  HParams hp;
  LOCI_ASSIGN_OR_RETURN(hp.arch, read_arch(f));
  const Keys k{arch_name(hp.arch)};
  LOCI_ASSIGN_OR_RETURN(hp.n_ctx_train, bounded(f, k("context_length"), 1, 1u << 24, 0, true));
  LOCI_ASSIGN_OR_RETURN(hp.n_embd, bounded(f, k("embedding_length"), 1, kMaxWidth, 0, true));
  LOCI_ASSIGN_OR_RETURN(hp.n_layer, bounded(f, k("block_count"), 1, kMaxLayers, 0, true));
  LOCI_ASSIGN_OR_RETURN(hp.n_ff, bounded(f, k("feed_forward_length"), 1, kMaxWidth, 0, true));
  LOCI_ASSIGN_OR_RETURN(hp.n_head, bounded(f, k("attention.head_count"), 1, kMaxHeads, 0, true));
  LOCI_ASSIGN_OR_RETURN(hp.n_head_kv, bounded(f, k("attention.head_count_kv"), 1, hp.n_head, hp.n_head, false));
  if (hp.n_head % hp.n_head_kv != 0)
    return bad(f, "head_count " + std::to_string(hp.n_head) + " is not a multiple of head_count_kv " +
                      std::to_string(hp.n_head_kv));
  const uint32_t default_head_dim = hp.n_embd % hp.n_head == 0 ? hp.n_embd / hp.n_head : 0;
  LOCI_ASSIGN_OR_RETURN(hp.head_dim, bounded(f, k("attention.key_length"), 1, kMaxWidth, default_head_dim, false));
  if (hp.head_dim == 0)
    return bad(f, "embedding_length " + std::to_string(hp.n_embd) + " is not a multiple of head_count " +
                      std::to_string(hp.n_head));
  LOCI_ASSIGN_OR_RETURN(const uint32_t v_len, f.get_u32(k("attention.value_length"), hp.head_dim));
  if (v_len != hp.head_dim) return unsupported("model " + f.path() + ": value_length differs from key_length");
  if (uint64_t(hp.n_head) * hp.head_dim > kMaxWidth) return bad(f, "head_count x head size is too large");
  LOCI_ASSIGN_OR_RETURN(const double eps, f.get_float(k("attention.layer_norm_rms_epsilon")));
  if (!(eps > 0.0 && eps < 1.0)) return bad(f, k("attention.layer_norm_rms_epsilon") + " must be in (0, 1)");
  hp.rms_eps = float(eps);
  LOCI_RETURN_IF_ERROR(read_rope(f, k, &hp));
  // The vocabulary size is the embedding's row count; the tokenizer must agree.
  const GgufTensor* embd = f.find_tensor("token_embd.weight");
  if (!embd) return bad(f, "tensor 'token_embd.weight' is missing");
  if (embd->ndim != 2 || embd->ne[1] > int64_t(1) << 24)
    return bad(f, "tensor 'token_embd.weight' must be 2-D with at most 2^24 rows");
  hp.n_vocab = uint32_t(embd->ne[1]);
  hp.tied_embeddings = f.find_tensor("output.weight") == nullptr;
  hp.has_rope_freqs = f.find_tensor("rope_freqs.weight") != nullptr;
  return hp;
}

}  // namespace loci::detail
