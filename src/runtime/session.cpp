// A session: one arena holding the KV cache and every activation buffer,
// allocated at creation; eval runs the architecture's graph over chunks of
// tokens and allocates nothing.
#include <algorithm>
#include <new>

#include "loci/log.h"
#include "loci/threadpool.h"
#include "runtime/graph/forward.h"
#include "runtime/model_internal.h"
#include "runtime/session_plan.h"

namespace loci {

struct Session::State {
  detail::SessionPlan plan;
  SessionOptions options;
  MemoryEstimate memory;
  std::unique_ptr<ThreadPool> pool;
  void* arena = nullptr;
  detail::KvCache kv;
  detail::Activations act;
  detail::GraphFn graph = nullptr;
  bool has_logits = false;
  ~State() { aligned_free(arena); }
};

namespace {

template <typename T>
T* at(void* arena, size_t offset) {
  return reinterpret_cast<T*>(static_cast<uint8_t*>(arena) + offset);
}

}  // namespace

Session::~Session() = default;

Result<std::unique_ptr<Session>> Session::create(std::shared_ptr<const Model> model, const SessionOptions& options) {
  if (!model) return invalid_argument("session: null model");
  const detail::GraphFn graph = detail::graph_for(model->hp_.arch);
  if (!graph) return unsupported("session: no graph for this architecture");
  LOCI_ASSIGN_OR_RETURN(MemoryEstimate memory, model->estimate(options));
  std::unique_ptr<Session> s(new (std::nothrow) Session());
  std::unique_ptr<State> st(new (std::nothrow) State());
  if (!s || !st) return out_of_memory("session");
  LOCI_ASSIGN_OR_RETURN(st->plan, detail::plan_session(model->hp_, *model->w_, options));
  const detail::SessionPlan& p = st->plan;
  if (options.memory_budget && p.arena_bytes > options.memory_budget)
    return out_of_memory("session: needs " + std::to_string(p.arena_bytes) + " bytes (KV cache " +
                         std::to_string(p.kv_bytes) + ", scratch " + std::to_string(p.scratch_bytes) +
                         ") but the memory budget is " + std::to_string(options.memory_budget));
  st->arena = aligned_alloc_or_null(p.arena_bytes);
  if (!st->arena)
    return out_of_memory("session: cannot allocate " + std::to_string(p.arena_bytes) + " bytes (KV cache " +
                         std::to_string(p.kv_bytes) + ", scratch " + std::to_string(p.scratch_bytes) + ")");
  // Zeroed once, so kernel over-reads and unused cache rows are defined.
  std::fill_n(static_cast<uint8_t*>(st->arena), p.arena_bytes, uint8_t(0));
  LOCI_ASSIGN_OR_RETURN(st->pool, ThreadPool::create(options.n_threads));
  st->options = options;
  st->memory = memory;
  st->graph = graph;
  st->kv = {p.kv_dtype, p.n_ctx, p.kv_row_bytes, at<uint8_t>(st->arena, p.k), at<uint8_t>(st->arena, p.v)};
  detail::Activations& a = st->act;
  a.x = at<float>(st->arena, p.x);
  a.h = at<float>(st->arena, p.h);
  a.q = at<float>(st->arena, p.q);
  a.k = at<float>(st->arena, p.kk);
  a.v = at<float>(st->arena, p.vv);
  a.attn = at<float>(st->arena, p.attn);
  a.gate = at<float>(st->arena, p.gate);
  a.up = at<float>(st->arena, p.up);
  a.logits = at<float>(st->arena, p.logits);
  a.pos = at<int32_t>(st->arena, p.pos);
  a.workspace = at<void>(st->arena, p.workspace);
  a.workspace_bytes = p.workspace_bytes;
  a.attn_scratch = at<uint8_t>(st->arena, p.attn_scratch);
  a.attn_scratch_each = p.attn_scratch_each;
  if (model->hp_.n_ctx_train && p.n_ctx > model->hp_.n_ctx_train)
    detail::log(LogLevel::kWarn, "session: n_ctx %zu is above the %u the model was trained on; quality may drop",
                p.n_ctx, unsigned(model->hp_.n_ctx_train));
  detail::log(LogLevel::kInfo, "session: n_ctx %zu, n_batch %zu, %u threads, KV cache %s %.1f MiB, scratch %.1f MiB",
              p.n_ctx, p.n_batch, unsigned(st->pool->threads()), p.kv_dtype == DType::F16 ? "f16" : "f32",
              double(p.kv_bytes) / (1 << 20), double(p.scratch_bytes) / (1 << 20));
  s->model_ = std::move(model);
  s->st_ = std::move(st);
  return s;
}

Status Session::eval(const int32_t* tokens, size_t n, float* all_logits, size_t stride) {
  if (n == 0) return Status::ok();
  st_->has_logits = false;  // on any error below there are none
  const HParams& hp = model_->hp_;
  if (!tokens) return invalid_argument("eval: tokens is null");
  if (all_logits && stride < size_t(hp.n_vocab) * sizeof(float))
    return invalid_argument("eval: logits stride " + std::to_string(stride) + " is below one row of " +
                            std::to_string(hp.n_vocab) + " floats");
  if (n > st_->plan.n_ctx - pos_)
    return out_of_range("eval: " + std::to_string(n) + " tokens at position " + std::to_string(pos_) +
                        " exceed the context of " + std::to_string(st_->plan.n_ctx));
  for (size_t i = 0; i < n; ++i)
    if (tokens[i] < 0 || uint32_t(tokens[i]) >= hp.n_vocab)
      return out_of_range("eval: token " + std::to_string(tokens[i]) + " at index " + std::to_string(i) +
                          " is outside the vocabulary of " + std::to_string(hp.n_vocab));
  // One fstat per call: a truncated file would fault in the kernels.
  LOCI_RETURN_IF_ERROR(model_->gguf().check_unchanged());
  detail::Forward f(hp, *model_->w_, st_->kv, st_->act, st_->pool.get(), st_->options);
  for (size_t done = 0; done < n;) {
    const size_t chunk = std::min(st_->plan.n_batch, n - done);
    f.begin(tokens + done, chunk, pos_ + done);
    LOCI_RETURN_IF_ERROR(st_->graph(f));
    float* rows = all_logits ? reinterpret_cast<float*>(reinterpret_cast<uint8_t*>(all_logits) + done * stride) : nullptr;
    if (all_logits || done + chunk == n) LOCI_RETURN_IF_ERROR(f.output(rows, stride));
    done += chunk;
  }
  pos_ += n;
  st_->has_logits = true;
  return Status::ok();
}

const float* Session::logits() const { return st_->has_logits ? st_->act.logits : nullptr; }
size_t Session::n_vocab() const { return model_->hp_.n_vocab; }
size_t Session::n_ctx() const { return st_->plan.n_ctx; }
const MemoryEstimate& Session::memory() const { return st_->memory; }

void Session::reset() {
  pos_ = 0;
  st_->has_logits = false;
}

Status Session::truncate(size_t position) {
  if (position > pos_)
    return out_of_range("truncate: position " + std::to_string(position) + " is past the " + std::to_string(pos_) +
                        " tokens in the session");
  if (position < pos_) st_->has_logits = false;
  pos_ = position;
  return Status::ok();
}

}  // namespace loci
