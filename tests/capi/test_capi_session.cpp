// The C ABI's sessions: logits against the C++ Session, failures that leave
// the session as it was, the struct_size rules on session params, memory and
// its budget, cancel and timeout, and sessions on two threads.
#include <atomic>
#include <chrono>
#include <cmath>
#include <string>
#include <thread>
#include <vector>

#include "capi_util.h"
#include "loci/model.h"

using namespace capit;

namespace {

loci_session* const kSentinelSession = reinterpret_cast<loci_session*>(uintptr_t(0x5e55105e0));

std::shared_ptr<const loci::Model> cpp_model() {
  auto m = loci::Model::load(shared_model());
  if (!m.is_ok()) FAIL(m.status().to_string());
  return *m;
}

std::unique_ptr<loci::Session> cpp_session(loci::DType kv = loci::DType::F16, uint32_t n_ctx = 64) {
  loci::SessionOptions o;
  o.n_ctx = n_ctx;
  o.n_threads = 2;
  o.kv_dtype = kv;
  auto s = loci::Session::create(cpp_model(), o);
  if (!s.is_ok()) FAIL(s.status().to_string());
  return std::move(s).value();
}

loci_memory_estimate memory_of(const loci_session* s) {
  loci_memory_estimate e;
  loci_memory_estimate_init(&e);
  const loci_status st = loci_session_memory(s, &e);
  INFO(loci_last_error());
  REQUIRE(st == LOCI_OK);
  return e;
}

int32_t sleepy_cancel(void* user) {
  std::this_thread::sleep_for(std::chrono::milliseconds(5));
  ++*static_cast<std::atomic<int>*>(user);
  return 0;
}

int32_t always_cancel(void* user) {
  ++*static_cast<std::atomic<int>*>(user);
  return 1;
}

}  // namespace

TEST_CASE("eval logits are bitwise the C++ session's", "[capi][session]") {
  auto model = load();
  for (int32_t kv : {LOCI_KV_F16, LOCI_KV_F32}) {
    INFO("kv type " << kv);
    loci_session_params p = session_params(64);
    p.kv_type = kv;
    auto s = make_session(model.get(), p);
    auto c = cpp_session(kv == LOCI_KV_F32 ? loci::DType::F32 : loci::DType::F16);
    CHECK(loci_session_logits(s.get()) == nullptr);
    const auto& t = tokens8();
    REQUIRE(loci_session_eval(s.get(), t.data(), 5) == LOCI_OK);
    REQUIRE(c->eval(t.data(), 5).is_ok());
    CHECK(same_bits(std::vector<float>(c->logits(), c->logits() + c->n_vocab()), loci_session_logits(s.get())));
    // A one-token decode step too.
    REQUIRE(loci_session_eval(s.get(), t.data() + 5, 1) == LOCI_OK);
    REQUIRE(c->eval(t.data() + 5, 1).is_ok());
    CHECK(same_bits(std::vector<float>(c->logits(), c->logits() + c->n_vocab()), loci_session_logits(s.get())));
    CHECK(loci_session_position(s.get()) == 6);
  }
}

TEST_CASE("eval_all rows equal C++ all_logits and a token-by-token eval", "[capi][session]") {
  auto model = load();
  auto s = make_session(model.get());
  const auto& t = tokens8();
  const size_t n_vocab = size_t(loci_session_n_vocab(s.get()));
  REQUIRE(n_vocab == 512);
  std::vector<float> rows(t.size() * n_vocab + 3, 7.0f);
  REQUIRE(loci_session_eval_all(s.get(), t.data(), t.size(), rows.data(), rows.size()) == LOCI_OK);
  CHECK(rows[t.size() * n_vocab] == 7.0f);  // nothing past the rows
  // The last row is also what loci_session_logits shows.
  CHECK(same_bits(std::vector<float>(rows.end() - 3 - n_vocab, rows.end() - 3), loci_session_logits(s.get())));

  auto c = cpp_session();
  std::vector<float> cpp_rows(t.size() * n_vocab);
  REQUIRE(c->eval(t.data(), t.size(), cpp_rows.data(), n_vocab * sizeof(float)).is_ok());
  CHECK(std::memcmp(cpp_rows.data(), rows.data(), cpp_rows.size() * sizeof(float)) == 0);

  auto one = make_session(model.get());
  for (size_t i = 0; i < t.size(); ++i) {
    REQUIRE(loci_session_eval(one.get(), &t[i], 1) == LOCI_OK);
    const float* l = loci_session_logits(one.get());
    REQUIRE(l != nullptr);
    float worst = 0;
    for (size_t j = 0; j < n_vocab; ++j) worst = std::max(worst, std::fabs(l[j] - rows[i * n_vocab + j]));
    INFO("row " << i);
    CHECK(worst <= 1e-4f);
  }
}

