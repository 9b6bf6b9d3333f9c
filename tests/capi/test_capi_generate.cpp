// The C ABI's sampler and streaming generation, against the C++ Sampler and
// loci::generate; stop reasons, bad stop strings, and cancel and timeout in
// the middle of a generation.
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <condition_variable>
#include <limits>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "capi_util.h"
#include "loci/generate.h"
#include "loci/model.h"
#include "loci/sampler.h"
#include "support/json.h"

using namespace capit;

namespace {

loci_sampler* const kSentinelSampler = reinterpret_cast<loci_sampler*>(uintptr_t(0x5a5a5a50));

struct Text {
  std::string text;
  std::vector<std::string> chunks;
  size_t stop_after = SIZE_MAX;  // return nonzero after this many chunks
  static int32_t on_text(void* user, const char* text, size_t length) {
    auto* t = static_cast<Text*>(user);
    t->chunks.emplace_back(text, length);
    t->text.append(text, length);
    return t->chunks.size() >= t->stop_after ? 1 : 0;
  }
};

loci_generate_params greedy_params(int32_t max_tokens) {
  loci_generate_params p;
  loci_generate_params_init(&p);
  p.max_tokens = max_tokens;
  return p;
}

struct Run {
  loci_status status = -1;
  loci_generate_result result{};
  Text out;
};

Run generate(const loci_model* m, const std::vector<int32_t>& prompt, const loci_generate_params& p,
             size_t stop_after = SIZE_MAX, uint32_t n_ctx = 256) {
  auto s = make_session(m, n_ctx);
  auto sampler = greedy_sampler(m);
  Run r;
  r.out.stop_after = stop_after;
  loci_generate_result_init(&r.result);
  r.status = loci_generate(s.get(), sampler.get(), prompt.data(), prompt.size(), &p, Text::on_text, &r.out, &r.result);
  return r;
}

std::vector<int32_t> once_prompt(const loci_model* m) {
  return tokenize(m, "Once upon a time", LOCI_TOKENIZE_ADD_SPECIAL);
}

int32_t sleepy_cancel(void* user) {
  std::this_thread::sleep_for(std::chrono::milliseconds(5));
  ++*static_cast<std::atomic<int>*>(user);
  return 0;
}

int32_t flag_cancel(void* user) { return static_cast<std::atomic<bool>*>(user)->load() ? 1 : 0; }

}  // namespace

TEST_CASE("sampler params default to loci::SamplerParams", "[capi][sampler]") {
  loci_sampler_params p;
  std::memset(&p, 0xFF, sizeof p);
  loci_sampler_params_init(&p);
  const loci::SamplerParams d;
  CHECK(p.struct_size == sizeof p);
  CHECK(p.temperature == d.temperature);
  CHECK(p.top_k == d.top_k);
  CHECK(p.top_p == d.top_p);
  CHECK(p.min_p == d.min_p);
  CHECK(p.repeat_penalty == d.repeat_penalty);
  CHECK(p.repeat_last_n == d.repeat_last_n);
  CHECK(p.frequency_penalty == d.frequency_penalty);
  CHECK(p.presence_penalty == d.presence_penalty);
  CHECK(p.reserved == 0);
  CHECK(p.seed == d.seed);
  // The documented defaults.
  CHECK(p.temperature == 0.8f);
  CHECK(p.top_k == 40);
  CHECK(p.top_p == 0.95f);
  CHECK(p.min_p == 0.05f);
  CHECK(p.repeat_penalty == 1.0f);
  CHECK(p.repeat_last_n == 64);

  loci_generate_params g;
  loci_generate_params_init(&g);
  const loci::GenerateOptions o;
  CHECK(g.struct_size == sizeof g);
  CHECK(g.max_tokens == o.max_tokens);
  CHECK(g.stop == nullptr);
  CHECK(g.n_stop == 0);
  CHECK(g.stop_at_eog == 1);
  CHECK(g.special == 0);
  CHECK(g.strip_leading_space == 0);
  CHECK(g.penalize_prompt == 1);
  loci_generate_result r;
  loci_generate_result_init(&r);
  CHECK(r.struct_size == sizeof r);
  CHECK(r.stop_index == -1);
  CHECK(r.last_token == -1);
}

