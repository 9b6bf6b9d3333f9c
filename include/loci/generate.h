// The streaming generation loop: sample a token, show its text, evaluate it,
// repeat. Text reaches the caller through a callback in pieces that are whole
// UTF-8 characters and never contain (or run past) a stop string.
//
//   Generator::create(session, tokenizer, sampler, options)   // allocates
//   generator->run(prompt, n, on_text, user)                 // does not, per token
//
// Everything a run needs per token is sized in create(): the stop-string
// matcher, the UTF-8 assembler, and (in the session and sampler) the KV cache,
// activations and candidate arrays. A Generator can run many times (one per
// chat turn, say) without allocating again.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "loci/model.h"
#include "loci/sampler.h"
#include "loci/status.h"
#include "loci/tokenizer.h"

namespace loci {

enum class StopReason : int32_t {
  kNone = 0,
  kEndOfGeneration = 1,  // the model sampled an end-of-generation token (EOS, EOT, ...)
  kMaxTokens = 2,        // GenerateOptions::max_tokens were generated
  kStopString = 3,       // a stop string appeared in the text
  kContextFull = 4,      // the session's context has no room for another token
  kCancelled = 5,        // the text callback returned false, or the session's cancel hook fired
};
const char* stop_reason_name(StopReason r);  // "eog", "max_tokens", "stop_string", ...

// Receives `len` bytes of generated text (never zero). Return false to stop.
using TextCallback = bool (*)(void* user, const char* text, size_t len);

struct GenerateOptions {
  int32_t max_tokens = -1;         // tokens to generate; < 0: until another reason stops it
  std::vector<std::string> stop;   // stop strings: text stops right before the first to appear
  bool stop_at_eog = true;         // false: an EOG token is shown (as "" unless `special`) and generation goes on
  bool special = false;            // show control tokens' text ("</s>", "<|im_end|>", ...)
  // SPM vocabularies that prefix the text with a space when encoding mark
  // word starts with one, so text generated right after BOS begins with a
  // space. Set this when nothing precedes the generated text (an empty
  // prompt) to strip it from the first piece, as sentencepiece's decoder and
  // llama2.c do. Ignored for vocabularies that add no prefix (BPE).
  bool strip_leading_space = false;
  bool penalize_prompt = true;     // the prompt's tokens count in the sampler's repeat penalties
};

// Why a run stopped, and what it cost.
struct GenerateResult {
  StopReason stop_reason = StopReason::kNone;
  int32_t stop_index = -1;     // which stop string, for kStopString
  // The last token sampled. It is not evaluated (the session ends just
  // before it): evaluate it to continue from where the text left off.
  int32_t last_token = -1;
  size_t prompt_tokens = 0;     // tokens evaluated before the first sample
  size_t generated_tokens = 0;  // tokens sampled and shown (an EOG token that stopped the run is not counted)
  double prefill_seconds = 0.0;  // evaluating the prompt
  double decode_seconds = 0.0;   // everything after: sampling, evaluating, the callback
  double prefill_tokens_per_second() const { return prefill_seconds > 0 ? prompt_tokens / prefill_seconds : 0.0; }
  double decode_tokens_per_second() const { return decode_seconds > 0 ? generated_tokens / decode_seconds : 0.0; }
};

namespace detail {

// Cuts a byte stream at UTF-8 character boundaries: a multi-byte character
// whose bytes arrive in different pieces (byte tokens) is held until it is
// complete. Bytes that cannot be part of a valid character pass through
// unchanged, so the output bytes always equal the input bytes.
class Utf8Assembler {
 public:
  // What one feed() releases: `head` (a held character, now complete or
  // proven broken) then `body` (a slice of the fed piece). `head` is valid
  // until the next call.
  struct Step {
    std::string_view head;
    std::string_view body;
  };
  Step feed(std::string_view piece);
  // End of the stream: whatever is held, complete or not.
  std::string_view flush();
  void reset() { held_ = 0; }
  size_t held() const { return held_; }

 private:
  char buf_[4] = {};
  char out_[4] = {};
  size_t held_ = 0;  // bytes in buf_
  size_t need_ = 0;  // the held character's full length
};

}  // namespace detail

class Generator {
 public:
  // The session, tokenizer and sampler must outlive the generator; their
  // vocabularies must have the same size. Refuses an empty stop string.
  static Result<std::unique_ptr<Generator>> create(Session& session, const Tokenizer& tokenizer, Sampler& sampler,
                                                   const GenerateOptions& options);

  // Evaluates `prompt` (n may be 0 when the session already holds logits),
  // then generates until a StopReason applies. Errors (a bad token, a prompt
  // longer than the context, no logits) come back as a Status; stopping for
  // any StopReason is success. The sampler keeps its penalty history and
  // random state from earlier runs: reset() it for a fresh start.
  Result<GenerateResult> run(const int32_t* prompt, size_t n, TextCallback on_text, void* user);

  const GenerateOptions& options() const { return options_; }

 private:
  Generator(Session& session, const Tokenizer& tokenizer, Sampler& sampler, const GenerateOptions& options,
            StopMatcher stop)
      : session_(session), tokenizer_(tokenizer), sampler_(sampler), options_(options), stop_(std::move(stop)) {}

  // Sends text through the stop matcher to the callback. False: stop now
  // (a stop string completed, or the callback said so).
  bool pass(std::string_view text);
  bool emit(std::string_view text);
  // Shows one token's text. False: stop now.
  bool show(std::string_view piece);
  // Releases what is still held at the end of a run.
  void finish();

  Session& session_;
  const Tokenizer& tokenizer_;
  Sampler& sampler_;
  GenerateOptions options_;
  StopMatcher stop_;
  detail::Utf8Assembler utf8_;
  TextCallback on_text_ = nullptr;
  void* user_ = nullptr;
  bool cancelled_ = false;
  bool at_start_ = true;
  bool strip_space_ = false;  // strip_leading_space, and the tokenizer adds a space prefix
  int32_t stop_index_ = -1;
};

// One run with a throwaway Generator.
Result<GenerateResult> generate(Session& session, const Tokenizer& tokenizer, Sampler& sampler, const int32_t* prompt,
                                size_t n, const GenerateOptions& options, TextCallback on_text, void* user);

}  // namespace loci