TEST_CASE("eval_all with too little room fails before any work", "[capi][session]") {
  auto model = load();
  auto s = make_session(model.get());
  const auto& t = tokens8();
  REQUIRE(loci_session_eval(s.get(), t.data(), 2) == LOCI_OK);
  std::vector<float> rows(3 * 512 - 1, 7.0f);
  CHECK(loci_session_eval_all(s.get(), t.data() + 2, 3, rows.data(), rows.size()) == LOCI_ERR_BUFFER_TOO_SMALL);
  CHECK(contains(loci_last_error(), std::to_string(rows.size())));
  CHECK(loci_session_position(s.get()) == 2);
  for (float v : rows) REQUIRE(v == 7.0f);
  // The one failure loci.h exempts from clearing the logits.
  CHECK(loci_session_logits(s.get()) != nullptr);
  // The cache is as it was: continuing gives the same logits as a fresh run.
  REQUIRE(loci_session_eval(s.get(), t.data() + 2, 3) == LOCI_OK);
  auto fresh = make_session(model.get());
  REQUIRE(loci_session_eval(fresh.get(), t.data(), 5) == LOCI_OK);
  CHECK(same_bits(logits_of(fresh.get()), loci_session_logits(s.get())));
}

TEST_CASE("a failed eval leaves no logits as loci.h says for any failure", "[capi][session]") {
  auto model = load();
  auto s = make_session(model.get());
  const auto& t = tokens8();
  REQUIRE(loci_session_eval(s.get(), t.data(), 3) == LOCI_OK);
  REQUIRE(loci_session_logits(s.get()) != nullptr);
  SECTION("a bad token") {
    const int32_t bad[] = {t[3], 512};
    CHECK(loci_session_eval(s.get(), bad, 2) != LOCI_OK);
    CHECK(contains(loci_last_error(), "512"));
  }
  SECTION("a negative token") {
    const int32_t bad = -1;
    CHECK(loci_session_eval(s.get(), &bad, 1) != LOCI_OK);
  }
  SECTION("past the context") {
    std::vector<int32_t> many(62, 300);
    CHECK(loci_session_eval(s.get(), many.data(), many.size()) == LOCI_ERR_OUT_OF_RANGE);
  }
  CHECK(loci_session_position(s.get()) == 3);
  CHECK(loci_session_logits(s.get()) == nullptr);
}

TEST_CASE("a bad token id is LOCI_ERR_OUT_OF_RANGE everywhere", "[capi][tokens]") {
  // loci.h: "a token id outside the vocabulary" is LOCI_ERR_OUT_OF_RANGE.
  auto model = load();
  auto s = make_session(model.get());
  auto sampler = greedy_sampler(model.get());
  char buf[16];
  size_t len = 0;
  for (int32_t bad : {-1, 512, INT32_MAX}) {
    INFO("token " << bad);
    CHECK(loci_session_eval(s.get(), &bad, 1) == LOCI_ERR_OUT_OF_RANGE);
    CHECK(loci_sampler_accept(sampler.get(), bad) == LOCI_ERR_OUT_OF_RANGE);
    CHECK(loci_token_piece(model.get(), bad, 0, buf, sizeof buf, &len) == LOCI_ERR_OUT_OF_RANGE);
    CHECK(loci_detokenize(model.get(), &bad, 1, 0, buf, sizeof buf, &len) == LOCI_ERR_OUT_OF_RANGE);
  }
}

