// A loaded model (immutable, shareable across threads and sessions) and a
// session (one conversation: its KV cache and scratch, used by one thread at a
// time). Memory is planned up front: Model::estimate says what a session will
// need before anything is allocated, and Session::create allocates exactly
// that, so evaluating tokens never touches the heap.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "loci/dtype.h"
#include "loci/gguf.h"
#include "loci/ops.h"
#include "loci/status.h"
#include "loci/tensor.h"
#include "loci/tokenizer.h"

namespace loci {

class ThreadPool;

enum class Arch : int32_t { kLlama = 1, kQwen2 = 2 };
const char* arch_name(Arch a);  // the GGUF general.architecture string

// Every number the graph needs, read from the file's metadata.
struct HParams {
  Arch arch = Arch::kLlama;
  uint32_t n_vocab = 0;
  uint32_t n_ctx_train = 0;
  uint32_t n_embd = 0;
  uint32_t n_layer = 0;
  uint32_t n_head = 0;
  uint32_t n_head_kv = 0;
  uint32_t head_dim = 0;  // n_embd / n_head unless the file says otherwise
  uint32_t n_ff = 0;
  float rms_eps = 1e-5f;
  ops::RopeMode rope_mode = ops::RopeMode::kNormal;
  uint32_t n_rot = 0;
  float rope_base = 10000.0f;
  float rope_scale = 1.0f;  // freq_scale = 1 / rope.scaling.factor for linear scaling
  bool tied_embeddings = false;  // no output.weight: token_embd is reused
  bool has_rope_freqs = false;
};

struct SessionOptions {
  uint32_t n_ctx = 0;            // context length; 0: min(n_ctx_train, 4096)
  uint32_t n_batch = 64;         // most tokens evaluated in one forward pass
  DType kv_dtype = DType::F16;   // F16 or F32
  uint32_t n_threads = 0;        // 0: one per core
  // 0: none. The most bytes the session may allocate (KV cache plus
  // scratch); create() refuses more before allocating.
  uint64_t memory_budget = 0;
  // Polled between layers; returning true stops eval with kCancelled.
  bool (*cancel)(void* user) = nullptr;
  void* cancel_user = nullptr;
};

// Bytes a model plus one session of the given options will use.
struct MemoryEstimate {
  uint64_t weights_mapped = 0;  // tensor data, mapped from the file (paged in on use)
  uint64_t model_heap = 0;      // tokenizer tables and tensor bookkeeping
  uint64_t kv_cache = 0;
  uint64_t scratch = 0;         // activations, logits, matmul workspace
  uint64_t total() const { return weights_mapped + model_heap + kv_cache + scratch; }
};

// What a model in `file` plus one session with `options` will use, computed
// before either exists (the file is only mapped, not loaded).
Result<MemoryEstimate> estimate_memory(const GgufFile& file, const SessionOptions& options);

struct ModelWeights;  // the runtime's views of the weights (internal)

class Model {
 public:
  // Maps the file (see GgufFile::check_unchanged for a file that changes).
  static Result<std::shared_ptr<const Model>> load(const std::string& path);
  // From an already opened file (tests build files in memory).
  static Result<std::shared_ptr<const Model>> from_gguf(std::shared_ptr<const GgufFile> file);
  ~Model();

  const HParams& hparams() const { return hp_; }
  const GgufFile& gguf() const { return *file_; }
  const Tokenizer& tokenizer() const { return *tokenizer_; }
  uint64_t n_params() const;
  // What a session with `options` would need; fails on options it would refuse.
  Result<MemoryEstimate> estimate(const SessionOptions& options) const;

 private:
  friend class Session;
  Model() = default;
  std::shared_ptr<const GgufFile> file_;
  std::unique_ptr<Tokenizer> tokenizer_;
  HParams hp_;
  std::unique_ptr<ModelWeights> w_;
};

class Session {
 public:
  static Result<std::unique_ptr<Session>> create(std::shared_ptr<const Model> model, const SessionOptions& options);
  ~Session();

  // Appends tokens at the current position and runs the model over them, in
  // chunks of n_batch. Afterwards logits() holds the last token's logits. If
  // all_logits is given it receives n rows of n_vocab floats, `stride` bytes
  // apart (one per token). On error (bad token, full context, cancelled) the
  // position is unchanged and logits() is null.
  Status eval(const int32_t* tokens, size_t n, float* all_logits = nullptr, size_t stride = 0);

  // The last evaluated token's n_vocab logits; null before the first eval,
  // after a failed one, and after reset() or a truncate() that drops tokens.
  const float* logits() const;
  size_t n_vocab() const;
  size_t position() const { return pos_; }  // tokens in the cache
  size_t n_ctx() const;
  const Model& model() const { return *model_; }
  const MemoryEstimate& memory() const;

  void reset();                      // empty the cache
  Status truncate(size_t position);  // keep the first `position` tokens

 private:
  struct State;
  Session() = default;
  std::shared_ptr<const Model> model_;
  std::unique_ptr<State> st_;
  size_t pos_ = 0;
};

}  // namespace loci
