// The generation loop. Per token: sample, accept, show the text, evaluate.
// The text path is piece -> UTF-8 assembler -> stop matcher -> callback, all
// on buffers sized in create(), so a token costs no allocation.
#include "loci/generate.h"

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <new>
#include <vector>

#include "core/bad_alloc.h"

namespace loci {
namespace {

bool is_continuation(char c) { return (static_cast<unsigned char>(c) & 0xC0) == 0x80; }

// Bytes in the character a lead byte starts; 1 for ASCII and for bytes that
// cannot start a valid character (those pass through on their own).
size_t sequence_length(char c) {
  const unsigned char b = static_cast<unsigned char>(c);
  if (b >= 0xC2 && b <= 0xDF) return 2;
  if (b >= 0xE0 && b <= 0xEF) return 3;
  if (b >= 0xF0 && b <= 0xF4) return 4;
  return 1;
}

double seconds_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

}  // namespace

const char* stop_reason_name(StopReason r) {
  switch (r) {
    case StopReason::kNone: return "none";
    case StopReason::kEndOfGeneration: return "eog";
    case StopReason::kMaxTokens: return "max_tokens";
    case StopReason::kStopString: return "stop_string";
    case StopReason::kContextFull: return "context_full";
    case StopReason::kCancelled: return "cancelled";
  }
  return "unknown";
}

namespace detail {

Utf8Assembler::Step Utf8Assembler::feed(std::string_view piece) {
  Step step;
  size_t i = 0;
  if (held_ > 0) {
    while (held_ < need_ && held_ < sizeof buf_ && i < piece.size() && is_continuation(piece[i]))
      buf_[held_++] = piece[i++];
    if (held_ < need_ && i == piece.size()) return step;  // still incomplete: wait for more
    // Complete, or broken by a byte that cannot continue it: release it either way.
    std::copy(buf_, buf_ + held_, out_);
    step.head = std::string_view(out_, held_);
    held_ = 0;
  }
  // Hold back a trailing character that the piece does not finish.
  size_t end = piece.size();
  size_t lead = end;
  while (lead > i && end - lead < 3 && is_continuation(piece[lead - 1])) --lead;
  if (lead > i) {
    --lead;  // the byte before the trailing continuation bytes
    const size_t len = sequence_length(piece[lead]);
    if (len > end - lead) {
      held_ = end - lead;
      need_ = len;
      std::copy(piece.data() + lead, piece.data() + end, buf_);
      end = lead;
    }
  }
  step.body = piece.substr(i, end - i);
  return step;
}

std::string_view Utf8Assembler::flush() {
  std::copy(buf_, buf_ + held_, out_);
  const std::string_view rest(out_, held_);
  held_ = 0;
  return rest;
}

}  // namespace detail

Result<std::unique_ptr<Generator>> Generator::create(Session& session, const Tokenizer& tokenizer, Sampler& sampler,
                                                     const GenerateOptions& options) {
  if (tokenizer.n_vocab() != session.n_vocab())
    return invalid_argument("generate: the tokenizer has " + std::to_string(tokenizer.n_vocab()) +
                            " tokens but the model has " + std::to_string(session.n_vocab()));
  if (sampler.n_vocab() != session.n_vocab())
    return invalid_argument("generate: the sampler was made for " + std::to_string(sampler.n_vocab()) +
                            " tokens but the model has " + std::to_string(session.n_vocab()));
  LOCI_ASSIGN_OR_RETURN(StopMatcher stop, StopMatcher::create(options.stop));
  std::unique_ptr<Generator> g(new (std::nothrow) Generator(session, tokenizer, sampler, options, std::move(stop)));
  if (!g) return out_of_memory("generator");
  g->strip_space_ = options.strip_leading_space && tokenizer.adds_space_prefix();
  return g;
}

bool Generator::emit(std::string_view text) {
  if (text.empty() || cancelled_) return !cancelled_;
  if (on_text_ && !on_text_(user_, text.data(), text.size())) cancelled_ = true;
  return !cancelled_;
}

bool Generator::pass(std::string_view text) {
  if (text.empty()) return true;
  const StopMatcher::Step s = stop_.feed(text);
  if (!emit(s.held) || !emit(s.piece)) return false;
  if (s.stopped) stop_index_ = s.stop_index;
  return !s.stopped;
}

bool Generator::show(std::string_view piece) {
  if (at_start_ && !piece.empty()) {
    at_start_ = false;
    if (strip_space_ && piece.front() == ' ')
      piece.remove_prefix(1);
  }
  const detail::Utf8Assembler::Step u = utf8_.feed(piece);
  return pass(u.head) && pass(u.body);
}

void Generator::finish() {
  if (stop_.stopped() || cancelled_) return;
  if (!pass(utf8_.flush())) return;
  emit(stop_.flush());
}

Result<GenerateResult> Generator::run(const int32_t* prompt, size_t n, TextCallback on_text, void* user) {
  using Clock = std::chrono::steady_clock;
  on_text_ = on_text;
  user_ = user;
  cancelled_ = false;
  at_start_ = true;
  stop_index_ = -1;
  stop_.reset();
  utf8_.reset();

  GenerateResult r;
  r.prompt_tokens = n;
  const Clock::time_point t_prefill = Clock::now();
  if (n > 0) {
    const Status s = session_.eval(prompt, n);
    if (s.code() == StatusCode::kCancelled) {
      r.stop_reason = StopReason::kCancelled;
      r.prefill_seconds = seconds_since(t_prefill);
      return r;
    }
    LOCI_RETURN_IF_ERROR(s);
    if (options_.penalize_prompt)
      for (size_t i = 0; i < n; ++i) sampler_.accept(prompt[i]);
  }
  r.prefill_seconds = seconds_since(t_prefill);
  if (!session_.logits()) return invalid_argument("generate: no logits to sample from: evaluate a prompt first");

  const Clock::time_point t_decode = Clock::now();
  const size_t max_tokens = options_.max_tokens < 0 ? SIZE_MAX : size_t(options_.max_tokens);
  while (r.stop_reason == StopReason::kNone) {
    if (r.generated_tokens >= max_tokens) {
      r.stop_reason = StopReason::kMaxTokens;
      break;
    }
    LOCI_ASSIGN_OR_RETURN(const int32_t token, sampler_.sample(session_.logits()));
    sampler_.accept(token);
    r.last_token = token;
    if (options_.stop_at_eog && tokenizer_.is_eog(token)) {
      r.stop_reason = StopReason::kEndOfGeneration;
      break;
    }
    LOCI_ASSIGN_OR_RETURN(const std::string_view piece, tokenizer_.piece(token, options_.special));
    ++r.generated_tokens;
    if (!show(piece)) {
      r.stop_reason = cancelled_ ? StopReason::kCancelled : StopReason::kStopString;
      break;
    }
    // The last token is not evaluated: nothing would read its logits.
    if (r.generated_tokens >= max_tokens) continue;
    if (session_.position() >= session_.n_ctx()) {
      r.stop_reason = StopReason::kContextFull;
      break;
    }
    const Status s = session_.eval(&token, 1);
    if (s.code() == StatusCode::kCancelled) {
      r.stop_reason = StopReason::kCancelled;
      break;
    }
    LOCI_RETURN_IF_ERROR(s);
  }
  finish();
  if (r.stop_reason == StopReason::kStopString) r.stop_index = stop_index_;
  r.decode_seconds = seconds_since(t_decode);
  on_text_ = nullptr;
  user_ = nullptr;
  return r;
}

Result<GenerateResult> generate(Session& session, const Tokenizer& tokenizer, Sampler& sampler, const int32_t* prompt,
                                size_t n, const GenerateOptions& options, TextCallback on_text, void* user) {
  return detail::bad_alloc_as_status("generate", [&]() -> Result<GenerateResult> {
    LOCI_ASSIGN_OR_RETURN(std::unique_ptr<Generator> g, Generator::create(session, tokenizer, sampler, options));
    return g->run(prompt, n, on_text, user);
  });
}

}  // namespace loci