TEST_CASE("getters and reset and truncate", "[capi][session]") {
  auto model = load();
  loci_model_info info;
  loci_model_info_init(&info);
  REQUIRE(loci_model_get_info(model.get(), &info) == LOCI_OK);
  {
    auto dflt = make_session(model.get(), session_params(0));
    CHECK(loci_session_n_ctx(dflt.get()) == std::min<size_t>(size_t(info.n_ctx_train), 4096));
  }
  auto s = make_session(model.get(), 48);
  CHECK(loci_session_n_ctx(s.get()) == 48);
  CHECK(loci_session_n_vocab(s.get()) == info.n_vocab);
  CHECK(loci_session_position(s.get()) == 0);
  const auto& t = tokens8();
  REQUIRE(loci_session_eval(s.get(), t.data(), 5) == LOCI_OK);
  const std::vector<float> after5 = logits_of(s.get());
  REQUIRE(loci_session_eval(s.get(), t.data() + 5, 3) == LOCI_OK);
  CHECK(loci_session_position(s.get()) == 8);

  // Truncating to the same position keeps the logits.
  REQUIRE(loci_session_truncate(s.get(), 8) == LOCI_OK);
  CHECK(loci_session_logits(s.get()) != nullptr);
  // Past the end: refused, nothing changes.
  CHECK(loci_session_truncate(s.get(), 9) == LOCI_ERR_OUT_OF_RANGE);
  CHECK(loci_session_position(s.get()) == 8);
  CHECK(loci_session_logits(s.get()) != nullptr);
  // Dropping tokens drops the logits; replaying gives them back exactly.
  REQUIRE(loci_session_truncate(s.get(), 4) == LOCI_OK);
  CHECK(loci_session_position(s.get()) == 4);
  CHECK(loci_session_logits(s.get()) == nullptr);
  REQUIRE(loci_session_eval(s.get(), t.data() + 4, 1) == LOCI_OK);
  CHECK(same_bits(after5, loci_session_logits(s.get())));

  loci_session_reset(s.get());
  CHECK(loci_session_position(s.get()) == 0);
  CHECK(loci_session_logits(s.get()) == nullptr);
  REQUIRE(loci_session_eval(s.get(), t.data(), 5) == LOCI_OK);
  CHECK(same_bits(after5, loci_session_logits(s.get())));
  // Evaluating nothing is fine and changes nothing.
  CHECK(loci_session_eval(s.get(), nullptr, 0) == LOCI_OK);
  CHECK(loci_session_position(s.get()) == 5);
}

TEST_CASE("a session outlives its freed model handle", "[capi][session]") {
  auto model = load();
  auto s = make_session(model.get());
  const auto& t = tokens8();
  auto ref = make_session(model.get());
  REQUIRE(loci_session_eval(ref.get(), t.data(), t.size()) == LOCI_OK);
  model.reset();
  REQUIRE(loci_session_eval(s.get(), t.data(), t.size()) == LOCI_OK);
  CHECK(same_bits(logits_of(ref.get()), loci_session_logits(s.get())));
}

TEST_CASE("session create failures leave out_session untouched", "[capi][session][abi]") {
  auto model = load();
  loci_session* s = kSentinelSession;
  loci_session_params p = session_params();
  p.kv_type = 7;
  CHECK(loci_session_create(model.get(), &p, &s) == LOCI_ERR_INVALID_ARGUMENT);
  CHECK(contains(loci_last_error(), "kv_type"));
  CHECK(s == kSentinelSession);
  p = session_params();
  p.struct_size = 0;
  CHECK(loci_session_create(model.get(), &p, &s) == LOCI_ERR_ABI_MISMATCH);
  CHECK(s == kSentinelSession);
  p = session_params();
  p.memory_budget = 1000;
  CHECK(loci_session_create(model.get(), &p, &s) == LOCI_ERR_OUT_OF_MEMORY);
  CHECK(s == kSentinelSession);
}

TEST_CASE("the estimate refuses what session create refuses", "[capi][session][memory]") {
  auto model = load();
  loci_session_params p = session_params();
  p.kv_type = 7;
  loci_memory_estimate e;
  std::memset(&e, 0xAB, sizeof e);
  e.struct_size = sizeof e;
  CHECK(loci_model_estimate_memory(model.get(), &p, &e) == LOCI_ERR_INVALID_ARGUMENT);
  CHECK(loci_estimate_memory(shared_model().c_str(), &p, &e) == LOCI_ERR_INVALID_ARGUMENT);
  CHECK(e.kv_cache == 0xABABABABABABABABull);
}