TEST_CASE("out-of-range sampler params are refused", "[capi][sampler]") {
  auto model = load();
  const float nan = std::numeric_limits<float>::quiet_NaN();
  const float inf = std::numeric_limits<float>::infinity();
  struct Case {
    const char* what;
    void (*set)(loci_sampler_params*, float, float);
  };
  const Case cases[] = {
      {"top_p 0", [](loci_sampler_params* p, float, float) { p->top_p = 0.0f; }},
      {"top_p 1.5", [](loci_sampler_params* p, float, float) { p->top_p = 1.5f; }},
      {"temperature NaN", [](loci_sampler_params* p, float n, float) { p->temperature = n; }},
      {"temperature inf", [](loci_sampler_params* p, float, float i) { p->temperature = i; }},
      {"min_p -0.1", [](loci_sampler_params* p, float, float) { p->min_p = -0.1f; }},
      {"min_p NaN", [](loci_sampler_params* p, float n, float) { p->min_p = n; }},
      {"repeat_penalty 0", [](loci_sampler_params* p, float, float) { p->repeat_penalty = 0.0f; }},
      {"repeat_last_n -1", [](loci_sampler_params* p, float, float) { p->repeat_last_n = -1; }},
      {"presence_penalty NaN", [](loci_sampler_params* p, float n, float) { p->presence_penalty = n; }},
  };
  for (const Case& c : cases) {
    INFO(c.what);
    loci_sampler_params p;
    loci_sampler_params_init(&p);
    c.set(&p, nan, inf);
    loci_sampler* s = kSentinelSampler;
    CHECK(loci_sampler_create(model.get(), &p, &s) == LOCI_ERR_INVALID_ARGUMENT);
    CHECK(s == kSentinelSampler);
    CHECK(std::string(loci_last_error()).rfind("invalid_argument: ", 0) == 0);
  }
  loci_sampler_params p;
  loci_sampler_params_init(&p);
  p.struct_size = 0;
  loci_sampler* s = kSentinelSampler;
  CHECK(loci_sampler_create(model.get(), &p, &s) == LOCI_ERR_ABI_MISMATCH);
  CHECK(s == kSentinelSampler);
}

TEST_CASE("a nonzero reserved field is refused and not ignored", "[capi][abi]") {
  // loci.h marks these fields "0"; like a newer header's nonzero tail, a
  // nonzero value asks for something this library cannot honour.
  auto model = load();
  loci_sampler_params p;
  loci_sampler_params_init(&p);
  p.reserved = 1;
  loci_sampler* s = kSentinelSampler;
  CHECK(loci_sampler_create(model.get(), &p, &s) != LOCI_OK);
  CHECK(s == kSentinelSampler);
  if (s != kSentinelSampler) loci_sampler_free(s);

  CountingAllocator counter;
  loci_allocator a;
  loci_allocator_init(&a);
  a.user = &counter;
  a.alloc = CountingAllocator::alloc;
  a.free = CountingAllocator::free;
  a.reserved = 1;
  model.reset();
  const loci_status st = loci_set_allocator(&a);
  loci_set_allocator(nullptr);  // whatever happened, back to the default
  CHECK(st != LOCI_OK);
}

