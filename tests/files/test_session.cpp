// Session behaviour on a real model: errors leave state untouched, truncate
// and reset replay exactly, sessions share one model, memory is as planned.
#include <catch2/catch.hpp>

#include <cstring>
#include <vector>

#include "loci/model.h"
#include "support/test_support.h"

namespace {

std::shared_ptr<const loci::Model> stories(const char* file = "stories260K.gguf") {
  const std::string path = loci::test::shared_dir() + "/models/" + file;
  auto m = loci::Model::load(path);
  if (!m.is_ok()) FAIL(m.status().to_string());
  return *m;
}

std::unique_ptr<loci::Session> session(std::shared_ptr<const loci::Model> m, loci::SessionOptions o = {}) {
  if (!o.n_ctx) o.n_ctx = 64;
  auto s = loci::Session::create(std::move(m), o);
  if (!s.is_ok()) FAIL(s.status().to_string());
  return std::move(s).value();
}

std::vector<float> logits_of(const loci::Session& s) { return {s.logits(), s.logits() + s.n_vocab()}; }

const std::vector<int32_t> kTokens = {1, 403, 407, 261, 378, 300, 301, 302};

}  // namespace

TEST_CASE("session: hyperparameters come from the file", "[session]") {
  auto m = stories();
  const loci::HParams& hp = m->hparams();
  CHECK(hp.arch == loci::Arch::kLlama);
  CHECK(hp.n_embd == 64);
  CHECK(hp.n_layer == 5);
  CHECK(hp.n_head == 8);
  CHECK(hp.n_head_kv == 4);
  CHECK(hp.n_vocab == 512);
  CHECK(hp.n_ff == 172);
  CHECK_FALSE(hp.tied_embeddings);
  auto q = loci::Model::load(loci::test::shared_dir() + "/models/synth-qwen2-f32.gguf");
  REQUIRE(q.is_ok());
  CHECK((*q)->hparams().arch == loci::Arch::kQwen2);
  CHECK((*q)->hparams().rope_mode == loci::ops::RopeMode::kNeox);
  CHECK((*q)->hparams().rope_base == 1e6f);
  auto t = loci::Model::load(loci::test::shared_dir() + "/models/synth-llama-tied-ropefreqs-f32.gguf");
  REQUIRE(t.is_ok());
  CHECK((*t)->hparams().tied_embeddings);
  CHECK((*t)->hparams().has_rope_freqs);
}

TEST_CASE("session: prefill in one batch equals token-by-token decode", "[session]") {
  auto m = stories();
  loci::SessionOptions one;
  one.n_batch = 1;
  auto a = session(m), b = session(m, one);
  REQUIRE(a->eval(kTokens.data(), kTokens.size()).is_ok());
  for (int32_t t : kTokens) REQUIRE(b->eval(&t, 1).is_ok());
  CHECK(logits_of(*a) == logits_of(*b));
}

TEST_CASE("session: truncate and reset replay exactly", "[session]") {
  auto m = stories();
  auto s = session(m);
  REQUIRE(s->eval(kTokens.data(), 5).is_ok());
  const auto after5 = logits_of(*s);
  REQUIRE(s->eval(kTokens.data() + 5, 3).is_ok());
  CHECK(s->position() == 8);
  REQUIRE(s->truncate(4).is_ok());
  CHECK(s->logits() == nullptr);
  REQUIRE(s->eval(kTokens.data() + 4, 1).is_ok());
  CHECK(logits_of(*s) == after5);
  CHECK(s->truncate(9).code() == loci::StatusCode::kOutOfRange);
  s->reset();
  CHECK(s->position() == 0);
  REQUIRE(s->eval(kTokens.data(), 5).is_ok());
  CHECK(logits_of(*s) == after5);
}

