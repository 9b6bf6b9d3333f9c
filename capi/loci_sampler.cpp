// C shims for sampling and the streaming generation loop.
#include "loci/generate.h"
#include "shim.h"

static_assert(LOCI_STOP_EOG == int32_t(loci::StopReason::kEndOfGeneration) &&
                  LOCI_STOP_MAX_TOKENS == int32_t(loci::StopReason::kMaxTokens) &&
                  LOCI_STOP_STRING == int32_t(loci::StopReason::kStopString) &&
                  LOCI_STOP_CONTEXT_FULL == int32_t(loci::StopReason::kContextFull) &&
                  LOCI_STOP_CALLBACK == int32_t(loci::StopReason::kCancelled),
              "C stop reasons mirror loci::StopReason");

namespace loci::capi {
namespace {

SamplerParams sampler_params(const loci_sampler_params& p) {
  SamplerParams s;
  s.temperature = p.temperature;
  s.top_k = p.top_k;
  s.top_p = p.top_p;
  s.min_p = p.min_p;
  s.repeat_penalty = p.repeat_penalty;
  s.repeat_last_n = p.repeat_last_n;
  s.frequency_penalty = p.frequency_penalty;
  s.presence_penalty = p.presence_penalty;
  s.seed = p.seed;
  return s;
}

Result<GenerateOptions> generate_options(const loci_generate_params& p) {
  GenerateOptions o;
  o.max_tokens = p.max_tokens;
  if (p.n_stop && !p.stop) return null_argument("loci_generate_params.stop");
  for (size_t i = 0; i < p.n_stop; ++i) {
    if (!p.stop[i]) return invalid_argument("loci_generate_params: stop string " + std::to_string(i) + " is NULL");
    o.stop.emplace_back(p.stop[i]);
  }
  o.stop_at_eog = p.stop_at_eog != 0;
  o.special = p.special != 0;
  o.strip_leading_space = p.strip_leading_space != 0;
  o.penalize_prompt = p.penalize_prompt != 0;
  return o;
}

struct TextTarget {
  loci_text_callback fn;
  void* user;
};

bool forward_text(void* user, const char* text, size_t length) {
  auto* t = static_cast<TextTarget*>(user);
  return !t->fn || t->fn(t->user, text, length) == 0;
}

}  // namespace
}  // namespace loci::capi

using namespace loci::capi;