TEST_CASE("greedy sampling is the argmax with the lowest id on ties", "[capi][sampler]") {
  auto model = load();
  auto sampler = greedy_sampler(model.get());
  std::mt19937_64 g = loci::test::rng(901);
  for (int trial = 0; trial < 20; ++trial) {
    std::vector<float> logits = loci::test::random_floats(g, 512, -5.0f, 5.0f);
    if (trial % 4 == 3) {  // a tie for the top: the lower id wins
      const size_t hi = 100 + g() % 400, lo = g() % 100;
      const float top = 10.0f;
      logits[hi] = top;
      logits[lo] = top;
    }
    const size_t best = size_t(std::max_element(logits.begin(), logits.end()) - logits.begin());
    int32_t got = -1;
    REQUIRE(loci_sampler_sample(sampler.get(), logits.data(), logits.size(), &got) == LOCI_OK);
    CHECK(got == int32_t(best));
  }
  std::vector<float> logits(512, 0.0f);
  int32_t got = -7;
  CHECK(loci_sampler_sample(sampler.get(), logits.data(), 511, &got) == LOCI_ERR_INVALID_ARGUMENT);
  CHECK(loci_sampler_sample(sampler.get(), logits.data(), 513, &got) == LOCI_ERR_INVALID_ARGUMENT);
  CHECK(got == -7);
  for (int32_t bad : {-1, 512, INT32_MAX}) {
    INFO("token " << bad);
    CHECK(loci_sampler_accept(sampler.get(), bad) != LOCI_OK);
    CHECK(contains(loci_last_error(), std::to_string(bad)));
  }
  CHECK(loci_sampler_accept(sampler.get(), 0) == LOCI_OK);
  CHECK(loci_sampler_accept(sampler.get(), 511) == LOCI_OK);
}

TEST_CASE("a seeded sampler repeats after reset and matches the C++ sampler", "[capi][sampler]") {
  auto model = load();
  loci_sampler_params p;
  loci_sampler_params_init(&p);
  p.seed = 12345;
  p.temperature = 1.5f;  // flat enough that draws vary
  p.repeat_penalty = 1.3f;
  auto sampler = make_sampler(model.get(), p);
  loci::SamplerParams cp;
  cp.seed = 12345;
  cp.temperature = 1.5f;
  cp.repeat_penalty = 1.3f;
  auto cpp = loci::Sampler::create(cp, 512);
  REQUIRE(cpp.is_ok());

  std::mt19937_64 g = loci::test::rng(902);
  std::vector<std::vector<float>> steps;
  for (int i = 0; i < 30; ++i) steps.push_back(loci::test::random_floats(g, 512, -2.0f, 2.0f));
  auto draw_all = [&] {
    std::vector<int32_t> out;
    for (const auto& l : steps) {
      int32_t t = -1;
      REQUIRE(loci_sampler_sample(sampler.get(), l.data(), l.size(), &t) == LOCI_OK);
      REQUIRE(loci_sampler_accept(sampler.get(), t) == LOCI_OK);
      out.push_back(t);
    }
    return out;
  };
  const std::vector<int32_t> first = draw_all();
  std::vector<int32_t> cpp_tokens;
  for (const auto& l : steps) {
    auto t = (*cpp)->sample(l.data());
    REQUIRE(t.is_ok());
    (*cpp)->accept(*t);
    cpp_tokens.push_back(*t);
  }
  CHECK(first == cpp_tokens);
  loci_sampler_reset(sampler.get());
  CHECK(draw_all() == first);
  // Not a constant: the draws differ from step to step.
  CHECK(std::count(first.begin(), first.end(), first[0]) < int(first.size()));
}

