// Sampler and StopMatcher. Expected answers come from hand-made logits or
// from the test's own softmax, never from the sampler itself. sample() and
// accept() promise not to allocate; the runtime's allocation test checks it.
#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>
#include <set>
#include <string>
#include <vector>

#include "loci/sampler.h"
#include "support/test_support.h"

using namespace loci;

namespace {

// Parameters with every filter off, so a test turns on only what it checks.
SamplerParams plain(float temperature, uint64_t seed = 1) {
  SamplerParams p;
  p.temperature = temperature;
  p.top_k = 0;
  p.top_p = 1.0f;
  p.min_p = 0.0f;
  p.seed = seed;
  return p;
}

std::unique_ptr<Sampler> make(const SamplerParams& p, size_t n_vocab) {
  auto r = Sampler::create(p, n_vocab);
  REQUIRE(r.is_ok());
  return std::move(r).value();
}

int32_t sample_ok(Sampler& s, const std::vector<float>& logits) {
  auto r = s.sample(logits.data());
  REQUIRE(r.is_ok());
  REQUIRE(r.value() >= 0);
  REQUIRE(size_t(r.value()) < logits.size());
  return r.value();
}

std::set<int32_t> candidate_ids(const Sampler& s) {
  std::set<int32_t> ids;
  for (size_t i = 0; i < s.candidate_count(); ++i) ids.insert(s.candidates()[i].id);
  return ids;
}

// The test's own softmax, in double.
std::vector<double> softmax(const std::vector<float>& logits, double temperature) {
  const double mx = *std::max_element(logits.begin(), logits.end());
  std::vector<double> p(logits.size());
  double sum = 0.0;
  for (size_t i = 0; i < logits.size(); ++i) sum += p[i] = std::exp((logits[i] - mx) / temperature);
  for (double& x : p) x /= sum;
  return p;
}

// Logits log(p) for the given probabilities.
std::vector<float> log_probs(const std::vector<double>& p) {
  std::vector<float> l(p.size());
  for (size_t i = 0; i < p.size(); ++i) l[i] = float(std::log(p[i]));
  return l;
}

// Hoeffding with a union bound: every empirical frequency of `draws` samples
// is within the returned distance of its probability, except with
// probability below 1e-6.
double deviation_bound(size_t n_tokens, size_t draws) {
  return std::sqrt(std::log(2.0 * double(n_tokens) / 1e-6) / (2.0 * double(draws)));
}

}  // namespace

TEST_CASE("sampler refuses invalid parameters", "[sampler]") {
  const float nan = std::numeric_limits<float>::quiet_NaN();
  const float inf = std::numeric_limits<float>::infinity();
  auto refused = [](SamplerParams p, size_t n_vocab = 10) {
    auto r = Sampler::create(p, n_vocab);
    return !r.is_ok() && r.status().code() == StatusCode::kInvalidArgument;
  };
  SamplerParams p;
  CHECK_FALSE(refused(p));
  CHECK(refused(p, 0));
  p = {}; p.temperature = nan; CHECK(refused(p));
  p = {}; p.temperature = inf; CHECK(refused(p));
  p = {}; p.top_p = 0.0f; CHECK(refused(p));
  p = {}; p.top_p = 1.5f; CHECK(refused(p));
  p = {}; p.top_p = nan; CHECK(refused(p));
  p = {}; p.min_p = -0.1f; CHECK(refused(p));
  p = {}; p.min_p = 1.1f; CHECK(refused(p));
  p = {}; p.min_p = nan; CHECK(refused(p));
  p = {}; p.repeat_penalty = 0.0f; CHECK(refused(p));
  p = {}; p.repeat_penalty = -1.0f; CHECK(refused(p));
  p = {}; p.repeat_penalty = nan; CHECK(refused(p));
  p = {}; p.repeat_last_n = -1; CHECK(refused(p));
  p = {}; p.frequency_penalty = nan; CHECK(refused(p));
  p = {}; p.presence_penalty = inf; CHECK(refused(p));
  // Meaningful edge values are accepted.
  p = {}; p.temperature = 0.0f; p.top_p = 1.0f; p.min_p = 1.0f; p.frequency_penalty = -0.5f;
  CHECK_FALSE(refused(p));
}