TEST_CASE("session params struct_size rules", "[capi][abi]") {
  auto model = load();
  const loci_memory_estimate f32 = [&] {
    loci_session_params p = session_params(64);
    p.kv_type = LOCI_KV_F32;
    return memory_of(make_session(model.get(), p).get());
  }();
  const loci_memory_estimate f16 = [&] {
    loci_session_params p = session_params(64);
    p.kv_type = LOCI_KV_F16;
    return memory_of(make_session(model.get(), p).get());
  }();

  SECTION("a params struct from an older header gets defaults for the rest") {
    // Covering only n_ctx; the other fields hold junk that must be ignored.
    loci_session_params p;
    std::memset(&p, 0xFF, sizeof p);
    p.struct_size = offsetof(loci_session_params, n_batch);
    p.n_ctx = 64;
    auto s = make_session(model.get(), p);
    CHECK(loci_session_n_ctx(s.get()) == 64);
    const loci_memory_estimate m = memory_of(s.get());
    // F16, the default: the same as an explicit F16 session, about half F32.
    CHECK(m.kv_cache == f16.kv_cache);
    CHECK(m.kv_cache < f32.kv_cache);
    CHECK(m.kv_cache * 2 >= f32.kv_cache - 256);
    CHECK(m.scratch == f16.scratch);
    // The junk past struct_size (timeout, budget, cancel) was not read.
    REQUIRE(loci_session_eval(s.get(), tokens8().data(), 3) == LOCI_OK);
  }
  SECTION("a larger struct with a zero tail is fine") {
    alignas(16) unsigned char buf[sizeof(loci_session_params) + 16] = {};
    loci_session_params p = session_params(64);
    p.kv_type = LOCI_KV_F32;
    p.struct_size = sizeof buf;
    std::memcpy(buf, &p, sizeof p);
    loci_session* s = nullptr;
    REQUIRE(loci_session_create(model.get(), reinterpret_cast<loci_session_params*>(buf), &s) == LOCI_OK);
    SessionPtr owned(s);
    CHECK(memory_of(s).kv_cache == f32.kv_cache);
  }
  SECTION("a larger struct with a nonzero tail byte is refused") {
    for (size_t at : {sizeof(loci_session_params), sizeof(loci_session_params) + 15}) {
      alignas(16) unsigned char buf[sizeof(loci_session_params) + 16] = {};
      loci_session_params p = session_params(64);
      p.struct_size = sizeof buf;
      std::memcpy(buf, &p, sizeof p);
      buf[at] = 1;
      loci_session* s = kSentinelSession;
      CHECK(loci_session_create(model.get(), reinterpret_cast<loci_session_params*>(buf), &s) ==
            LOCI_ERR_ABI_MISMATCH);
      CHECK(s == kSentinelSession);
      INFO(loci_last_error());
      CHECK(contains(loci_last_error(), std::to_string(at)));
    }
  }
  SECTION("struct_size 0 is refused everywhere params are read") {
    loci_session_params p = session_params();
    p.struct_size = 0;
    loci_memory_estimate e;
    loci_memory_estimate_init(&e);
    CHECK(loci_model_estimate_memory(model.get(), &p, &e) == LOCI_ERR_ABI_MISMATCH);
    CHECK(loci_estimate_memory(shared_model().c_str(), &p, &e) == LOCI_ERR_ABI_MISMATCH);
    CHECK(e.kv_cache == 0);
  }
}