TEST_CASE("session: bad input is refused and changes nothing", "[session]") {
  auto m = stories();
  auto s = session(m);
  REQUIRE(s->eval(kTokens.data(), 3).is_ok());
  const int32_t bad[] = {5, 512};
  const loci::Status st = s->eval(bad, 2);
  CHECK(st.code() == loci::StatusCode::kOutOfRange);
  CHECK(st.message().find("512") != std::string::npos);
  CHECK(s->position() == 3);
  const int32_t negative = -1;
  CHECK(s->eval(&negative, 1).code() == loci::StatusCode::kOutOfRange);
  CHECK(s->eval(nullptr, 1).code() == loci::StatusCode::kInvalidArgument);
  std::vector<int32_t> too_many(62, 300);  // 3 + 62 > n_ctx 64
  CHECK(s->eval(too_many.data(), too_many.size()).code() == loci::StatusCode::kOutOfRange);
  CHECK(s->position() == 3);
  float row[4];
  CHECK(s->eval(kTokens.data(), 1, row, sizeof(row)).code() == loci::StatusCode::kInvalidArgument);
}

TEST_CASE("session: bad options are refused", "[session]") {
  auto m = stories();
  loci::SessionOptions o;
  o.kv_dtype = loci::DType::Q8_0;
  CHECK(loci::Session::create(m, o).status().code() == loci::StatusCode::kInvalidArgument);
  o = {};
  o.n_batch = 0;
  CHECK(loci::Session::create(m, o).status().code() == loci::StatusCode::kOutOfRange);
  o = {};
  o.n_ctx = 1u << 30;
  CHECK(loci::Session::create(m, o).status().code() == loci::StatusCode::kOutOfRange);
  CHECK(loci::Session::create(nullptr, {}).status().code() == loci::StatusCode::kInvalidArgument);
}

TEST_CASE("session: sessions share one model without interfering", "[session]") {
  auto m = stories("stories260K-q8_0.gguf");
  auto a = session(m), b = session(m);
  REQUIRE(a->eval(kTokens.data(), 4).is_ok());
  REQUIRE(b->eval(kTokens.data() + 4, 4).is_ok());
  REQUIRE(a->eval(kTokens.data() + 4, 4).is_ok());
  auto c = session(m);
  REQUIRE(c->eval(kTokens.data(), 8).is_ok());
  CHECK(logits_of(*a) == logits_of(*c));
}

TEST_CASE("session: memory matches the estimate and scales with the context", "[session]") {
  auto m = stories();
  const loci::HParams& hp = m->hparams();
  loci::SessionOptions o;
  o.n_ctx = 128;
  o.kv_dtype = loci::DType::F16;
  auto e = m->estimate(o);
  REQUIRE(e.is_ok());
  auto s = session(m, o);
  CHECK(s->memory().kv_cache == e->kv_cache);
  CHECK(s->memory().scratch == e->scratch);
  CHECK(e->weights_mapped == m->gguf().tensor_bytes());
  auto before = loci::estimate_memory(m->gguf(), o);  // the same, without a Model
  REQUIRE(before.is_ok());
  CHECK(before->total() == e->total());
  // K and V, every layer and position, F16, plus per-buffer padding.
  const uint64_t kv_exact = 2ull * hp.n_layer * o.n_ctx * hp.n_head_kv * hp.head_dim * 2;
  CHECK(e->kv_cache >= kv_exact);
  CHECK(e->kv_cache <= kv_exact + 256);
  o.n_ctx = 256;
  o.kv_dtype = loci::DType::F32;
  auto e2 = m->estimate(o);
  REQUIRE(e2.is_ok());
  CHECK(e2->kv_cache >= 4 * kv_exact);
}

TEST_CASE("session: a cancel callback stops eval between layers", "[session]") {
  auto m = stories();
  int calls = 0;
  loci::SessionOptions o;
  o.cancel = [](void* user) { return ++*static_cast<int*>(user) > 2; };
  o.cancel_user = &calls;
  auto s = session(m, o);
  const loci::Status st = s->eval(kTokens.data(), 4);
  CHECK(st.code() == loci::StatusCode::kCancelled);
  CHECK(s->position() == 0);
  CHECK(s->logits() == nullptr);
  CHECK(calls == 3);
}