TEST_CASE("greedy sampling is the argmax, lowest id on ties", "[sampler]") {
  auto g = test::rng(101);
  const size_t n = 1000;
  auto s = make(SamplerParams::greedy(), n);
  for (int trial = 0; trial < 20; ++trial) {
    const std::vector<float> logits = test::random_floats(g, n, -5.0f, 5.0f);
    size_t want = 0;
    for (size_t i = 1; i < n; ++i) {
      if (logits[i] > logits[want]) want = i;
    }
    CHECK(sample_ok(*s, logits) == int32_t(want));
  }
  std::vector<float> tie(n, 0.0f);
  tie[700] = 3.0f;
  tie[123] = 3.0f;
  tie[999] = 3.0f;
  CHECK(sample_ok(*s, tie) == 123);
  // Greedy does not depend on the seed or the draw history.
  auto other = make([] { auto p = SamplerParams::greedy(); p.seed = 99; return p; }(), n);
  CHECK(sample_ok(*other, tie) == 123);
}

TEST_CASE("sampler treats NaN as -inf and +inf as the top", "[sampler]") {
  const float nan = std::numeric_limits<float>::quiet_NaN();
  const float inf = std::numeric_limits<float>::infinity();
  for (float temperature : {0.0f, 1.0f}) {
    SamplerParams p = plain(temperature);
    p.top_k = 3;
    p.top_p = 0.9f;
    p.min_p = 0.1f;
    auto s = make(p, 5);
    CHECK(sample_ok(*s, {nan, -1.0f, nan, -2.0f, nan}) == 1);
    CHECK(sample_ok(*s, {0.0f, inf, 1.0f, nan, 2.0f}) == 1);
    const std::vector<float> none = {nan, -inf, nan, -inf, nan};
    auto r = s->sample(none.data());
    REQUIRE_FALSE(r.is_ok());
    CHECK(r.status().code() == StatusCode::kInvalidArgument);
  }
}

TEST_CASE("the same seed draws the same tokens; another seed differs", "[sampler]") {
  auto g = test::rng(102);
  const size_t n = 64;
  const std::vector<float> logits = test::random_floats(g, n, -1.0f, 1.0f);
  auto run = [&](Sampler& s) {
    std::vector<int32_t> out;
    for (int i = 0; i < 200; ++i) out.push_back(sample_ok(s, logits));
    return out;
  };
  auto a = make(plain(1.0f, 7), n);
  auto b = make(plain(1.0f, 7), n);
  auto c = make(plain(1.0f, 8), n);
  const std::vector<int32_t> ta = run(*a);
  CHECK(ta == run(*b));
  CHECK(ta != run(*c));
  // reset() restarts the generator from the seed.
  a->reset();
  CHECK(ta == run(*a));
  // Not stuck on one token: near-uniform logits spread over many.
  CHECK(std::set<int32_t>(ta.begin(), ta.end()).size() > 20);
}

TEST_CASE("top_k = 1 is greedy at any temperature", "[sampler]") {
  auto g = test::rng(103);
  const size_t n = 500;
  for (float temperature : {0.05f, 1.0f, 5.0f, 1000.0f}) {
    SamplerParams p = plain(temperature, uint64_t(temperature * 100));
    p.top_k = 1;
    auto s = make(p, n);
    for (int trial = 0; trial < 10; ++trial) {
      std::vector<float> logits = test::random_floats(g, n, -1.0f, 1.0f);
      logits[size_t(trial) * 7] = 2.0f;  // a tie for the top, lowest id must win
      logits[size_t(trial) * 7 + 300] = 2.0f;
      CHECK(sample_ok(*s, logits) == trial * 7);
    }
  }
}