TEST_CASE("memory estimate and session memory and the budget agree", "[capi][memory]") {
  CountingAllocator counter;
  AllocatorGuard guard(&counter);
  auto model = load();
  const loci_session_params p = session_params(64);
  loci_memory_estimate est, est_path;
  loci_memory_estimate_init(&est);
  loci_memory_estimate_init(&est_path);
  REQUIRE(loci_model_estimate_memory(model.get(), &p, &est) == LOCI_OK);
  REQUIRE(loci_estimate_memory(shared_model().c_str(), &p, &est_path) == LOCI_OK);
  CHECK(std::memcmp(&est, &est_path, sizeof est) == 0);
  CHECK(est.kv_cache > 0);
  CHECK(est.scratch > 0);
  CHECK(est.weights_mapped > 0);
  CHECK(est.total == est.weights_mapped + est.model_heap + est.kv_cache + est.scratch);
  const uint64_t need = est.kv_cache + est.scratch;

  SECTION("a budget one byte short is refused before allocating") {
    loci_session_params b = p;
    b.memory_budget = need - 1;
    const size_t allocs = counter.allocs;
    const size_t live = counter.live_count();
    loci_session* s = kSentinelSession;
    CHECK(loci_session_create(model.get(), &b, &s) == LOCI_ERR_OUT_OF_MEMORY);
    CHECK(s == kSentinelSession);
    const std::string msg = loci_last_error();
    INFO(msg);
    CHECK(contains(msg, std::to_string(need - 1)));
    CHECK(contains(msg, std::to_string(need)));
    // At most the session handle was allocated, and it is back.
    CHECK(counter.allocs - allocs <= 1);
    CHECK(counter.largest < need);
    CHECK(counter.live_count() == live);
  }
  SECTION("a budget of exactly kv_cache + scratch is enough") {
    loci_session_params b = p;
    b.memory_budget = need;
    auto s = make_session(model.get(), b);
    const loci_memory_estimate m = memory_of(s.get());
    CHECK(m.kv_cache == est.kv_cache);
    CHECK(m.scratch == est.scratch);
    // The arena came from our allocator: at least what was planned, and over
    // it by no more than the block header and rounding.
    CHECK(counter.largest >= need);
    CHECK(counter.largest <= need + 128);
    REQUIRE(loci_session_eval(s.get(), tokens8().data(), tokens8().size()) == LOCI_OK);
  }
}

TEST_CASE("cancel before eval stops it once", "[capi][cancel]") {
  auto model = load();
  auto s = make_session(model.get());
  const auto& t = tokens8();
  REQUIRE(loci_session_eval(s.get(), t.data(), 2) == LOCI_OK);
  loci_session_cancel(s.get());
  CHECK(loci_session_eval(s.get(), t.data() + 2, 3) == LOCI_ERR_CANCELLED);
  CHECK(std::string(loci_last_error()).rfind("cancelled: ", 0) == 0);
  CHECK(loci_session_position(s.get()) == 2);
  CHECK(loci_session_logits(s.get()) == nullptr);
  // The request was consumed.
  REQUIRE(loci_session_eval(s.get(), t.data() + 2, 3) == LOCI_OK);
  auto fresh = make_session(model.get());
  REQUIRE(loci_session_eval(fresh.get(), t.data(), 5) == LOCI_OK);
  CHECK(same_bits(logits_of(fresh.get()), loci_session_logits(s.get())));
}

namespace {
// Calls loci_session_cancel from poll number `cancel_at` (0: never). The last
// poll of an eval is too late to stop it.
struct LateCancel {
  loci_session* session = nullptr;
  int polls = 0;
  int cancel_at = 0;
};
int32_t cancel_on_poll(void* user) {
  auto* c = static_cast<LateCancel*>(user);
  if (++c->polls == c->cancel_at) loci_session_cancel(c->session);
  return 0;
}
}  // namespace

TEST_CASE("a cancel that arrives too late does not outlive its call", "[capi][cancel]") {
  auto model = load();
  const auto& t = tokens8();
  // How many times one single-token eval polls.
  LateCancel count;
  loci_session_params p = session_params();
  p.cancel = cancel_on_poll;
  p.cancel_user = &count;
  {
    auto s = make_session(model.get(), p);
    REQUIRE(loci_session_eval(s.get(), t.data(), 1) == LOCI_OK);
  }
  REQUIRE(count.polls >= 2);
  LateCancel late;
  late.cancel_at = count.polls;
  p.cancel_user = &late;
  auto s = make_session(model.get(), p);
  late.session = s.get();
  CHECK(loci_session_eval(s.get(), t.data(), 1) == LOCI_OK);
  REQUIRE(late.polls == count.polls);
  CHECK(loci_session_eval(s.get(), t.data() + 1, 1) == LOCI_OK);
  CHECK(loci_session_position(s.get()) == 2);
}