TEST_CASE("greedy generate equals loci::generate's text", "[capi][generate]") {
  auto model = load();
  const std::vector<int32_t> prompt = once_prompt(model.get());
  for (int32_t strip : {0, 1}) {
    INFO("strip_leading_space " << strip);
    loci_generate_params p = greedy_params(60);
    p.strip_leading_space = strip;
    const Run c = generate(model.get(), prompt, p);
    INFO(loci_last_error());
    REQUIRE(c.status == LOCI_OK);

    auto m = loci::Model::load(shared_model());
    REQUIRE(m.is_ok());
    loci::SessionOptions so;
    so.n_ctx = 256;
    so.n_threads = 2;
    auto session = loci::Session::create(*m, so);
    REQUIRE(session.is_ok());
    auto sampler = loci::Sampler::create(loci::SamplerParams::greedy(), 512);
    REQUIRE(sampler.is_ok());
    loci::GenerateOptions o;
    o.max_tokens = 60;
    o.strip_leading_space = strip != 0;
    std::string cpp_text;
    auto r = loci::generate(
        **session, (*m)->tokenizer(), **sampler, prompt.data(), prompt.size(), o,
        [](void* user, const char* text, size_t len) {
          static_cast<std::string*>(user)->append(text, len);
          return true;
        },
        &cpp_text);
    REQUIRE(r.is_ok());

    CHECK(c.out.text == cpp_text);
    CHECK(c.out.text.size() > 40);
    CHECK(c.result.stop_reason == int32_t(r->stop_reason));
    CHECK(c.result.generated_tokens == r->generated_tokens);
    CHECK(c.result.prompt_tokens == r->prompt_tokens);
    CHECK(c.result.last_token == r->last_token);
    CHECK(c.result.stop_index == -1);
    CHECK(c.result.prefill_seconds >= 0.0);
    CHECK(c.result.decode_seconds > 0.0);
  }
}

TEST_CASE("generate reproduces llama.cpp's golden continuation", "[capi][generate][golden]") {
  auto model = load();
  const std::string golden = loci::test::shared_dir() + "/models/golden/stories260K__once__n64.json";
  if (!loci::test::file_exists(golden)) FAIL("shared file missing: " << golden);
  auto doc = loci::test::json::parse_file(golden);
  REQUIRE(doc.is_ok());
  auto ids = (*doc)["prompt_tokens"].to_ints();
  REQUIRE(ids.is_ok());
  const std::vector<int32_t> prompt(ids->begin(), ids->end());
  // The C tokenizer gives the same prompt.
  CHECK(prompt == once_prompt(model.get()));
  loci_session_params sp = session_params(256);
  sp.kv_type = LOCI_KV_F32;  // as the golden file was made
  auto s = make_session(model.get(), sp);
  auto sampler = greedy_sampler(model.get());
  loci_generate_params p = greedy_params(int32_t((*doc)["generated_tokens"].size()));
  p.stop_at_eog = 0;  // llama.cpp's run did not stop at EOS
  Text out;
  loci_generate_result r;
  loci_generate_result_init(&r);
  REQUIRE(loci_generate(s.get(), sampler.get(), prompt.data(), prompt.size(), &p, Text::on_text, &out, &r) == LOCI_OK);
  CHECK(out.text == (*doc)["generated_text"].as_string());
  auto gen = (*doc)["generated_tokens"].to_ints();
  REQUIRE(gen.is_ok());
  CHECK(r.last_token == int32_t(gen->back()));
}

TEST_CASE("a full context stops generate and a prompt too long is refused", "[capi][generate]") {
  auto model = load();
  const std::vector<int32_t> prompt = once_prompt(model.get());
  auto s = make_session(model.get(), 16);
  auto sampler = greedy_sampler(model.get());
  loci_generate_params p = greedy_params(-1);
  p.stop_at_eog = 0;
  Text out;
  loci_generate_result r;
  loci_generate_result_init(&r);
  REQUIRE(loci_generate(s.get(), sampler.get(), prompt.data(), prompt.size(), &p, Text::on_text, &out, &r) == LOCI_OK);
  CHECK(r.stop_reason == LOCI_STOP_CONTEXT_FULL);
  CHECK(loci_session_position(s.get()) == 16);
  CHECK(r.generated_tokens == 16 - prompt.size() + 1);  // the last sampled token is shown, not evaluated

  loci_session_reset(s.get());
  const std::vector<int32_t> too_long(17, 300);
  loci_generate_result_init(&r);
  r.prompt_tokens = 4242;
  out = Text();
  CHECK(loci_generate(s.get(), sampler.get(), too_long.data(), too_long.size(), &p, Text::on_text, &out, &r) ==
        LOCI_ERR_OUT_OF_RANGE);
  CHECK(r.prompt_tokens == 4242);
  CHECK(out.chunks.empty());
  CHECK(loci_session_position(s.get()) == 0);
}