TEST_CASE("top_p keeps the fewest tokens reaching p, min_p those near the top", "[sampler]") {
  // Probabilities 1/2, 1/4, 1/8, ... placed at scattered ids.
  const std::vector<int32_t> order = {5, 0, 7, 2, 6, 1, 3, 4};
  std::vector<double> prob(8);
  double rest = 1.0;
  for (size_t r = 0; r < order.size(); ++r) {
    prob[size_t(order[r])] = r + 1 < order.size() ? rest / 2 : rest;
    rest -= prob[size_t(order[r])];
  }
  const std::vector<float> logits = log_probs(prob);
  auto ids = [&](size_t n_best) { return std::set<int32_t>(order.begin(), order.begin() + std::ptrdiff_t(n_best)); };

  SECTION("top_p") {
    // Cumulative 0.5, 0.75, 0.875, 0.9375: p = 0.8 needs three tokens.
    const std::vector<std::pair<float, int>> cases = {{0.8f, 3}, {0.4f, 1}, {0.6f, 2}, {0.9f, 4}, {1.0f, 8}};
    for (auto [p, n_best] : cases) {
      SamplerParams sp = plain(1.0f, 11);
      sp.top_p = p;
      auto s = make(sp, logits.size());
      std::set<int32_t> drawn;
      for (int i = 0; i < 2000; ++i) drawn.insert(sample_ok(*s, logits));
      CHECK(candidate_ids(*s) == ids(size_t(n_best)));
      CHECK(drawn == ids(size_t(n_best)));
    }
  }
  SECTION("min_p") {
    // p_max = 1/2: min_p = 0.2 keeps p >= 0.1, i.e. 1/2, 1/4, 1/8; 0.02
    // keeps p >= 0.01, down to 1/64.
    const std::vector<std::pair<float, int>> cases = {{0.2f, 3}, {0.9f, 1}, {0.4f, 2}, {0.02f, 6}};
    for (auto [m, n_best] : cases) {
      SamplerParams sp = plain(1.0f, 12);
      sp.min_p = m;
      auto s = make(sp, logits.size());
      std::set<int32_t> drawn;
      for (int i = 0; i < 2000; ++i) drawn.insert(sample_ok(*s, logits));
      CHECK(candidate_ids(*s) == ids(size_t(n_best)));
      CHECK(drawn == ids(size_t(n_best)));
    }
  }
  SECTION("top_k then top_p renormalizes over the k kept") {
    // Over the best two, probabilities are 2/3 and 1/3: top_p 0.6 keeps one.
    SamplerParams sp = plain(1.0f, 13);
    sp.top_k = 2;
    sp.top_p = 0.6f;
    auto s = make(sp, logits.size());
    (void)sample_ok(*s, logits);
    CHECK(candidate_ids(*s) == ids(1));
    // And 0.7 needs both.
    sp.top_p = 0.7f;
    s = make(sp, logits.size());
    (void)sample_ok(*s, logits);
    CHECK(candidate_ids(*s) == ids(2));
  }
  SECTION("top_p normalizes before min_p cuts") {
    // min_p 0.2 keeps 1/2, 1/4, 1/8. top_p 0.8 over all eight needs those
    // three too; renormalized over min_p's three (4/7, 2/7, 1/7) it would
    // need only two.
    SamplerParams sp = plain(1.0f, 15);
    sp.top_p = 0.8f;
    sp.min_p = 0.2f;
    auto s = make(sp, logits.size());
    (void)sample_ok(*s, logits);
    CHECK(candidate_ids(*s) == ids(3));
    // And each cut still applies when it is the tighter one.
    sp.top_p = 0.6f;
    s = make(sp, logits.size());
    (void)sample_ok(*s, logits);
    CHECK(candidate_ids(*s) == ids(2));
    sp.top_p = 0.95f;
    s = make(sp, logits.size());
    (void)sample_ok(*s, logits);
    CHECK(candidate_ids(*s) == ids(3));
  }
  SECTION("filters see the untempered distribution") {
    // At temperature 10 the tempered distribution is nearly flat, but top_p
    // still keeps three tokens as in llama.cpp's chain.
    SamplerParams sp = plain(10.0f, 14);
    sp.top_p = 0.8f;
    auto s = make(sp, logits.size());
    (void)sample_ok(*s, logits);
    CHECK(candidate_ids(*s) == ids(3));
  }
}

