#include "runtime/session_plan.h"

#include <algorithm>
#include <limits>

#include "loci/matmul.h"
#include "loci/ops.h"
#include "runtime/graph/attention.h"
#include "runtime/model_internal.h"

namespace loci::detail {
namespace {

constexpr size_t kMaxCtx = size_t(1) << 22;
constexpr size_t kMaxBatch = size_t(1) << 14;

// Hands out 64-byte-aligned places with kernel over-read padding after each;
// remembers overflow instead of wrapping.
class Arena {
 public:
  size_t take(size_t count, size_t elem_bytes) {
    const size_t off = size_;
    size_t bytes = 0;
    if (__builtin_mul_overflow(count, elem_bytes, &bytes) || bytes > kLimit - size_) {
      overflow_ = true;
      return 0;
    }
    size_ += (bytes + kKernelPadding + kKernelPadding - 1) / kKernelPadding * kKernelPadding;
    if (size_ > kLimit) overflow_ = true;
    return off;
  }
  size_t size() const { return size_; }
  bool overflow() const { return overflow_; }

 private:
  static constexpr size_t kLimit = std::numeric_limits<size_t>::max() / 2;
  size_t size_ = 0;
  bool overflow_ = false;
};

// The largest matmul workspace any projection of the graph needs for m rows.
Result<size_t> max_workspace(const ModelWeights& w, size_t m) {
  size_t need = 0;
  const auto consider = [&](const TensorView& t) -> Status {
    LOCI_ASSIGN_OR_RETURN(const size_t b, matmul_workspace_bytes(t.dtype, m, size_t(t.ne[0])));
    need = std::max(need, b);
    return Status::ok();
  };
  LOCI_RETURN_IF_ERROR(consider(w.output));
  for (const LayerWeights& l : w.layers)
    for (const TensorView* t : {&l.wq, &l.wk, &l.wv, &l.wo, &l.w_gate, &l.w_up, &l.w_down})
      LOCI_RETURN_IF_ERROR(consider(*t));
  return need;
}

}  // namespace

Result<SessionPlan> plan_session(const HParams& hp, const ModelWeights& w, const SessionOptions& o) {
  if (o.kv_dtype != DType::F16 && o.kv_dtype != DType::F32)
    return invalid_argument(std::string("session: kv cache type ") + dtype_name(o.kv_dtype) + " (want f16 or f32)");
  SessionPlan p;
  p.n_ctx = o.n_ctx ? o.n_ctx : std::min<size_t>(hp.n_ctx_train, 4096);
  if (p.n_ctx > kMaxCtx)
    return out_of_range("session: n_ctx " + std::to_string(p.n_ctx) + " exceeds " + std::to_string(kMaxCtx));
  if (o.n_batch == 0 || o.n_batch > kMaxBatch)
    return out_of_range("session: n_batch " + std::to_string(o.n_batch) + " is not in [1, " +
                        std::to_string(kMaxBatch) + "]");
  p.n_batch = std::min<size_t>(o.n_batch, p.n_ctx);
  p.kv_dtype = o.kv_dtype;
  const size_t hd = hp.head_dim, q_width = size_t(hp.n_head) * hd, kv_width = size_t(hp.n_head_kv) * hd;
  p.kv_row_bytes = kv_width * (o.kv_dtype == DType::F16 ? 2 : 4);

  Arena a;
  const size_t cache_rows = size_t(hp.n_layer) * p.n_ctx;  // both bounded: no overflow
  p.k = a.take(cache_rows, p.kv_row_bytes);
  p.v = a.take(cache_rows, p.kv_row_bytes);
  p.kv_bytes = a.size();
  const size_t b = p.n_batch;
  p.x = a.take(b * hp.n_embd, sizeof(float));
  p.h = a.take(b * hp.n_embd, sizeof(float));
  p.q = a.take(b * q_width, sizeof(float));
  p.kk = a.take(b * kv_width, sizeof(float));
  p.vv = a.take(b * kv_width, sizeof(float));
  p.attn = a.take(b * q_width, sizeof(float));
  p.gate = a.take(b * hp.n_ff, sizeof(float));
  p.up = a.take(b * hp.n_ff, sizeof(float));
  p.logits = a.take(hp.n_vocab, sizeof(float));
  p.pos = a.take(b, sizeof(int32_t));
  LOCI_ASSIGN_OR_RETURN(p.workspace_bytes, max_workspace(w, b));
  p.workspace = a.take(p.workspace_bytes, 1);
  LOCI_ASSIGN_OR_RETURN(p.attn_scratch_each, attention_scratch_bytes(p.n_ctx, hd, p.kv_dtype));
  p.attn_scratch_each = (p.attn_scratch_each + kKernelPadding - 1) / kKernelPadding * kKernelPadding;
  p.attn_scratch = a.take(hp.n_head_kv, p.attn_scratch_each);
  if (a.overflow()) return out_of_range("session: the memory plan overflows");
  p.arena_bytes = a.size();
  p.scratch_bytes = p.arena_bytes - p.kv_bytes;
  return p;
}

}  // namespace loci::detail
