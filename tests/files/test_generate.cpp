// The generation loop on stories260K: the llama2.c golden text, stop strings,
// max_tokens, cancelling, context limits, end of generation and seeded
// sampling; and the UTF-8 assembler on random byte streams.
#include <catch2/catch.hpp>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "loci/generate.h"
#include "loci/model.h"
#include "loci/sampler.h"
#include "support/test_support.h"

using namespace loci;

namespace {

std::string shared_path(const std::string& rel) {
  const std::string path = test::shared_dir() + "/" + rel;
  if (!test::file_exists(path)) FAIL("shared file missing: " << path << " (set LOCI_SHARED_DIR)");
  return path;
}

std::string read_file(const std::string& path) {
  std::string s;
  FILE* f = std::fopen(path.c_str(), "rb");
  REQUIRE(f != nullptr);
  char buf[4096];
  size_t n;
  while ((n = std::fread(buf, 1, sizeof buf, f)) > 0) s.append(buf, n);
  std::fclose(f);
  return s;
}

std::string golden_text() { return read_file(shared_path("models/golden/stories260K.llama2c-expected-greedy-200.txt")); }

// BOS first, then the 200 greedy tokens.
std::vector<int32_t> golden_ids() {
  std::istringstream in(read_file(shared_path("models/golden/stories260K.greedy-200-token-ids.txt")));
  std::vector<int32_t> ids;
  for (int32_t id; in >> id;) ids.push_back(id);
  REQUIRE(ids.size() == 201);
  return ids;
}

std::shared_ptr<const Model> stories() {
  static std::shared_ptr<const Model> model = [] {
    auto m = Model::load(shared_path("models/stories260K.gguf"));
    REQUIRE(m.is_ok());
    return *m;
  }();
  return model;
}

struct Rig {
  std::unique_ptr<Session> session;
  std::unique_ptr<Sampler> sampler;
};

Rig make_rig(const SamplerParams& sp, uint32_t n_ctx = 256) {
  SessionOptions so;
  so.n_ctx = n_ctx;
  so.n_threads = 2;
  auto session = Session::create(stories(), so);
  REQUIRE(session.is_ok());
  auto sampler = Sampler::create(sp, (*session)->n_vocab());
  REQUIRE(sampler.is_ok());
  return {std::move(*session), std::move(*sampler)};
}

// Records every callback; returns false once `cancel_after` calls were made.
struct Collector {
  std::string text;
  std::vector<std::string> chunks;
  size_t cancel_after = SIZE_MAX;
};

bool collect(void* user, const char* text, size_t len) {
  Collector* c = static_cast<Collector*>(user);
  c->chunks.emplace_back(text, len);
  c->text.append(text, len);
  return c->chunks.size() < c->cancel_after;
}

GenerateResult run_from_bos(Rig& rig, const GenerateOptions& options, Collector* out) {
  const int32_t bos = stories()->tokenizer().bos();
  auto r = generate(*rig.session, stories()->tokenizer(), *rig.sampler, &bos, 1, options, collect, out);
  INFO(r.status().to_string());
  REQUIRE(r.is_ok());
  return *r;
}

GenerateOptions greedy_options(int32_t max_tokens) {
  GenerateOptions o;
  o.max_tokens = max_tokens;
  o.strip_leading_space = true;
  return o;
}

// The text of golden tokens 1..n, as the tokenizer spells them, without the
// first piece's leading space.
std::string golden_prefix(size_t n) {
  const std::vector<int32_t> ids = golden_ids();
  std::string s;
  for (size_t i = 1; i <= n; ++i) {
    auto piece = stories()->tokenizer().piece(ids[i]);
    REQUIRE(piece.is_ok());
    s += *piece;
  }
  if (!s.empty() && s[0] == ' ') s.erase(0, 1);
  return s;
}

// Strict UTF-8 check, written independently of the code under test.
bool valid_utf8(const std::string& s) {
  for (size_t i = 0; i < s.size();) {
    const unsigned char b = static_cast<unsigned char>(s[i]);
    size_t n = b < 0x80 ? 1 : (b >> 5) == 0x6 ? 2 : (b >> 4) == 0xE ? 3 : (b >> 3) == 0x1E ? 4 : 0;
    if (n == 0 || i + n > s.size()) return false;
    for (size_t k = 1; k < n; ++k)
      if ((static_cast<unsigned char>(s[i + k]) >> 6) != 0x2) return false;
    i += n;
  }
  return true;
}

std::string encode_utf8(uint32_t cp) {
  std::string s;
  if (cp < 0x80) {
    s += char(cp);
  } else if (cp < 0x800) {
    s += char(0xC0 | (cp >> 6));
    s += char(0x80 | (cp & 0x3F));
  } else if (cp < 0x10000) {
    s += char(0xE0 | (cp >> 12));
    s += char(0x80 | ((cp >> 6) & 0x3F));
    s += char(0x80 | (cp & 0x3F));
  } else {
    s += char(0xF0 | (cp >> 18));
    s += char(0x80 | ((cp >> 12) & 0x3F));
    s += char(0x80 | ((cp >> 6) & 0x3F));
    s += char(0x80 | (cp & 0x3F));
  }
  return s;
}

}  // namespace