TEST_CASE("top_p over a large vocabulary keeps the right set", "[sampler]") {
  auto g = test::rng(104);
  const size_t n = 5000;
  for (double target : {0.3, 0.9, 0.99}) {
    const std::vector<float> logits = test::random_floats(g, n, -4.0f, 4.0f);
    const std::vector<double> prob = softmax(logits, 1.0);
    std::vector<size_t> idx(n);
    std::iota(idx.begin(), idx.end(), size_t(0));
    std::sort(idx.begin(), idx.end(), [&](size_t a, size_t b) { return prob[a] > prob[b]; });
    // Take the best tokens until the sum reaches target, then put p halfway
    // into the last one's share, so rounding cannot move the cut.
    std::set<int32_t> want;
    double cum = 0.0;
    for (size_t i : idx) {
      want.insert(int32_t(i));
      cum += prob[i];
      if (cum >= target) break;
    }
    const float p = float(cum - prob[idx[want.size() - 1]] / 2);
    SamplerParams sp = plain(1.0f, 15);
    sp.top_p = p;
    auto s = make(sp, n);
    const int32_t t = sample_ok(*s, logits);
    CHECK(candidate_ids(*s) == want);
    CHECK(want.count(t) == 1);
  }
}

TEST_CASE("repeat, frequency and presence penalties change exactly the penalized logits", "[sampler]") {
  auto g = test::rng(105);
  const size_t n = 50;
  const std::vector<float> logits = test::random_floats(g, n, -3.0f, 3.0f);
  SamplerParams p = plain(1.0f, 16);
  p.repeat_penalty = 1.3f;
  p.frequency_penalty = 0.25f;
  p.presence_penalty = 0.5f;
  p.repeat_last_n = 4;
  auto s = make(p, n);
  // Only the last four count: 9 drops out of the window.
  for (int32_t t : {9, 3, 7, 3, 11}) s->accept(t);
  s->accept(-1);           // ignored
  s->accept(int32_t(n));   // ignored
  std::vector<int> count(n, 0);
  for (int32_t t : {3, 7, 3, 11}) ++count[size_t(t)];

  (void)sample_ok(*s, logits);
  REQUIRE(s->candidate_count() == n);
  std::vector<float> got(n, std::nanf(""));
  for (size_t i = 0; i < n; ++i) got[size_t(s->candidates()[i].id)] = s->candidates()[i].logit;
  for (size_t i = 0; i < n; ++i) {
    INFO("token " << i << " count " << count[i]);
    if (count[i] == 0) {
      CHECK(got[i] == logits[i]);
    } else {
      const double scaled = logits[i] > 0 ? logits[i] / 1.3 : logits[i] * 1.3;
      const double want = scaled - count[i] * 0.25 - 0.5;
      CHECK(got[i] == Approx(want).margin(1e-5));
    }
  }
  // reset() forgets the history.
  s->reset();
  (void)sample_ok(*s, logits);
  for (size_t i = 0; i < n; ++i) CHECK(s->candidates()[i].logit == logits[size_t(s->candidates()[i].id)]);
}