TEST_CASE("max_tokens and the result's counts", "[capi][generate]") {
  auto model = load();
  const std::vector<int32_t> prompt = once_prompt(model.get());
  const Run full = generate(model.get(), prompt, greedy_params(40));
  REQUIRE(full.status == LOCI_OK);
  for (int32_t n : {0, 1, 5, 17}) {
    INFO("max_tokens " << n);
    auto s = make_session(model.get(), 256);
    auto sampler = greedy_sampler(model.get());
    loci_generate_params p = greedy_params(n);
    Text out;
    loci_generate_result r;
    loci_generate_result_init(&r);
    REQUIRE(loci_generate(s.get(), sampler.get(), prompt.data(), prompt.size(), &p, Text::on_text, &out, &r) ==
            LOCI_OK);
    CHECK(r.stop_reason == LOCI_STOP_MAX_TOKENS);
    CHECK(r.generated_tokens == uint64_t(n));
    CHECK(r.prompt_tokens == prompt.size());
    CHECK(full.out.text.rfind(out.text, 0) == 0);  // a prefix of the longer run
    // The last sampled token is not evaluated.
    CHECK(loci_session_position(s.get()) == prompt.size() + (n > 0 ? size_t(n) - 1 : 0));
  }
}

TEST_CASE("a stop string ends the text right before it", "[capi][generate]") {
  auto model = load();
  const std::vector<int32_t> prompt = once_prompt(model.get());
  const Run full = generate(model.get(), prompt, greedy_params(60));
  REQUIRE(full.status == LOCI_OK);
  const std::string& text = full.out.text;
  REQUIRE(text.size() > 60);
  for (size_t start : {size_t(10), size_t(23), text.size() / 2}) {
    const std::string stop = text.substr(start, 4);
    INFO("stop '" << stop << "'");
    const char* stops[] = {"#never#", stop.c_str()};
    loci_generate_params p = greedy_params(60);
    p.stop = stops;
    p.n_stop = 2;
    const Run r = generate(model.get(), prompt, p);
    INFO(loci_last_error());
    REQUIRE(r.status == LOCI_OK);
    CHECK(r.result.stop_reason == LOCI_STOP_STRING);
    CHECK(r.result.stop_index == 1);
    CHECK(r.out.text == text.substr(0, text.find(stop)));
    for (const std::string& c : r.out.chunks) CHECK(!c.empty());
  }
}

TEST_CASE("a callback returning nonzero stops with LOCI_OK", "[capi][generate]") {
  auto model = load();
  const std::vector<int32_t> prompt = once_prompt(model.get());
  const Run full = generate(model.get(), prompt, greedy_params(60));
  REQUIRE(full.status == LOCI_OK);
  for (size_t k : {size_t(1), size_t(3), size_t(9)}) {
    INFO("stop after " << k << " chunks");
    const Run r = generate(model.get(), prompt, greedy_params(60), k);
    REQUIRE(r.status == LOCI_OK);
    CHECK(r.result.stop_reason == LOCI_STOP_CALLBACK);
    CHECK(r.out.chunks.size() == k);
    CHECK(full.out.text.rfind(r.out.text, 0) == 0);
    CHECK(r.result.prompt_tokens == prompt.size());
    // The counts fit the text: generating exactly that many tokens gives
    // exactly the text the callback saw.
    REQUIRE(r.result.generated_tokens >= 1);
    const Run same = generate(model.get(), prompt, greedy_params(int32_t(r.result.generated_tokens)));
    REQUIRE(same.status == LOCI_OK);
    CHECK(same.out.text == r.out.text);
    CHECK(same.result.last_token == r.result.last_token);
  }
}