TEST_CASE("generate: greedy from BOS reproduces llama2.c's golden text byte for byte", "[generate][golden]") {
  Rig rig = make_rig(SamplerParams::greedy());
  Collector out;
  const GenerateResult r = run_from_bos(rig, greedy_options(200), &out);
  CHECK(out.text == golden_text());
  CHECK(r.stop_reason == StopReason::kMaxTokens);
  CHECK(r.generated_tokens == 200);
  CHECK(r.prompt_tokens == 1);
  CHECK(r.last_token == golden_ids().back());
  // The last token is sampled but not evaluated.
  CHECK(rig.session->position() == 200);
  CHECK(r.prefill_seconds >= 0.0);
  CHECK(r.decode_seconds > 0.0);
  CHECK(r.decode_tokens_per_second() > 0.0);
  for (const std::string& chunk : out.chunks) CHECK(!chunk.empty());
}

TEST_CASE("generate: without strip_leading_space the first piece keeps its space", "[generate][golden]") {
  Rig rig = make_rig(SamplerParams::greedy());
  GenerateOptions o = greedy_options(200);
  o.strip_leading_space = false;
  Collector out;
  run_from_bos(rig, o, &out);
  CHECK(out.text == " " + golden_text());
}

TEST_CASE("generate: max_tokens is respected", "[generate]") {
  for (int32_t n : {0, 1, 2, 7, 50}) {
    Rig rig = make_rig(SamplerParams::greedy());
    Collector out;
    const GenerateResult r = run_from_bos(rig, greedy_options(n), &out);
    INFO("max_tokens " << n);
    CHECK(r.stop_reason == StopReason::kMaxTokens);
    CHECK(r.generated_tokens == size_t(n));
    CHECK(out.text == golden_prefix(size_t(n)));
  }
}

TEST_CASE("generate: a stop string cuts the text right before its first occurrence", "[generate][stop]") {
  const std::string golden = golden_text();
  std::mt19937_64 g = test::rng(41);
  for (int trial = 0; trial < 24; ++trial) {
    // A random slice of the golden text, so it occurs (maybe earlier, too);
    // it ends before the last tokens, so the stop comes before max_tokens.
    const size_t len = 1 + g() % 12;
    const size_t start = g() % (golden.size() - len - 32);
    const std::string stop = golden.substr(start, len);
    const size_t cut = golden.find(stop);
    REQUIRE(cut != std::string::npos);

    Rig rig = make_rig(SamplerParams::greedy());
    GenerateOptions o = greedy_options(200);
    o.stop = {stop};
    Collector out;
    const GenerateResult r = run_from_bos(rig, o, &out);
    INFO("stop string '" << stop << "'");
    CHECK(out.text == golden.substr(0, cut));
    CHECK(r.stop_reason == StopReason::kStopString);
    CHECK(r.stop_index == 0);
    CHECK(r.generated_tokens < 200);
  }
}