TEST_CASE("penalties move the greedy choice as llama.cpp's semantics say", "[sampler]") {
  auto pick = [](SamplerParams p, const std::vector<float>& logits, const std::vector<int32_t>& history) {
    p.top_k = 1;
    p.temperature = 1.0f;
    auto s = make(p, logits.size());
    for (int32_t t : history) s->accept(t);
    return sample_ok(*s, logits);
  };
  SamplerParams p = plain(1.0f);
  p.repeat_penalty = 1.1f;
  // Positive logit: divided, 2.0 -> 1.82 falls below 1.9.
  CHECK(pick(p, {2.0f, 1.9f, 0.0f}, {}) == 0);
  CHECK(pick(p, {2.0f, 1.9f, 0.0f}, {0}) == 1);
  // Negative logit: multiplied, -1.0 -> -1.1 falls below -1.05 (dividing would raise it).
  CHECK(pick(p, {-1.0f, -1.05f, -3.0f}, {0}) == 1);
  // Repeats do not compound the repeat penalty: 2.0 / 1.1 once, still above 1.8.
  CHECK(pick(p, {2.0f, 1.8f, 0.0f}, {0, 0, 0}) == 0);

  p = plain(1.0f);
  p.frequency_penalty = 0.1f;
  CHECK(pick(p, {2.0f, 1.75f, 0.0f}, {0, 0}) == 0);     // 1.8 > 1.75
  CHECK(pick(p, {2.0f, 1.75f, 0.0f}, {0, 0, 0}) == 1);  // 1.7 < 1.75

  p = plain(1.0f);
  p.presence_penalty = 0.3f;
  CHECK(pick(p, {2.0f, 1.75f, 0.0f}, {0}) == 1);            // 1.7 < 1.75
  CHECK(pick(p, {2.0f, 1.65f, 0.0f}, {0, 0, 0, 0}) == 0);   // once only: 1.7 > 1.65

  // A window of 0 turns penalties off.
  p = plain(1.0f);
  p.repeat_penalty = 10.0f;
  p.repeat_last_n = 0;
  CHECK(pick(p, {2.0f, 1.9f, 0.0f}, {0}) == 0);
}

TEST_CASE("sampled frequencies match softmax(logits / temperature)", "[sampler]") {
  auto g = test::rng(106);
  const size_t draws = 200000;

  SECTION("whole distribution") {
    const size_t n = 8;
    const std::vector<float> logits = test::random_floats(g, n, -2.0f, 2.0f);
    for (float temperature : {0.7f, 1.0f, 2.5f}) {
      const std::vector<double> want = softmax(logits, temperature);
      auto s = make(plain(temperature, g()), n);
      std::vector<size_t> hist(n, 0);
      for (size_t i = 0; i < draws; ++i) ++hist[size_t(sample_ok(*s, logits))];
      const double bound = deviation_bound(n, draws);
      for (size_t i = 0; i < n; ++i) {
        INFO("temperature " << temperature << " token " << i);
        CHECK(std::abs(double(hist[i]) / draws - want[i]) < bound);
      }
    }
  }
  SECTION("after top_k, renormalized and tempered") {
    const size_t n = 16;
    const float temperature = 1.5f;
    const std::vector<float> logits = test::random_floats(g, n, -2.0f, 2.0f);
    std::vector<size_t> idx(n);
    std::iota(idx.begin(), idx.end(), size_t(0));
    std::sort(idx.begin(), idx.end(), [&](size_t a, size_t b) { return logits[a] > logits[b]; });
    std::vector<float> top(logits.size(), -std::numeric_limits<float>::infinity());
    for (size_t r = 0; r < 5; ++r) top[idx[r]] = logits[idx[r]];
    const std::vector<double> want = softmax(top, temperature);

    SamplerParams p = plain(temperature, g());
    p.top_k = 5;
    auto s = make(p, n);
    std::vector<size_t> hist(n, 0);
    for (size_t i = 0; i < draws; ++i) ++hist[size_t(sample_ok(*s, logits))];
    const double bound = deviation_bound(n, draws);
    for (size_t i = 0; i < n; ++i) {
      INFO("token " << i);
      CHECK(std::abs(double(hist[i]) / draws - want[i]) < bound);
    }
  }
}

// ---------------------------------------------------------------------------
// StopMatcher

namespace {

struct Streamed {
  std::string text;
  bool stopped = false;
  int32_t stop_index = -1;
};

// Feeds pieces, collecting released bytes; checks hold-back limits on the way.
Streamed stream(StopMatcher& m, const std::vector<std::string>& pieces) {
  Streamed out;
  size_t fed = 0;
  for (const std::string& piece : pieces) {
    fed += piece.size();
    const StopMatcher::Step step = m.feed(piece);
    out.text.append(step.held);
    out.text.append(step.piece);
    if (step.stopped) {
      out.stopped = true;
      out.stop_index = step.stop_index;
      break;
    }
    CHECK(fed - out.text.size() < std::max<size_t>(m.max_stop_size(), 1));
  }
  if (!out.stopped) out.text.append(m.flush());
  return out;
}

StopMatcher make_matcher(const std::vector<std::string>& stops) {
  auto r = StopMatcher::create(stops);
  REQUIRE(r.is_ok());
  return std::move(r).value();
}

}  // namespace

