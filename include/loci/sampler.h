// Choosing the next token from logits, and spotting stop strings in the text
// as it streams.
//
// Sampler follows llama.cpp's default sampler chain:
//   penalties -> top_k -> top_p -> min_p -> temperature -> draw from softmax
// so top_p and min_p see the untempered distribution, as in llama.cpp. A
// temperature <= 0 is greedy: the argmax of the penalized logits, lowest id on
// ties (llama.cpp's --temp 0). The random draw uses loci's own generator, so a
// seed gives the same tokens on every platform (not llama.cpp's tokens).
//
// Memory is planned once: create() allocates every buffer, and sample(),
// accept() and reset() never touch the heap.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "loci/heap.h"
#include "loci/status.h"

namespace loci {

struct SamplerParams {
  // The seed used when none is given, so runs are reproducible by default.
  // Pass a fresh seed for varied output.
  static constexpr uint64_t kDefaultSeed = 0x10C1'5EED'0000'0001ull;

  float temperature = 0.8f;      // <= 0: greedy argmax
  int32_t top_k = 40;            // <= 0: off
  float top_p = 0.95f;           // in (0, 1]; 1: off
  float min_p = 0.05f;           // in [0, 1]; 0: off. Keeps p >= min_p * p_max
  float repeat_penalty = 1.0f;   // > 0; 1: off. Divides positive logits, multiplies negative ones
  int32_t repeat_last_n = 64;    // tokens of history the penalties see; 0: off. Pass n_ctx for "all"
  float frequency_penalty = 0.0f;  // subtracted once per occurrence; 0: off
  float presence_penalty = 0.0f;   // subtracted once if present at all; 0: off
  uint64_t seed = kDefaultSeed;

  // Greedy decoding with no penalties: what the golden tests use.
  static SamplerParams greedy() {
    SamplerParams p;
    p.temperature = 0.0f;
    return p;
  }
};

// One surviving candidate of the last sample() call.
struct SamplerCandidate {
  float logit;  // after penalties, before temperature
  int32_t id;
};

class Sampler {
 public:
  // The largest repeat_last_n accepted (a history ring of this many tokens).
  static constexpr int32_t kMaxRepeatLastN = 1 << 20;

  // Validates params (NaN or infinite values, top_p outside (0, 1], min_p
  // outside [0, 1], repeat_penalty <= 0, negative repeat_last_n, n_vocab 0
  // are kInvalidArgument) and allocates every buffer.
  static Result<std::unique_ptr<Sampler>> create(const SamplerParams& params, size_t n_vocab);

  // Picks a token from n_vocab logits (read, not modified). NaN counts as
  // -inf and +inf as the largest float. kInvalidArgument when no logit is
  // above -inf. Does not record the token: call accept() for that.
  Result<int32_t> sample(const float* logits);

  // Adds a token to the penalty history (the prompt's tokens too, if they
  // should count). Ids outside [0, n_vocab) are ignored.
  void accept(int32_t token);

  // Clears the history and restarts the random generator from the seed.
  void reset();

  // The candidates that survived the filters in the last sample() call, in
  // the order the draw walked them (a greedy pick leaves just the winner).
  // Valid until the next sample().
  const SamplerCandidate* candidates() const { return cand_.data(); }
  size_t candidate_count() const { return n_cand_; }

  const SamplerParams& params() const { return params_; }
  size_t n_vocab() const { return n_vocab_; }

 private:
  Sampler(const SamplerParams& params, size_t n_vocab) : params_(params), n_vocab_(n_vocab) {}

  // Fills cand_ in id order; returns the index of the best candidate.
  size_t load_candidates(const float* logits);
  void sort_prefix(size_t n);
  void apply_top_k();
  void apply_top_p_min_p();
  int32_t draw();
  double next_uniform();

  SamplerParams params_;
  size_t n_vocab_ = 0;
  // Buffers sized from the vocabulary come through the heap hooks.
  HeapArray<SamplerCandidate> cand_;  // n_vocab; the first n_cand_ are live
  size_t n_cand_ = 0;
  size_t n_sorted_ = 0;                 // cand_[0, n_sorted_) is sorted, best first, and beats the rest
  HeapArray<float> weight_;           // n_vocab: softmax weights for the draw
  HeapArray<int32_t> history_;        // ring of the last repeat_last_n accepted tokens
  size_t history_next_ = 0;
  size_t history_size_ = 0;
  HeapArray<uint32_t> count_;         // n_vocab: occurrences of each id in the ring
  uint64_t rng_[4] = {};
};

// Watches streamed text for stop strings. Feed each decoded piece; the result
// says which bytes are safe to show now. Bytes that could be the start of a
// stop string are held back until the next piece settles them; when a stop
// string completes, everything before it is released and nothing after.
// Allocates only in create().
class StopMatcher {
 public:
  // What one feed() releases: `held` (bytes held back earlier) then `piece`
  // (a prefix of the piece just fed). Both stay valid until the next feed()
  // or flush(); `piece` also needs the caller's piece to stay alive.
  struct Step {
    std::string_view held;
    std::string_view piece;
    bool stopped = false;     // a stop string completed right after the released bytes
    int32_t stop_index = -1;  // which one, when stopped
    size_t size() const { return held.size() + piece.size(); }
  };

  // Refuses empty stop strings. No stop strings at all is fine: every byte
  // passes straight through.
  static Result<StopMatcher> create(const std::vector<std::string>& stops);

  // Appends a piece. After a stop, further pieces release nothing.
  Step feed(std::string_view piece);
  // End of generation: releases whatever is still held back.
  std::string_view flush();
  // Forgets the held bytes and the stopped state.
  void reset();

  bool stopped() const { return stopped_; }
  // The longest stop string, so the most bytes ever held is one less.
  size_t max_stop_size() const { return max_len_; }

 private:
  StopMatcher() = default;

  // A byte of held_ + piece, without joining them.
  char at(std::string_view piece, size_t i) const;
  bool matches_at(std::string_view piece, size_t pos, const std::string& stop) const;
  // Start of the first stop string to complete in held_ + piece, or npos.
  size_t find_stop(std::string_view piece, int32_t* which) const;
  // Length of the longest suffix of held_ + piece that begins some stop string.
  size_t partial_suffix(std::string_view piece) const;
  // Keeps bytes [from, total) of held_ + piece as the new held text.
  void keep_tail(std::string_view piece, size_t from);

  std::vector<std::string> stops_;
  size_t max_len_ = 0;
  // Two buffers, so a released view of the old held text survives while the
  // new one is written. Each has room for max_len_ bytes.
  std::string buf_[2];
  int cur_ = 0;
  size_t held_size_ = 0;
  bool stopped_ = false;
};

}  // namespace loci