TEST_CASE("bad stop strings are refused before any work", "[capi][generate]") {
  auto model = load();
  const std::vector<int32_t> prompt = once_prompt(model.get());
  auto s = make_session(model.get(), 256);
  auto sampler = greedy_sampler(model.get());
  Text out;
  loci_generate_result r;
  loci_generate_result_init(&r);
  r.generated_tokens = 4242;
  const char* with_null[] = {"ok", nullptr};
  const char* with_empty[] = {"ok", ""};
  loci_generate_params p = greedy_params(10);
  p.stop = with_null;
  p.n_stop = 2;
  CHECK(loci_generate(s.get(), sampler.get(), prompt.data(), prompt.size(), &p, Text::on_text, &out, &r) ==
        LOCI_ERR_INVALID_ARGUMENT);
  CHECK(contains(loci_last_error(), "1"));
  p.stop = with_empty;
  CHECK(loci_generate(s.get(), sampler.get(), prompt.data(), prompt.size(), &p, Text::on_text, &out, &r) ==
        LOCI_ERR_INVALID_ARGUMENT);
  p.stop = nullptr;
  p.n_stop = 1;
  CHECK(loci_generate(s.get(), sampler.get(), prompt.data(), prompt.size(), &p, Text::on_text, &out, &r) ==
        LOCI_ERR_INVALID_ARGUMENT);
  // Bad struct sizes too.
  p = greedy_params(10);
  p.struct_size = 0;
  CHECK(loci_generate(s.get(), sampler.get(), prompt.data(), prompt.size(), &p, Text::on_text, &out, &r) ==
        LOCI_ERR_ABI_MISMATCH);
  p = greedy_params(10);
  loci_generate_result bad_result;
  loci_generate_result_init(&bad_result);
  bad_result.struct_size = 2;
  CHECK(loci_generate(s.get(), sampler.get(), prompt.data(), prompt.size(), &p, Text::on_text, &out, &bad_result) ==
        LOCI_ERR_ABI_MISMATCH);
  CHECK(out.chunks.empty());
  CHECK(loci_session_position(s.get()) == 0);
  CHECK(r.generated_tokens == 4242);
  // No prompt and no logits yet: nothing to sample from.
  CHECK(loci_generate(s.get(), sampler.get(), nullptr, 0, &p, Text::on_text, &out, &r) != LOCI_OK);
  CHECK(r.generated_tokens == 4242);
}

TEST_CASE("generate params and result struct_size rules", "[capi][generate][abi]") {
  auto model = load();
  const std::vector<int32_t> prompt = once_prompt(model.get());
  SECTION("params covering only max_tokens get the other defaults") {
    loci_generate_params p;
    std::memset(&p, 0xFF, sizeof p);
    p.struct_size = offsetof(loci_generate_params, stop);
    p.max_tokens = 7;
    const Run r = generate(model.get(), prompt, p);
    INFO(loci_last_error());
    REQUIRE(r.status == LOCI_OK);
    CHECK(r.result.generated_tokens == 7);
  }
  SECTION("a larger params struct: zero tail fine, nonzero refused") {
    alignas(16) unsigned char buf[sizeof(loci_generate_params) + 16] = {};
    loci_generate_params p = greedy_params(3);
    p.struct_size = sizeof buf;
    std::memcpy(buf, &p, sizeof p);
    const auto* big = reinterpret_cast<const loci_generate_params*>(buf);
    const Run ok = generate(model.get(), prompt, *big);
    INFO(loci_last_error());
    CHECK(ok.status == LOCI_OK);
    CHECK(ok.result.generated_tokens == 3);
    buf[sizeof(loci_generate_params) + 3] = 1;
    const Run bad = generate(model.get(), prompt, *big);
    CHECK(bad.status == LOCI_ERR_ABI_MISMATCH);
    CHECK(bad.out.chunks.empty());
  }
  SECTION("a result struct from an older header is written only so far") {
    auto s = make_session(model.get(), 256);
    auto sampler = greedy_sampler(model.get());
    loci_generate_params p = greedy_params(5);
    loci_generate_result r;
    std::memset(&r, 0xAB, sizeof r);
    r.struct_size = offsetof(loci_generate_result, prompt_tokens);
    REQUIRE(loci_generate(s.get(), sampler.get(), prompt.data(), prompt.size(), &p, nullptr, nullptr, &r) == LOCI_OK);
    CHECK(r.stop_reason == LOCI_STOP_MAX_TOKENS);
    CHECK(r.stop_index == -1);
    const auto* bytes = reinterpret_cast<const unsigned char*>(&r);
    for (size_t i = offsetof(loci_generate_result, prompt_tokens); i < sizeof r; ++i) CHECK(int(bytes[i]) == 0xAB);
  }
}