TEST_CASE("generate: with several stop strings the earliest wins and absent ones do nothing", "[generate][stop]") {
  const std::string golden = golden_text();
  Rig rig = make_rig(SamplerParams::greedy());
  GenerateOptions o = greedy_options(200);
  o.stop = {"not in the text", "One day", "park"};
  Collector out;
  const GenerateResult r = run_from_bos(rig, o, &out);
  const size_t cut = std::min(golden.find("One day"), golden.find("park"));
  REQUIRE(cut != std::string::npos);
  CHECK(out.text == golden.substr(0, cut));
  CHECK(r.stop_reason == StopReason::kStopString);
  CHECK(r.stop_index == (golden.find("park") < golden.find("One day") ? 2 : 1));

  Rig rig2 = make_rig(SamplerParams::greedy());
  o.stop = {"zebra", "\x01"};
  Collector all;
  const GenerateResult r2 = run_from_bos(rig2, o, &all);
  CHECK(all.text == golden);
  CHECK(r2.stop_reason == StopReason::kMaxTokens);
}

TEST_CASE("generate: returning false from the callback cancels at once", "[generate][cancel]") {
  const std::string golden = golden_text();
  for (size_t k : {1, 3, 10}) {
    Rig rig = make_rig(SamplerParams::greedy());
    Collector out;
    out.cancel_after = k;
    const GenerateResult r = run_from_bos(rig, greedy_options(200), &out);
    INFO("cancel after " << k << " calls");
    CHECK(r.stop_reason == StopReason::kCancelled);
    CHECK(out.chunks.size() == k);  // never called again after returning false
    CHECK(golden.compare(0, out.text.size(), out.text) == 0);
    CHECK(r.generated_tokens < 200);
  }
}

TEST_CASE("generate: a full context stops generation", "[generate]") {
  const uint32_t n_ctx = 16;
  Rig rig = make_rig(SamplerParams::greedy(), n_ctx);
  Collector out;
  const GenerateResult r = run_from_bos(rig, greedy_options(-1), &out);
  CHECK(r.stop_reason == StopReason::kContextFull);
  // n_ctx - 1 evaluated after BOS, plus one sampled from the last logits.
  CHECK(r.generated_tokens == n_ctx);
  CHECK(rig.session->position() == n_ctx);
  CHECK(out.text == golden_prefix(n_ctx));
}

TEST_CASE("generate: an end-of-generation token stops it, or is shown when stop_at_eog is off", "[generate]") {
  // Every token but EOS gets a huge presence penalty, so greedy picks EOS.
  const Tokenizer& tok = stories()->tokenizer();
  SamplerParams sp = SamplerParams::greedy();
  sp.presence_penalty = 1e6f;
  sp.repeat_last_n = int32_t(tok.n_vocab());
  auto prime = [&](Sampler& s) {
    for (int32_t id = 0; id < int32_t(tok.n_vocab()); ++id)
      if (id != tok.eos()) s.accept(id);
  };
  GenerateOptions o = greedy_options(3);
  o.penalize_prompt = false;
  {
    Rig rig = make_rig(sp);
    prime(*rig.sampler);
    Collector out;
    const GenerateResult r = run_from_bos(rig, o, &out);
    CHECK(r.stop_reason == StopReason::kEndOfGeneration);
    CHECK(r.generated_tokens == 0);
    CHECK(r.last_token == tok.eos());
    CHECK(out.text.empty());
  }
  {
    Rig rig = make_rig(sp);
    prime(*rig.sampler);
    o.stop_at_eog = false;
    o.special = true;
    Collector out;
    const GenerateResult r = run_from_bos(rig, o, &out);
    CHECK(r.stop_reason == StopReason::kMaxTokens);
    CHECK(r.generated_tokens == 3);
    auto eos_text = tok.piece(tok.eos(), true);
    REQUIRE(eos_text.is_ok());
    REQUIRE(!eos_text->empty());
    CHECK(out.text.find(std::string(*eos_text)) == 0);
  }
}

