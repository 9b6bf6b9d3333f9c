// The context is a hard limit: a prompt that does not fit is refused (there
// is no truncation policy), by eval and generate, in C++ and C, before
// anything is touched; filling it exactly works and writes nothing past the
// session's memory (checked with guard pages around every block the library
// takes from a caller allocator).
#include <sys/mman.h>
#include <unistd.h>

#include <cmath>
#include <cstring>
#include <map>

#include "capi/capi_util.h"
#include "loci/generate.h"
#include "loci/model.h"
#include "loci/sampler.h"

using namespace capit;

namespace {

constexpr size_t kCtx = 32;

std::vector<int32_t> tokens(size_t n, int32_t first = 300) {
  std::vector<int32_t> t(n);
  for (size_t i = 0; i < n; ++i) t[i] = first + int32_t(i % 150);
  t[0] = 1;  // BOS
  return t;
}

std::shared_ptr<const loci::Model> cpp_model() {
  auto m = loci::Model::load(shared_model());
  REQUIRE(m.is_ok());
  return *m;
}

std::unique_ptr<loci::Session> cpp_session(const std::shared_ptr<const loci::Model>& m, uint32_t n_ctx,
                                           uint32_t n_batch = 64) {
  loci::SessionOptions o;
  o.n_ctx = n_ctx;
  o.n_batch = n_batch;
  o.n_threads = 2;
  auto s = loci::Session::create(m, o);
  REQUIRE(s.is_ok());
  return std::move(*s);
}

std::vector<float> copy_logits(const loci::Session& s) {
  REQUIRE(s.logits() != nullptr);
  return std::vector<float>(s.logits(), s.logits() + s.n_vocab());
}

// Hands out blocks whose end (or start) touches an inaccessible page, so any
// access past the block faults at once.
struct GuardedAllocator {
  bool guard_front = false;  // false: the page after the block is the guard
  std::map<void*, std::pair<void*, size_t>> maps;  // block -> mapping
  static void* alloc(void* user, size_t size, size_t alignment) {
    auto* g = static_cast<GuardedAllocator*>(user);
    const size_t page = size_t(::sysconf(_SC_PAGESIZE));
    const size_t body = (size + page - 1) / page * page;
    const size_t total = body + page;
    void* m = ::mmap(nullptr, total, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (m == MAP_FAILED) return nullptr;
    auto* base = static_cast<uint8_t*>(m);
    uint8_t* block;
    if (g->guard_front) {
      ::mprotect(base, page, PROT_NONE);
      block = base + page;
    } else {
      ::mprotect(base + body, page, PROT_NONE);
      block = base + body - size;  // loci asks for multiples of the alignment
    }
    if (reinterpret_cast<uintptr_t>(block) % alignment) {
      ::munmap(m, total);
      return nullptr;
    }
    g->maps[block] = {m, total};
    return block;
  }
  static void free(void* user, void* p, size_t) {
    auto* g = static_cast<GuardedAllocator*>(user);
    auto it = g->maps.find(p);
    if (it == g->maps.end()) return;
    ::munmap(it->second.first, it->second.second);
    g->maps.erase(it);
  }
};

struct GuardedAllocatorInstalled {
  explicit GuardedAllocatorInstalled(GuardedAllocator* g) {
    loci_allocator a;
    loci_allocator_init(&a);
    a.user = g;
    a.alloc = GuardedAllocator::alloc;
    a.free = GuardedAllocator::free;
    REQUIRE(loci_set_allocator(&a) == LOCI_OK);
  }
  ~GuardedAllocatorInstalled() { loci_set_allocator(nullptr); }
};

}  // namespace

TEST_CASE("C++ eval refuses tokens past the context and changes nothing", "[limits][context]") {
  const auto model = cpp_model();
  const auto t = tokens(kCtx + 1);
  auto s = cpp_session(model, kCtx, 8);
  auto ref = cpp_session(model, kCtx, 8);

  // Longer than the whole context: refused at position 0.
  loci::Status st = s->eval(t.data(), kCtx + 1);
  CHECK(st.code() == loci::StatusCode::kOutOfRange);
  CHECK(st.message().find("exceed the context of " + std::to_string(kCtx)) != std::string::npos);
  CHECK(s->position() == 0);
  CHECK(s->logits() == nullptr);

  // Fits at 0 but not at 20.
  REQUIRE(s->eval(t.data(), 20).is_ok());
  st = s->eval(t.data() + 20, kCtx - 20 + 1);
  CHECK(st.code() == loci::StatusCode::kOutOfRange);
  CHECK(s->position() == 20);
  CHECK(s->logits() == nullptr);
  // all_logits is refused the same way and left untouched.
  std::vector<float> rows((kCtx - 20 + 1) * s->n_vocab(), 1234.5f);
  st = s->eval(t.data() + 20, kCtx - 20 + 1, rows.data(), s->n_vocab() * sizeof(float));
  CHECK(st.code() == loci::StatusCode::kOutOfRange);
  CHECK(std::all_of(rows.begin(), rows.end(), [](float v) { return v == 1234.5f; }));

  // Exactly filling it works, and matches a session that never saw the refusals.
  REQUIRE(s->eval(t.data() + 20, kCtx - 20).is_ok());
  CHECK(s->position() == kCtx);
  REQUIRE(ref->eval(t.data(), 20).is_ok());
  REQUIRE(ref->eval(t.data() + 20, kCtx - 20).is_ok());
  const std::vector<float> a = copy_logits(*s), b = copy_logits(*ref);
  CHECK(std::memcmp(a.data(), b.data(), a.size() * sizeof(float)) == 0);

  // Full: one more token is refused.
  st = s->eval(t.data(), 1);
  CHECK(st.code() == loci::StatusCode::kOutOfRange);
  CHECK(s->position() == kCtx);
}

TEST_CASE("C eval and eval_all refuse tokens past the context and change nothing", "[limits][context][capi]") {
  auto model = load();
  const auto t = tokens(kCtx + 1);
  auto s = make_session(model.get(), kCtx);
  CHECK(loci_session_eval(s.get(), t.data(), kCtx + 1) == LOCI_ERR_OUT_OF_RANGE);
  CHECK(contains(loci_last_error(), std::to_string(kCtx)));
  CHECK(loci_session_position(s.get()) == 0);
  REQUIRE(loci_session_eval(s.get(), t.data(), kCtx - 1) == LOCI_OK);
  const std::vector<float> before = logits_of(s.get());

  const size_t n_vocab = size_t(loci_session_n_vocab(s.get()));
  std::vector<float> rows(2 * n_vocab, 1234.5f);
  CHECK(loci_session_eval_all(s.get(), t.data(), 2, rows.data(), rows.size()) == LOCI_ERR_OUT_OF_RANGE);
  CHECK(std::all_of(rows.begin(), rows.end(), [](float v) { return v == 1234.5f; }));
  CHECK(loci_session_eval(s.get(), t.data(), 2) == LOCI_ERR_OUT_OF_RANGE);
  CHECK(loci_session_position(s.get()) == kCtx - 1);
  CHECK(loci_session_logits(s.get()) == nullptr);

  // The last slot is still free and usable; the state before it is intact.
  REQUIRE(loci_session_truncate(s.get(), kCtx - 2) == LOCI_OK);
  REQUIRE(loci_session_eval(s.get(), t.data() + kCtx - 2, 1) == LOCI_OK);
  CHECK(same_bits(before, loci_session_logits(s.get())));
  REQUIRE(loci_session_eval(s.get(), t.data(), 1) == LOCI_OK);
  CHECK(loci_session_position(s.get()) == kCtx);
  CHECK(loci_session_eval(s.get(), t.data(), 1) == LOCI_ERR_OUT_OF_RANGE);
  CHECK(loci_session_position(s.get()) == kCtx);
}

TEST_CASE("generate refuses a prompt past the context and fills one that fits exactly", "[limits][context]") {
  auto model = load();
  const auto cpp = cpp_model();
  const auto t = tokens(kCtx + 1);
  loci_generate_params p;
  loci_generate_params_init(&p);
  p.stop_at_eog = 0;

  SECTION("C") {
    auto s = make_session(model.get(), kCtx);
    auto sampler = greedy_sampler(model.get());
    std::string text;
    const auto on_text = [](void* user, const char* s, size_t n) -> int32_t {
      static_cast<std::string*>(user)->append(s, n);
      return 0;
    };
    loci_generate_result r;
    loci_generate_result_init(&r);
    CHECK(loci_generate(s.get(), sampler.get(), t.data(), kCtx + 1, &p, on_text, &text, &r) == LOCI_ERR_OUT_OF_RANGE);
    CHECK(text.empty());
    CHECK(loci_session_position(s.get()) == 0);
    // Exactly n_ctx: the prompt fits, one token is shown, the context is full.
    REQUIRE(loci_generate(s.get(), sampler.get(), t.data(), kCtx, &p, on_text, &text, &r) == LOCI_OK);
    CHECK(r.stop_reason == LOCI_STOP_CONTEXT_FULL);
    CHECK(r.generated_tokens == 1);
    CHECK(loci_session_position(s.get()) == kCtx);
    // Nothing more fits, not even a zero-length prompt's next token.
    CHECK(loci_generate(s.get(), sampler.get(), t.data(), 1, &p, on_text, &text, &r) == LOCI_ERR_OUT_OF_RANGE);
    CHECK(loci_session_position(s.get()) == kCtx);
  }
  SECTION("C++") {
    auto s = cpp_session(cpp, kCtx);
    auto sampler = loci::Sampler::create(loci::SamplerParams::greedy(), s->n_vocab());
    REQUIRE(sampler.is_ok());
    loci::GenerateOptions o;
    o.stop_at_eog = false;
    auto r = loci::generate(*s, cpp->tokenizer(), **sampler, t.data(), kCtx + 1, o, nullptr, nullptr);
    REQUIRE_FALSE(r.is_ok());
    CHECK(r.status().code() == loci::StatusCode::kOutOfRange);
    CHECK(s->position() == 0);
    r = loci::generate(*s, cpp->tokenizer(), **sampler, t.data(), kCtx, o, nullptr, nullptr);
    REQUIRE(r.is_ok());
    CHECK(r->stop_reason == loci::StopReason::kContextFull);
    CHECK(s->position() == kCtx);
  }
}

TEST_CASE("filling the context exactly touches nothing outside the session's blocks", "[limits][context][capi]") {
  // A fault here (SIGSEGV) is an out-of-bounds access at the context's end.
  for (bool front : {false, true}) {
    INFO((front ? "guard page before each block" : "guard page after each block"));
    GuardedAllocator g;
    g.guard_front = front;
    {
      GuardedAllocatorInstalled installed(&g);
      auto model = load();
      for (int32_t kv : {LOCI_KV_F16, LOCI_KV_F32}) {
        loci_session_params p = session_params(kCtx);
        p.kv_type = kv;
        p.n_batch = 8;
        auto s = make_session(model.get(), p);
        CHECK(g.maps.size() >= 3);  // the model and session handles and the arena are guarded
        auto sampler = greedy_sampler(model.get());
        const auto t = tokens(kCtx);
        // Prefill most of it, then decode token by token to the last slot.
        REQUIRE(loci_session_eval(s.get(), t.data(), kCtx - 5) == LOCI_OK);
        while (loci_session_position(s.get()) < kCtx) {
          int32_t next = -1;
          REQUIRE(loci_sampler_sample(sampler.get(), loci_session_logits(s.get()), loci_session_n_vocab(s.get()),
                                      &next) == LOCI_OK);
          REQUIRE(loci_session_eval(s.get(), &next, 1) == LOCI_OK);
        }
        const float* l = loci_session_logits(s.get());
        REQUIRE(l != nullptr);
        CHECK(std::all_of(l, l + loci_session_n_vocab(s.get()), [](float v) { return std::isfinite(v); }));
        CHECK(loci_session_eval(s.get(), t.data(), 1) == LOCI_ERR_OUT_OF_RANGE);
        // all logits over a whole context, in one call.
        loci_session_reset(s.get());
        std::vector<float> rows(kCtx * size_t(loci_session_n_vocab(s.get())));
        REQUIRE(loci_session_eval_all(s.get(), t.data(), kCtx, rows.data(), rows.size()) == LOCI_OK);
      }
    }
    CHECK(g.maps.empty());
  }
}