TEST_CASE("StopMatcher holds back partial matches and releases them when they fail", "[stop]") {
  StopMatcher m = make_matcher({"</s>"});
  auto feed = [&](std::string_view piece) {
    const StopMatcher::Step s = m.feed(piece);
    return std::pair{std::string(s.held) + std::string(s.piece), s.stopped};
  };
  CHECK(feed("Hello <") == std::pair{std::string("Hello "), false});
  CHECK(feed("/") == std::pair{std::string(""), false});
  CHECK(feed("x") == std::pair{std::string("</x"), false});
  CHECK(feed("a</s") == std::pair{std::string("a"), false});
  CHECK(feed(">tail") == std::pair{std::string(""), true});
  CHECK(m.stopped());
  CHECK(feed("more") == std::pair{std::string(""), false});
  m.reset();
  CHECK(feed("ok<") == std::pair{std::string("ok"), false});
  CHECK(m.flush() == "<");
}

TEST_CASE("StopMatcher finds stop strings split across pieces", "[stop]") {
  StopMatcher m = make_matcher({"###", "\nUser:"});
  const Streamed r = stream(m, {"The answer", " is 4.\nU", "se", "r: next"});
  CHECK(r.stopped);
  CHECK(r.stop_index == 1);
  CHECK(r.text == "The answer is 4.");

  m.reset();
  const Streamed inside = stream(m, {"ab#", "#", "#cd"});
  CHECK(inside.stopped);
  CHECK(inside.stop_index == 0);
  CHECK(inside.text == "ab");

  // The stop that completes first wins, even inside one piece.
  StopMatcher nested = make_matcher({"hello world", "lo w"});
  for (const std::vector<std::string>& pieces :
       {std::vector<std::string>{"say hello world"}, {"say hel", "lo", " world"}}) {
    nested.reset();
    const Streamed r = stream(nested, pieces);
    CHECK(r.stopped);
    CHECK(r.stop_index == 1);
    CHECK(r.text == "say hel");
  }

  StopMatcher none = make_matcher({});
  const Streamed plain_text = stream(none, {"a", "<", "b"});
  CHECK_FALSE(plain_text.stopped);
  CHECK(plain_text.text == "a<b");

  CHECK(StopMatcher::create({"ok", ""}).status().code() == StatusCode::kInvalidArgument);
}

TEST_CASE("StopMatcher output does not depend on how the text is split", "[stop]") {
  auto g = test::rng(107);
  // "dccd" holds "cc", which completes first and so always wins over it.
  const std::vector<std::string> stops = {"abc", "bca", "cc", "abab", "dccd"};
  StopMatcher m = make_matcher(stops);
  for (int trial = 0; trial < 500; ++trial) {
    std::string text;
    const size_t len = 1 + g() % 40;
    for (size_t i = 0; i < len; ++i) text.push_back("abcd"[g() % 4]);
    // Expected: the stop that ends first (the longer one on a tie); the output
    // is everything before it.
    size_t best_end = std::string::npos, best_start = 0;
    int32_t best = -1;
    for (size_t s = 0; s < stops.size(); ++s) {
      const size_t at = text.find(stops[s]);
      if (at == std::string::npos) continue;
      const size_t end = at + stops[s].size();
      if (best < 0 || end < best_end || (end == best_end && at < best_start)) {
        best = int32_t(s);
        best_end = end;
        best_start = at;
      }
    }
    std::vector<std::string> pieces;
    for (size_t at = 0; at < text.size();) {
      const size_t n = std::min<size_t>(text.size() - at, g() % 5);  // empty pieces too
      pieces.push_back(text.substr(at, n));
      at += n;
    }
    m.reset();
    const Streamed r = stream(m, pieces);
    INFO("text " << text);
    CHECK(r.stopped == (best >= 0));
    CHECK(r.stop_index == best);
    CHECK(r.text == (best >= 0 ? text.substr(0, best_start) : text));
  }
}