TEST_CASE("generate: the prompt's tokens count in the penalties only when penalize_prompt is on", "[generate]") {
  // Greedy after BOS + 7 golden tokens picks golden token 8, which the prompt
  // already holds (" a"); a huge presence penalty then rules it out.
  const std::vector<int32_t> ids = golden_ids();
  const std::vector<int32_t> prompt(ids.begin(), ids.begin() + 8);
  REQUIRE(std::find(prompt.begin(), prompt.end(), ids[8]) != prompt.end());
  SamplerParams sp = SamplerParams::greedy();
  sp.presence_penalty = 1e6f;
  for (bool penalize : {false, true}) {
    Rig rig = make_rig(sp);
    GenerateOptions o;
    o.max_tokens = 1;
    o.penalize_prompt = penalize;
    Collector out;
    auto r = generate(*rig.session, stories()->tokenizer(), *rig.sampler, prompt.data(), prompt.size(), o, collect,
                      &out);
    REQUIRE(r.is_ok());
    INFO("penalize_prompt " << penalize);
    if (penalize)
      CHECK(std::find(prompt.begin(), prompt.end(), r->last_token) == prompt.end());
    else
      CHECK(r->last_token == ids[8]);
  }
}

TEST_CASE("generate: the same seed gives the same text when sampling", "[generate][sampling]") {
  SamplerParams sp;
  sp.temperature = 1.0f;
  sp.seed = test::seed();
  auto text_for = [&](uint64_t seed) {
    SamplerParams p = sp;
    p.seed = seed;
    Rig rig = make_rig(p);
    Collector out;
    GenerateOptions o = greedy_options(100);
    o.stop_at_eog = false;
    run_from_bos(rig, o, &out);
    return out.text;
  };
  const std::string a = text_for(sp.seed);
  CHECK(a == text_for(sp.seed));
  CHECK(a != text_for(sp.seed + 1));
  CHECK(a != golden_text().substr(0, a.size()));  // temperature 1 does not follow the greedy path for 100 tokens
}

TEST_CASE("generate: a generator runs again with the same result after a reset", "[generate]") {
  Rig rig = make_rig(SamplerParams::greedy());
  auto g = Generator::create(*rig.session, stories()->tokenizer(), *rig.sampler, greedy_options(40));
  REQUIRE(g.is_ok());
  const int32_t bos = stories()->tokenizer().bos();
  Collector first, second;
  REQUIRE((*g)->run(&bos, 1, collect, &first).is_ok());
  rig.session->reset();
  rig.sampler->reset();
  REQUIRE((*g)->run(&bos, 1, collect, &second).is_ok());
  CHECK(first.text == golden_prefix(40));
  CHECK(second.text == first.text);
}

TEST_CASE("generate: continuing a session picks up after the prompt it already holds", "[generate]") {
  // Evaluate BOS plus 10 golden tokens first, then generate with no prompt.
  const std::vector<int32_t> ids = golden_ids();
  Rig rig = make_rig(SamplerParams::greedy());
  REQUIRE(rig.session->eval(ids.data(), 11).is_ok());
  Collector out;
  GenerateOptions o;
  o.max_tokens = 20;
  auto r = generate(*rig.session, stories()->tokenizer(), *rig.sampler, nullptr, 0, o, collect, &out);
  REQUIRE(r.is_ok());
  CHECK(r->prompt_tokens == 0);
  const std::string all = golden_prefix(30), head = golden_prefix(10);
  CHECK(out.text == all.substr(head.size()));
}