TEST_CASE("a cancel callback stops generate with LOCI_ERR_CANCELLED", "[capi][generate][cancel]") {
  auto model = load();
  const std::vector<int32_t> prompt = once_prompt(model.get());
  std::atomic<bool> stop{false};
  loci_session_params sp = session_params(256);
  sp.cancel = flag_cancel;
  sp.cancel_user = &stop;
  auto s = make_session(model.get(), sp);
  auto sampler = greedy_sampler(model.get());
  struct Stopper {
    Text text;
    std::atomic<bool>* flag;
    static int32_t on_text(void* user, const char* t, size_t n) {
      auto* self = static_cast<Stopper*>(user);
      Text::on_text(&self->text, t, n);
      if (self->text.chunks.size() == 3) self->flag->store(true);
      return 0;
    }
  } stopper{{}, &stop};
  loci_generate_params p = greedy_params(100);
  loci_generate_result r;
  loci_generate_result_init(&r);
  r.generated_tokens = 4242;
  CHECK(loci_generate(s.get(), sampler.get(), prompt.data(), prompt.size(), &p, Stopper::on_text, &stopper, &r) ==
        LOCI_ERR_CANCELLED);
  CHECK(std::string(loci_last_error()).rfind("cancelled: ", 0) == 0);
  CHECK(stopper.text.chunks.size() >= 3);
  CHECK(stopper.text.chunks.size() < 10);
  CHECK(r.generated_tokens == 4242);  // untouched on failure
}

TEST_CASE("cancel from another thread stops a long generate", "[capi][generate][cancel][threads]") {
  auto model = load();
  const std::vector<int32_t> prompt = once_prompt(model.get());
  for (int round = 0; round < 3; ++round) {
    INFO("round " << round);
    auto s = make_session(model.get(), 512);
    auto sampler = greedy_sampler(model.get());
    // The first text wakes the canceller; the callback then waits until the
    // cancel is in, so the request lands while the generate is running.
    struct Handshake {
      std::mutex mu;
      std::condition_variable cv;
      bool text_seen = false, cancel_sent = false;
      size_t chunks = 0;
      static int32_t on_text(void* user, const char*, size_t) {
        auto* h = static_cast<Handshake*>(user);
        std::unique_lock<std::mutex> lock(h->mu);
        if (h->chunks++ == 0) {
          h->text_seen = true;
          h->cv.notify_all();
          h->cv.wait(lock, [h] { return h->cancel_sent; });
        }
        return 0;
      }
    } h;
    std::thread canceller([&] {
      std::unique_lock<std::mutex> lock(h.mu);
      h.cv.wait(lock, [&] { return h.text_seen; });
      loci_session_cancel(s.get());
      h.cancel_sent = true;
      h.cv.notify_all();
    });
    loci_generate_params p = greedy_params(-1);
    p.stop_at_eog = 0;  // would run until the context is full
    const loci_status st =
        loci_generate(s.get(), sampler.get(), prompt.data(), prompt.size(), &p, Handshake::on_text, &h, nullptr);
    canceller.join();
    CHECK(st == LOCI_ERR_CANCELLED);
    CHECK(h.chunks >= 1);
    CHECK(h.chunks < 10);
    CHECK(loci_session_position(s.get()) < 20);
    // Consumed: the session works again.
    loci_session_reset(s.get());
    CHECK(loci_session_eval(s.get(), prompt.data(), prompt.size()) == LOCI_OK);
  }
}

