// C shims for sessions: creation, evaluation, logits, and the cancel flag,
// cancel callback and timeout that all reach the runtime through one hook.
#include "shim.h"

namespace loci::capi {
namespace {

using Clock = std::chrono::steady_clock;

// The runtime polls this between layers.
bool poll_stop(void* user) {
  auto* s = static_cast<loci_session*>(user);
  if (s->cancel_requested.exchange(false) || (s->cancel && s->cancel(s->cancel_user))) {
    s->stop = loci_session::Stop::kCancel;
    return true;
  }
  if (s->has_deadline && Clock::now() >= s->deadline) {
    s->stop = loci_session::Stop::kDeadline;
    return true;
  }
  return false;
}

}  // namespace

Result<SessionOptions> session_options(const loci_session_params& p) {
  if (p.kv_type != LOCI_KV_F16 && p.kv_type != LOCI_KV_F32)
    return invalid_argument("loci_session_params: kv_type " + std::to_string(p.kv_type) +
                            " is neither LOCI_KV_F16 nor LOCI_KV_F32");
  SessionOptions o;
  o.n_ctx = p.n_ctx;
  if (p.n_batch) o.n_batch = p.n_batch;
  o.n_threads = p.n_threads;
  o.kv_dtype = p.kv_type == LOCI_KV_F32 ? DType::F32 : DType::F16;
  o.memory_budget = p.memory_budget;
  return o;
}

void begin_call(loci_session* s) {
  s->stop = loci_session::Stop::kNone;
  s->has_deadline = s->timeout_ms != 0;
  if (s->has_deadline) s->deadline = Clock::now() + std::chrono::milliseconds(s->timeout_ms);
}

void end_call(loci_session* s) { s->cancel_requested.store(false); }

Status stop_status(const loci_session* s, const char* what) {
  if (s->stop == loci_session::Stop::kDeadline)
    return {StatusCode::kDeadlineExceeded,
            std::string(what) + ": stopped after its timeout of " + std::to_string(s->timeout_ms) + " ms"};
  return {StatusCode::kCancelled, std::string(what) + ": cancelled"};
}

Status finish_call(const loci_session* s, Status status, const char* what) {
  if (status.code() == StatusCode::kCancelled && s->stop != loci_session::Stop::kNone) return stop_status(s, what);
  return status;
}

}  // namespace loci::capi

using namespace loci::capi;

extern "C" {

void loci_session_params_init(loci_session_params* params) {
  init_struct(params);
  if (params) params->kv_type = LOCI_KV_F16;
}

void loci_memory_estimate_init(loci_memory_estimate* estimate) { init_struct(estimate); }

loci_status loci_session_create(const loci_model* model, const loci_session_params* params,
                                loci_session** out_session) {
  return guarded("loci_session_create", [&] {
    if (!model) return fail(null_argument("model"));
    if (!out_session) return fail(null_argument("out_session"));
    loci_session_params p;
    loci_session_params_init(&p);
    LOCI_RETURN_C_IF_ERROR(read_params(params, &p, "loci_session_params"));
    HandlePtr<loci_session> h(new_handle<loci_session>());
    if (!h) return fail(loci::StatusCode::kOutOfMemory, "session handle");
    auto options = session_options(p);
    if (!options) return fail(options.status());
    loci::SessionOptions o = *options;
    o.cancel = poll_stop;
    o.cancel_user = h.get();
    auto session = loci::Session::create(model->model, o);
    if (!session) return fail(session.status());
    h->session = std::move(*session);
    h->cancel = p.cancel;
    h->cancel_user = p.cancel_user;
    h->timeout_ms = p.timeout_ms;
    *out_session = h.release();
    return LOCI_OK;
  });
}

void loci_session_free(loci_session* session) { delete_handle(session); }

loci_status loci_session_eval(loci_session* session, const int32_t* tokens, size_t count) {
  return loci_session_eval_all(session, tokens, count, nullptr, 0);
}

loci_status loci_session_eval_all(loci_session* session, const int32_t* tokens, size_t count, float* logits,
                                  size_t capacity) {
  return guarded("loci_session_eval", [&] {
    if (!session) return fail(null_argument("session"));
    if (!tokens && count) return fail(null_argument("tokens"));
    const size_t n_vocab = session->session->n_vocab();
    if (logits && capacity / n_vocab < count)
      return fail(loci::Status(loci::StatusCode::kBufferTooSmall,
                               "loci_session_eval_all: " + std::to_string(count) + " rows of " +
                                   std::to_string(n_vocab) + " logits need more than the capacity of " +
                                   std::to_string(capacity) + " floats"));
    begin_call(session);
    const loci::Status s = session->session->eval(tokens, count, logits, n_vocab * sizeof(float));
    end_call(session);
    return to_c(finish_call(session, s, "loci_session_eval"));
  });
}

const float* loci_session_logits(const loci_session* session) {
  return session ? session->session->logits() : nullptr;
}

int32_t loci_session_n_vocab(const loci_session* session) {
  return session ? int32_t(session->session->n_vocab()) : 0;
}

size_t loci_session_n_ctx(const loci_session* session) { return session ? session->session->n_ctx() : 0; }

size_t loci_session_position(const loci_session* session) { return session ? session->session->position() : 0; }

loci_status loci_session_memory(const loci_session* session, loci_memory_estimate* out_estimate) {
  return guarded("loci_session_memory", [&] {
    if (!session) return fail(null_argument("session"));
    return to_c(write_result(to_c(session->session->memory()), out_estimate, "loci_memory_estimate"));
  });
}

void loci_session_reset(loci_session* session) {
  if (session) session->session->reset();
}

loci_status loci_session_truncate(loci_session* session, size_t position) {
  return guarded("loci_session_truncate", [&] {
    if (!session) return fail(null_argument("session"));
    return to_c(session->session->truncate(position));
  });
}

void loci_session_cancel(loci_session* session) {
  if (session) session->cancel_requested.store(true);
}

loci_status loci_session_set_timeout(loci_session* session, uint32_t timeout_ms) {
  return guarded("loci_session_set_timeout", [&] {
    if (!session) return fail(null_argument("session"));
    session->timeout_ms = timeout_ms;
    return LOCI_OK;
  });
}

}  // extern "C"