TEST_CASE("a cancel callback returning nonzero cancels", "[capi][cancel]") {
  auto model = load();
  std::atomic<int> polls{0};
  loci_session_params p = session_params();
  p.cancel = always_cancel;
  p.cancel_user = &polls;
  auto s = make_session(model.get(), p);
  CHECK(loci_session_eval(s.get(), tokens8().data(), 4) == LOCI_ERR_CANCELLED);
  CHECK(polls.load() >= 1);
  CHECK(loci_session_position(s.get()) == 0);
  CHECK(loci_session_logits(s.get()) == nullptr);
}

TEST_CASE("the timeout stops a slow eval and 0 removes it", "[capi][timeout]") {
  auto model = load();
  std::atomic<int> polls{0};
  loci_session_params p = session_params();
  p.timeout_ms = 1;
  p.cancel = sleepy_cancel;  // 5 ms per poll: one poll outlasts the timeout
  p.cancel_user = &polls;
  auto s = make_session(model.get(), p);
  const auto& t = tokens8();
  CHECK(loci_session_eval(s.get(), t.data(), 4) == LOCI_ERR_DEADLINE_EXCEEDED);
  const std::string msg = loci_last_error();
  INFO(msg);
  CHECK(msg.rfind("deadline_exceeded: ", 0) == 0);
  CHECK(contains(msg, "1 ms"));
  CHECK(loci_session_position(s.get()) == 0);
  CHECK(loci_session_logits(s.get()) == nullptr);

  // Each call gets a fresh clock, so it fails again rather than never.
  CHECK(loci_session_eval(s.get(), t.data(), 4) == LOCI_ERR_DEADLINE_EXCEEDED);

  REQUIRE(loci_session_set_timeout(s.get(), 0) == LOCI_OK);
  polls = 0;
  REQUIRE(loci_session_eval(s.get(), t.data(), 4) == LOCI_OK);
  CHECK(polls.load() >= 2);  // it really was slow, and ran to the end
  CHECK(loci_session_position(s.get()) == 4);

  // A generous timeout set later lets the call finish.
  REQUIRE(loci_session_set_timeout(s.get(), 60000) == LOCI_OK);
  REQUIRE(loci_session_eval(s.get(), t.data() + 4, 2) == LOCI_OK);
  CHECK(loci_session_position(s.get()) == 6);
}

TEST_CASE("two sessions of one model on two threads match serial runs", "[capi][threads]") {
  auto model = load();
  const std::vector<int32_t> a = tokens8();
  const std::vector<int32_t> b = {1, 300, 301, 302, 303, 304, 305, 306, 307, 308};
  // Token by token, so the two threads interleave many small calls.
  auto run = [](loci_session* s, const std::vector<int32_t>* toks, loci_status* r, std::vector<float>* out) {
    for (int32_t t : *toks)
      if ((*r = loci_session_eval(s, &t, 1)) != LOCI_OK) return;
    const float* l = loci_session_logits(s);
    if (!l) {
      *r = -1;
      return;
    }
    out->assign(l, l + loci_session_n_vocab(s));
  };
  std::vector<float> serial_a, serial_b;
  loci_status ra = -1, rb = -1;
  {
    auto s = make_session(model.get());
    run(s.get(), &a, &ra, &serial_a);
    loci_session_reset(s.get());
    run(s.get(), &b, &rb, &serial_b);
    REQUIRE(ra == LOCI_OK);
    REQUIRE(rb == LOCI_OK);
  }
  for (int round = 0; round < 4; ++round) {
    INFO("round " << round);
    auto sa = make_session(model.get());
    auto sb = make_session(model.get());
    std::vector<float> got_a, got_b;
    ra = rb = -1;
    std::thread ta(run, sa.get(), &a, &ra, &got_a);
    std::thread tb(run, sb.get(), &b, &rb, &got_b);
    ta.join();
    tb.join();
    REQUIRE(ra == LOCI_OK);
    REQUIRE(rb == LOCI_OK);
    CHECK(same_bits(serial_a, got_a.data()));
    CHECK(same_bits(serial_b, got_b.data()));
  }
}