extern "C" {

void loci_sampler_params_init(loci_sampler_params* params) {
  init_struct(params);
  if (!params) return;
  const loci::SamplerParams d;
  params->temperature = d.temperature;
  params->top_k = d.top_k;
  params->top_p = d.top_p;
  params->min_p = d.min_p;
  params->repeat_penalty = d.repeat_penalty;
  params->repeat_last_n = d.repeat_last_n;
  params->frequency_penalty = d.frequency_penalty;
  params->presence_penalty = d.presence_penalty;
  params->seed = d.seed;
}

loci_status loci_sampler_create(const loci_model* model, const loci_sampler_params* params,
                                loci_sampler** out_sampler) {
  return guarded("loci_sampler_create", [&] {
    if (!model) return fail(null_argument("model"));
    if (!out_sampler) return fail(null_argument("out_sampler"));
    loci_sampler_params p;
    loci_sampler_params_init(&p);
    LOCI_RETURN_C_IF_ERROR(read_params(params, &p, "loci_sampler_params"));
    if (p.reserved != 0) return fail(loci::invalid_argument("loci_sampler_params: reserved must be 0"));
    HandlePtr<loci_sampler> h(new_handle<loci_sampler>());
    if (!h) return fail(loci::StatusCode::kOutOfMemory, "sampler handle");
    auto sampler = loci::Sampler::create(sampler_params(p), model->model->hparams().n_vocab);
    if (!sampler) return fail(sampler.status());
    h->sampler = std::move(*sampler);
    *out_sampler = h.release();
    return LOCI_OK;
  });
}

void loci_sampler_free(loci_sampler* sampler) { delete_handle(sampler); }

loci_status loci_sampler_sample(loci_sampler* sampler, const float* logits, size_t count, int32_t* out_token) {
  return guarded("loci_sampler_sample", [&] {
    if (!sampler) return fail(null_argument("sampler"));
    if (!logits) return fail(null_argument("logits"));
    if (!out_token) return fail(null_argument("out_token"));
    if (count != sampler->sampler->n_vocab())
      return fail(loci::invalid_argument("loci_sampler_sample: " + std::to_string(count) +
                                         " logits for a vocabulary of " +
                                         std::to_string(sampler->sampler->n_vocab())));
    auto token = sampler->sampler->sample(logits);
    if (!token) return fail(token.status());
    *out_token = *token;
    return LOCI_OK;
  });
}

loci_status loci_sampler_accept(loci_sampler* sampler, int32_t token) {
  return guarded("loci_sampler_accept", [&] {
    if (!sampler) return fail(null_argument("sampler"));
    if (token < 0 || size_t(token) >= sampler->sampler->n_vocab())
      return fail(loci::out_of_range("loci_sampler_accept: token " + std::to_string(token) +
                                     " is outside the vocabulary of " +
                                     std::to_string(sampler->sampler->n_vocab())));
    sampler->sampler->accept(token);
    return LOCI_OK;
  });
}

void loci_sampler_reset(loci_sampler* sampler) {
  if (sampler) sampler->sampler->reset();
}

void loci_generate_params_init(loci_generate_params* params) {
  init_struct(params);
  if (!params) return;
  params->max_tokens = -1;
  params->stop_at_eog = 1;
  params->penalize_prompt = 1;
}

void loci_generate_result_init(loci_generate_result* result) {
  init_struct(result);
  if (!result) return;
  result->stop_index = -1;
  result->last_token = -1;
}

loci_status loci_generate(loci_session* session, loci_sampler* sampler, const int32_t* prompt, size_t count,
                          const loci_generate_params* params, loci_text_callback on_text, void* user,
                          loci_generate_result* result) {
  return guarded("loci_generate", [&] {
    if (!session) return fail(null_argument("session"));
    if (!sampler) return fail(null_argument("sampler"));
    if (!prompt && count) return fail(null_argument("prompt"));
    loci_generate_params p;
    loci_generate_params_init(&p);
    LOCI_RETURN_C_IF_ERROR(read_params(params, &p, "loci_generate_params"));
    // Checked before generating, so a bad struct costs no work.
    if (result) LOCI_RETURN_C_IF_ERROR(check_result(result, "loci_generate_result"));
    auto options = generate_options(p);
    if (!options) return fail(options.status());
    loci::Session& s = *session->session;
    auto generator = loci::Generator::create(s, s.model().tokenizer(), *sampler->sampler, *options);
    if (!generator) return fail(generator.status());
    TextTarget target{on_text, user};
    begin_call(session);
    auto r = (*generator)->run(prompt, count, forward_text, &target);
    end_call(session);
    if (!r) return fail(finish_call(session, r.status(), "loci_generate"));
    // The runtime reports a stop from the session's hook as kCancelled, like
    // one from the text callback; only the callback's is a normal stop here.
    if (r->stop_reason == loci::StopReason::kCancelled && session->stop != loci_session::Stop::kNone)
      return fail(stop_status(session, "loci_generate"));
    if (!result) return LOCI_OK;
    loci_generate_result full;
    loci_generate_result_init(&full);
    full.stop_reason = loci_stop_reason(r->stop_reason);
    full.stop_index = r->stop_index;
    full.last_token = r->last_token;
    full.prompt_tokens = r->prompt_tokens;
    full.generated_tokens = r->generated_tokens;
    full.prefill_seconds = r->prefill_seconds;
    full.decode_seconds = r->decode_seconds;
    return to_c(write_result(full, result, "loci_generate_result"));
  });
}

}  // extern "C"