TEST_CASE("generate: bad inputs are refused with a status", "[generate]") {
  Rig rig = make_rig(SamplerParams::greedy(), 32);
  const Tokenizer& tok = stories()->tokenizer();
  Collector out;
  // No prompt and nothing evaluated: no logits to sample from.
  auto none = generate(*rig.session, tok, *rig.sampler, nullptr, 0, GenerateOptions(), collect, &out);
  CHECK(none.status().code() == StatusCode::kInvalidArgument);
  // A prompt longer than the context.
  std::vector<int32_t> long_prompt(40, tok.bos());
  auto too_long = generate(*rig.session, tok, *rig.sampler, long_prompt.data(), long_prompt.size(),
                           GenerateOptions(), collect, &out);
  CHECK(too_long.status().code() == StatusCode::kOutOfRange);
  // An id outside the vocabulary.
  const int32_t bad = int32_t(tok.n_vocab());
  auto bad_token = generate(*rig.session, tok, *rig.sampler, &bad, 1, GenerateOptions(), collect, &out);
  CHECK(bad_token.status().code() == StatusCode::kOutOfRange);
  CHECK(out.chunks.empty());
  // An empty stop string.
  GenerateOptions o;
  o.stop = {""};
  CHECK(!Generator::create(*rig.session, tok, *rig.sampler, o).is_ok());
  // A sampler built for another vocabulary.
  auto other = Sampler::create(SamplerParams::greedy(), tok.n_vocab() + 1);
  REQUIRE(other.is_ok());
  CHECK(Generator::create(*rig.session, tok, **other, GenerateOptions()).status().code() ==
        StatusCode::kInvalidArgument);
}

TEST_CASE("utf8 assembler: random splits of valid text come out whole and unchanged", "[generate][utf8]") {
  std::mt19937_64 g = test::rng(42);
  const uint32_t ranges[][2] = {{0x20, 0x7E}, {0xA0, 0x7FF}, {0x800, 0xD7FF}, {0xE000, 0xFFFD}, {0x10000, 0x10FFFF}};
  for (int trial = 0; trial < 200; ++trial) {
    std::string text;
    const size_t n_chars = 1 + g() % 40;
    for (size_t i = 0; i < n_chars; ++i) {
      const auto& r = ranges[g() % 5];
      text += encode_utf8(r[0] + uint32_t(g() % (r[1] - r[0] + 1)));
    }
    REQUIRE(valid_utf8(text));
    detail::Utf8Assembler a;
    std::string out;
    for (size_t pos = 0; pos < text.size();) {
      const size_t len = std::min<size_t>(g() % 6, text.size() - pos);  // empty pieces too
      const detail::Utf8Assembler::Step s = a.feed(std::string_view(text).substr(pos, len));
      pos += len;
      CHECK(valid_utf8(std::string(s.head)));
      CHECK(valid_utf8(std::string(s.body)));
      out += s.head;
      out += s.body;
    }
    CHECK(a.held() == 0);  // the text ended on a character boundary
    CHECK(a.flush().empty());
    CHECK(out == text);
  }
}

TEST_CASE("utf8 assembler: invalid bytes pass through unchanged and are never held forever", "[generate][utf8]") {
  std::mt19937_64 g = test::rng(43);
  for (int trial = 0; trial < 200; ++trial) {
    const std::vector<uint8_t> bytes = test::random_bytes(g, 1 + g() % 64);
    const std::string text(bytes.begin(), bytes.end());
    detail::Utf8Assembler a;
    std::string out;
    for (size_t pos = 0; pos < text.size();) {
      const size_t len = std::min<size_t>(1 + g() % 5, text.size() - pos);
      const detail::Utf8Assembler::Step s = a.feed(std::string_view(text).substr(pos, len));
      pos += len;
      out += s.head;
      out += s.body;
      CHECK(a.held() < 4);
    }
    out += a.flush();
    CHECK(out == text);
  }
  // A lead byte then ASCII: the lead byte is released as it is, before the ASCII.
  detail::Utf8Assembler a;
  const detail::Utf8Assembler::Step s1 = a.feed("x\xE2");
  CHECK(s1.body == "x");
  CHECK(a.held() == 1);
  const detail::Utf8Assembler::Step s2 = a.feed("y");
  CHECK(s2.head == "\xE2");
  CHECK(s2.body == "y");
  // A character split over three byte tokens.
  CHECK(a.feed("\xE2").body.empty());
  CHECK(a.feed("\x82").head.empty());
  const detail::Utf8Assembler::Step s3 = a.feed("\xAC!");
  CHECK(s3.head == "\xE2\x82\xAC");
  CHECK(s3.body == "!");
}