TEST_CASE("the timeout stops generate with LOCI_ERR_DEADLINE_EXCEEDED", "[capi][generate][timeout]") {
  auto model = load();
  const std::vector<int32_t> prompt = once_prompt(model.get());
  std::atomic<int> polls{0};
  loci_session_params sp = session_params(256);
  sp.cancel = sleepy_cancel;
  sp.cancel_user = &polls;
  sp.timeout_ms = 1;
  auto s = make_session(model.get(), sp);
  auto sampler = greedy_sampler(model.get());
  loci_generate_params p = greedy_params(4);
  Text out;
  CHECK(loci_generate(s.get(), sampler.get(), prompt.data(), prompt.size(), &p, Text::on_text, &out, nullptr) ==
        LOCI_ERR_DEADLINE_EXCEEDED);
  const std::string msg = loci_last_error();
  INFO(msg);
  CHECK(contains(msg, "timeout"));
  CHECK(contains(msg, "1 ms"));
  CHECK(out.chunks.empty());  // it stopped in the prefill
  CHECK(loci_session_position(s.get()) == 0);

  REQUIRE(loci_session_set_timeout(s.get(), 0) == LOCI_OK);
  loci_generate_result r;
  loci_generate_result_init(&r);
  REQUIRE(loci_generate(s.get(), sampler.get(), prompt.data(), prompt.size(), &p, Text::on_text, &out, &r) == LOCI_OK);
  CHECK(r.stop_reason == LOCI_STOP_MAX_TOKENS);
  CHECK(r.generated_tokens == 4);
}

TEST_CASE("a timeout during decode returns DEADLINE_EXCEEDED after the text so far", "[capi][generate][timeout]") {
  auto model = load();
  const std::vector<int32_t> prompt = once_prompt(model.get());
  // Once text has arrived, the next poll sleeps past the timeout, so the
  // deadline falls in the decode however loaded the machine is.
  struct Slow {
    Text text;
    std::atomic<int> polls{0};
    static int32_t cancel(void* user) {
      auto* self = static_cast<Slow*>(user);
      ++self->polls;
      if (!self->text.chunks.empty()) std::this_thread::sleep_for(std::chrono::milliseconds(320));
      return 0;
    }
    static int32_t on_text(void* user, const char* t, size_t n) {
      return Text::on_text(&static_cast<Slow*>(user)->text, t, n);
    }
  } slow;
  loci_session_params sp = session_params(256);
  sp.cancel = Slow::cancel;
  sp.cancel_user = &slow;
  sp.timeout_ms = 300;
  auto s = make_session(model.get(), sp);
  auto sampler = greedy_sampler(model.get());
  loci_generate_params p = greedy_params(100);
  CHECK(loci_generate(s.get(), sampler.get(), prompt.data(), prompt.size(), &p, Slow::on_text, &slow, nullptr) ==
        LOCI_ERR_DEADLINE_EXCEEDED);
  CHECK(contains(loci_last_error(), "300 ms"));
  CHECK(slow.text.chunks.size() == 1);
  CHECK(slow.polls.load() == 11);  // two polls in each of five layers of prefill, then the first decode poll
  CHECK(loci_session_position(s.get()) == prompt.size());
}

TEST_CASE("a sampler's vocabulary-sized buffers come from the caller's allocator", "[capi][alloc]") {
  // loci.h: the allocator "receives every block loci sizes from the model";
  // only tokenizer tables, tensor lists and error messages are exempt.
  CountingAllocator counter;
  AllocatorGuard guard(&counter);
  size_t bytes = 0;
  {
    auto model = load();
    const size_t before = counter.bytes_live;
    auto sampler = greedy_sampler(model.get());
    bytes = counter.bytes_live - before;
  }
  // Candidates (id + logit) and softmax weights for 512 tokens at least.
  CHECK(bytes >= 512 * (sizeof(float) + sizeof(int32_t) + sizeof(float)));
}
