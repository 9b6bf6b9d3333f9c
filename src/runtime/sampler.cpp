// Sampler: llama.cpp's default chain over a preallocated candidate array.
#include "loci/sampler.h"

#include <algorithm>
#include <cfloat>
#include <cmath>
#include <limits>
#include <new>
#include <string>

namespace loci {
namespace {

constexpr float kNegInf = -std::numeric_limits<float>::infinity();

// The candidate order everywhere: larger logit first, lower id on ties, so
// every sort and selection is deterministic.
bool better(const SamplerCandidate& a, const SamplerCandidate& b) {
  return a.logit > b.logit || (a.logit == b.logit && a.id < b.id);
}

// NaN is -inf; +inf is the largest float, so softmax stays defined.
float sanitize(float x) {
  if (std::isnan(x)) return kNegInf;
  if (x > FLT_MAX) return FLT_MAX;
  return x;
}

uint64_t splitmix64(uint64_t* state) {
  uint64_t z = (*state += 0x9E3779B97F4A7C15ull);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

uint64_t rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }

// xoshiro256**: fixed arithmetic, so the same seed draws the same numbers
// everywhere (std distributions are implementation-defined).
uint64_t xoshiro_next(uint64_t s[4]) {
  const uint64_t result = rotl(s[1] * 5, 7) * 9;
  const uint64_t t = s[1] << 17;
  s[2] ^= s[0];
  s[3] ^= s[1];
  s[1] ^= s[2];
  s[0] ^= s[3];
  s[2] ^= t;
  s[3] = rotl(s[3], 45);
  return result;
}

void seed_rng(uint64_t seed, uint64_t s[4]) {
  uint64_t state = seed;
  for (int i = 0; i < 4; ++i) s[i] = splitmix64(&state);
}

Status validate(const SamplerParams& p, size_t n_vocab) {
  auto bad = [](const char* what, double v) {
    return invalid_argument(std::string("sampler: ") + what + " " + std::to_string(v));
  };
  if (n_vocab == 0) return invalid_argument("sampler: n_vocab is 0");
  if (n_vocab > size_t(std::numeric_limits<int32_t>::max()))
    return invalid_argument("sampler: n_vocab " + std::to_string(n_vocab) + " exceeds int32 ids");
  if (!std::isfinite(p.temperature)) return bad("temperature must be finite, got", p.temperature);
  if (!(p.top_p > 0.0f && p.top_p <= 1.0f)) return bad("top_p must be in (0, 1], got", p.top_p);
  if (!(p.min_p >= 0.0f && p.min_p <= 1.0f)) return bad("min_p must be in [0, 1], got", p.min_p);
  if (!(std::isfinite(p.repeat_penalty) && p.repeat_penalty > 0.0f))
    return bad("repeat_penalty must be finite and > 0, got", p.repeat_penalty);
  if (!std::isfinite(p.frequency_penalty)) return bad("frequency_penalty must be finite, got", p.frequency_penalty);
  if (!std::isfinite(p.presence_penalty)) return bad("presence_penalty must be finite, got", p.presence_penalty);
  if (p.repeat_last_n < 0 || p.repeat_last_n > Sampler::kMaxRepeatLastN)
    return bad("repeat_last_n must be in [0, 1 << 20], got", p.repeat_last_n);
  return Status::ok();
}

}  // namespace

Result<std::unique_ptr<Sampler>> Sampler::create(const SamplerParams& params, size_t n_vocab) {
  LOCI_RETURN_IF_ERROR(validate(params, n_vocab));
  std::unique_ptr<Sampler> s(new (std::nothrow) Sampler(params, n_vocab));
  if (!s) return out_of_memory("sampler: allocating the sampler");
  if (!s->cand_.allocate(n_vocab) || !s->weight_.allocate(n_vocab) || !s->count_.allocate(n_vocab, 0) ||
      !s->history_.allocate(size_t(params.repeat_last_n), -1))
    return out_of_memory("sampler: buffers for " + std::to_string(n_vocab) + " tokens");
  s->reset();
  return s;
}

void Sampler::reset() {
  std::fill(count_.begin(), count_.end(), 0u);
  history_next_ = 0;
  history_size_ = 0;
  n_cand_ = 0;
  n_sorted_ = 0;
  seed_rng(params_.seed, rng_);
}

void Sampler::accept(int32_t token) {
  if (token < 0 || size_t(token) >= n_vocab_ || history_.empty()) return;
  if (history_size_ == history_.size()) {
    --count_[size_t(history_[history_next_])];  // the oldest token leaves the window
  } else {
    ++history_size_;
  }
  history_[history_next_] = token;
  ++count_[size_t(token)];
  history_next_ = (history_next_ + 1) % history_.size();
}

// Copies the logits into the candidate array, applying the penalties on the
// way, and finds the best one in the same pass.
size_t Sampler::load_candidates(const float* logits) {
  const SamplerParams& p = params_;
  const bool penalize = history_size_ > 0 &&
                        (p.repeat_penalty != 1.0f || p.frequency_penalty != 0.0f || p.presence_penalty != 0.0f);
  size_t best = 0;
  for (size_t i = 0; i < n_vocab_; ++i) {
    float l = sanitize(logits[i]);
    const uint32_t count = penalize ? count_[i] : 0;
    if (count > 0) {
      // As llama.cpp: the repeat penalty pushes a logit toward "less likely"
      // whatever its sign, then frequency and presence subtract.
      l = l <= 0.0f ? l * p.repeat_penalty : l / p.repeat_penalty;
      l -= float(count) * p.frequency_penalty + p.presence_penalty;
      l = sanitize(l);
    }
    cand_[i] = SamplerCandidate{l, int32_t(i)};
    if (l > cand_[best].logit) best = i;  // strict: the lowest id keeps a tie
  }
  n_cand_ = n_vocab_;
  n_sorted_ = 0;
  return best;
}

// Makes cand_[0, n) the n best live candidates, sorted; no allocation.
void Sampler::sort_prefix(size_t n) {
  n = std::min(n, n_cand_);
  if (n <= n_sorted_) return;
  auto first = cand_.begin() + std::ptrdiff_t(n_sorted_);
  auto mid = cand_.begin() + std::ptrdiff_t(n);
  auto last = cand_.begin() + std::ptrdiff_t(n_cand_);
  if ((last - first) > 8 * (mid - first)) {
    // A few out of many: partial_sort's heap rejects most with one compare.
    std::partial_sort(first, mid, last, better);
  } else {
    if (mid != last) std::nth_element(first, mid, last, better);
    std::sort(first, mid, better);
  }
  n_sorted_ = n;
}

void Sampler::apply_top_k() {
  const int32_t k = params_.top_k;
  if (k <= 0 || size_t(k) >= n_cand_) return;
  sort_prefix(size_t(k));
  n_cand_ = size_t(k);
}

// top_p keeps the fewest best candidates whose probabilities sum to at least
// top_p; then min_p keeps those with p >= min_p * p_max, i.e. logit >= max +
// log(min_p). Each keeps a prefix of the sorted order and min_p's threshold
// does not depend on top_p's cut, so cutting min_p first and only then walking
// top_p (normalized over the candidates before either cut) gives llama.cpp's
// result while sorting only what survives min_p.
void Sampler::apply_top_p_min_p() {
  const bool use_top_p = params_.top_p < 1.0f;
  const bool use_min_p = params_.min_p > 0.0f;
  if (n_cand_ <= 1 || (!use_top_p && !use_min_p)) return;
  sort_prefix(1);
  const float max_logit = cand_[0].logit;
  double sum = 0.0;
  if (use_top_p) {
    for (size_t i = 0; i < n_cand_; ++i) sum += std::exp(cand_[i].logit - max_logit);
  }
  if (use_min_p) {
    const float threshold = max_logit + std::log(params_.min_p);
    // Order-preserving compaction: a sorted prefix stays sorted, and since it
    // beats the unsorted rest, whatever of it survives is still the best.
    size_t kept = 0;
    for (size_t i = 0; i < n_cand_; ++i) {
      if (cand_[i].logit >= threshold) cand_[kept++] = cand_[i];
    }
    n_cand_ = std::max<size_t>(kept, 1);  // the best always passes; guards rounding
    n_sorted_ = std::min(n_sorted_, n_cand_);
  }
  if (use_top_p) {
    const double p = params_.top_p;
    double cum = 0.0;
    size_t keep = 0;
    while (keep < n_cand_) {
      // Sort only as far as the walk needs, growing geometrically.
      if (keep == n_sorted_) sort_prefix(std::max<size_t>(64, 2 * n_sorted_));
      cum += std::exp(cand_[keep].logit - max_logit) / sum;
      ++keep;
      if (cum >= p) break;
    }
    n_cand_ = keep;
    n_sorted_ = std::min(n_sorted_, n_cand_);
  }
}

double Sampler::next_uniform() {
  return double(xoshiro_next(rng_) >> 11) * 0x1.0p-53;  // 53 random bits in [0, 1)
}

// Draws from softmax(logit / temperature) over the live candidates.
int32_t Sampler::draw() {
  float max_logit = kNegInf;
  for (size_t i = 0; i < n_cand_; ++i) max_logit = std::max(max_logit, cand_[i].logit);
  const float inv_t = 1.0f / params_.temperature;
  double sum = 0.0;
  for (size_t i = 0; i < n_cand_; ++i) {
    const float d = cand_[i].logit - max_logit;
    // d == 0 is weight 1 even when a tiny temperature makes inv_t infinite.
    const float w = d == 0.0f ? 1.0f : std::exp(d * inv_t);
    weight_[i] = w;
    sum += w;
  }
  const double target = next_uniform() * sum;
  double cum = 0.0;
  size_t last_positive = 0;
  for (size_t i = 0; i < n_cand_; ++i) {
    if (weight_[i] <= 0.0f) continue;
    cum += weight_[i];
    last_positive = i;
    if (target < cum) return cand_[i].id;
  }
  return cand_[last_positive].id;  // rounding left target at the very top
}

Result<int32_t> Sampler::sample(const float* logits) {
  if (logits == nullptr) return invalid_argument("sampler: logits is null");
  const SamplerCandidate best = cand_[load_candidates(logits)];
  if (best.logit == kNegInf) return invalid_argument("sampler: every logit is -inf or NaN");
  if (params_.temperature <= 0.0f) {
    cand_[0] = best;
    n_cand_ = 1;
    n_sorted_ = 1;
    return best.id;
  }
  apply_top_k();
  apply_top_p_min_p();
  return draw();
}

// ---------------------------------------------------------------------------
// StopMatcher

Result<StopMatcher> StopMatcher::create(const std::vector<std::string>& stops) {
  StopMatcher m;
  for (size_t i = 0; i < stops.size(); ++i) {
    if (stops[i].empty()) return invalid_argument("stop string " + std::to_string(i) + " is empty");
    m.max_len_ = std::max(m.max_len_, stops[i].size());
  }
  try {
    m.stops_ = stops;
    m.buf_[0].assign(m.max_len_, '\0');
    m.buf_[1].assign(m.max_len_, '\0');
  } catch (const std::bad_alloc&) {
    return out_of_memory("stop strings");
  }
  return m;
}

void StopMatcher::reset() {
  held_size_ = 0;
  stopped_ = false;
}

char StopMatcher::at(std::string_view piece, size_t i) const {
  return i < held_size_ ? buf_[cur_][i] : piece[i - held_size_];
}

bool StopMatcher::matches_at(std::string_view piece, size_t pos, const std::string& stop) const {
  if (pos + stop.size() > held_size_ + piece.size()) return false;
  for (size_t j = 0; j < stop.size(); ++j) {
    if (at(piece, pos + j) != stop[j]) return false;
  }
  return true;
}

size_t StopMatcher::find_stop(std::string_view piece, int32_t* which) const {
  size_t best = std::string_view::npos;
  size_t best_end = 0;
  for (size_t s = 0; s < stops_.size(); ++s) {
    const std::string& stop = stops_[s];
    size_t found = std::string_view::npos;
    // Starts inside the held bytes straddle the join: compare byte by byte.
    for (size_t pos = 0; pos < held_size_; ++pos) {
      if (matches_at(piece, pos, stop)) {
        found = pos;
        break;
      }
    }
    if (found == std::string_view::npos) {
      const size_t in_piece = piece.find(stop);
      if (in_piece != std::string_view::npos) found = held_size_ + in_piece;
    }
    if (found == std::string_view::npos) continue;
    // The stop that completes first wins (the longer one on a tie), so the
    // answer does not depend on how the text was split into pieces.
    const size_t end = found + stop.size();
    if (best == std::string_view::npos || end < best_end || (end == best_end && found < best)) {
      best = found;
      best_end = end;
      *which = int32_t(s);
    }
  }
  return best;
}

size_t StopMatcher::partial_suffix(std::string_view piece) const {
  const size_t total = held_size_ + piece.size();
  const size_t longest = std::min(total, max_len_ == 0 ? 0 : max_len_ - 1);
  for (size_t len = longest; len > 0; --len) {
    const size_t from = total - len;
    for (const std::string& stop : stops_) {
      if (stop.size() <= len) continue;  // a whole match was already ruled out
      size_t j = 0;
      while (j < len && at(piece, from + j) == stop[j]) ++j;
      if (j == len) return len;
    }
  }
  return 0;
}

void StopMatcher::keep_tail(std::string_view piece, size_t from) {
  const size_t total = held_size_ + piece.size();
  std::string& next = buf_[1 - cur_];
  for (size_t i = from; i < total; ++i) next[i - from] = at(piece, i);
  held_size_ = total - from;
  cur_ = 1 - cur_;
}

StopMatcher::Step StopMatcher::feed(std::string_view piece) {
  Step step;
  if (stopped_) return step;
  // Views of what is released; split at the join of held and piece.
  auto release = [&](size_t n) {
    const std::string_view held(buf_[cur_].data(), held_size_);
    step.held = held.substr(0, std::min(n, held_size_));
    step.piece = piece.substr(0, n > held_size_ ? n - held_size_ : 0);
  };
  int32_t which = -1;
  const size_t stop_at = find_stop(piece, &which);
  if (stop_at != std::string_view::npos) {
    release(stop_at);
    step.stopped = true;
    step.stop_index = which;
    stopped_ = true;
    held_size_ = 0;
    return step;
  }
  const size_t total = held_size_ + piece.size();
  const size_t safe = total - partial_suffix(piece);
  release(safe);
  keep_tail(piece, safe);
  return step;
}

std::string_view StopMatcher::flush() {
  const std::string_view held(buf_[cur_].data(), held_size_);
  held_size_ = 0;
  return held;
}

}  // namespace loci
