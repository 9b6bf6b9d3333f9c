// Every allocation of loci_model_load, loci_session_create,
// loci_sampler_create and loci_generate is made to fail in turn (malloc
// returns null, so operator new throws: both reach the library). Each call
// must return LOCI_ERR_OUT_OF_MEMORY with a message (or succeed with a
// correct result), leave its out-parameter alone, leak nothing, and leave
// the objects made before it working.
#include <catch2/catch.hpp>

#include <pthread.h>

#include <functional>

#include "failpath.h"
#include "failpath_checks.h"
#include "support/test_support.h"

using namespace loci::test;

namespace {

template <typename T>
T* sentinel() {
  return reinterpret_cast<T*>(uintptr_t(0x5e5e5e40));
}

std::string c_status(loci_status st) { return std::string(loci_status_string(st)) + " (" + loci_last_error() + ")"; }

// Judges a call's outcome once its window has closed. `on_success` checks
// and frees what the call made; `after_failure` checks the earlier objects.
// `retained` blocks may stay live when they are not loci's (see below).
Verdict judge(size_t n, size_t count, loci_status st, bool out_untouched, const std::function<std::string()>& on_success,
              const std::function<std::string()>& after_failure, size_t retained = 0) {
  const auto bad = [&](const std::string& why) { return Verdict{"BAD: " + why, count}; };
  if (n && !injected_failure_happened()) {
    if (st == LOCI_OK) on_success();
    return {"unreached", count};
  }
  if (st == LOCI_OK) {
    std::string why = on_success();
    if (why.empty()) why = leak_check(retained);
    if (!why.empty()) return bad("succeeded, but " + why);
    return {n ? "survived" : "ok", count};
  }
  if (st != LOCI_ERR_OUT_OF_MEMORY) return bad("returned " + c_status(st));
  if (std::string(loci_last_error()).rfind("out_of_memory: ", 0) != 0)
    return bad("last error '" + std::string(loci_last_error()) + "'");
  if (!out_untouched) return bad("the out-parameter was written on failure");
  std::string why = leak_check(retained);
  if (why.empty()) why = after_failure();
  return why.empty() ? Verdict{"oom", count} : bad(why);
}

struct Fixture {
  loci_model* model = nullptr;  // loaded before any failure: must keep working
  int32_t bos = -1;
  Fixture() {
    const std::string path = stories_path();
    if (!file_exists(path)) FAIL("shared model file missing: " << path);
    REQUIRE_FALSE(golden_text().empty());
    REQUIRE(loci_model_load(path.c_str(), nullptr, &model) == LOCI_OK);
    bos = bos_of(model);
    REQUIRE(bos >= 0);
  }
  ~Fixture() { loci_model_free(model); }
};

void require_clean(const SweepResult& r) {
  INFO(first_problems(r));
  CHECK(r.total > 0);
  CHECK(r.problems.empty());
  CHECK(r.counts.count("oom") == 1);
}

// Sets the default stack size of new threads (0: leave it) for its lifetime.
class ThreadStackSize {
 public:
  explicit ThreadStackSize(size_t bytes) {
    if (!bytes || pthread_getattr_default_np(&saved_) != 0) return;
    pthread_attr_t a;
    pthread_attr_init(&a);
    pthread_attr_setstacksize(&a, bytes);
    set_ = pthread_setattr_default_np(&a) == 0;
    pthread_attr_destroy(&a);
  }
  ~ThreadStackSize() {
    if (set_) pthread_setattr_default_np(&saved_);
  }

 private:
  pthread_attr_t saved_;
  bool set_ = false;
};

TEST_CASE("every allocation failing in loci_model_load gives a clean error", "[alloc][failpath]") {
  Fixture f;
  const std::string path = stories_path();
  const SweepResult r = sweep("loci_model_load", [&](size_t n) {
    loci_model* m = sentinel<loci_model>();
    FailureWindow w(n);
    const loci_status st = loci_model_load(path.c_str(), nullptr, &m);
    const size_t count = w.close();
    return judge(
        n, count, st, m == sentinel<loci_model>(),
        [&] {
          std::string why = check_model_works(m);
          loci_model_free(m);
          return why;
        },
        [&] {
          std::string why = check_model_works(f.model);
          if (!why.empty()) return "the earlier model: " + why;
          loci_model* again = nullptr;
          const loci_status st2 = loci_model_load(path.c_str(), nullptr, &again);
          if (st2 != LOCI_OK) return "a new load: " + c_status(st2);
          why = check_model_works(again);
          loci_model_free(again);
          return why.empty() ? why : "a new load: " + why;
        });
  });
  require_clean(r);
}

// With `fresh_stacks`, new threads get a stack size no earlier thread had, so
// glibc cannot reuse a cached stack and pthread_create allocates (the first
// session of a process is in this state). glibc then keeps each new thread's
// TLS vector with its cached stack after the thread ends: one block per
// worker thread that is not a leak of loci's.
void session_create_sweep(const Fixture& f, uint32_t threads, bool fresh_stacks) {
  INFO("threads " << threads << (fresh_stacks ? ", fresh thread stacks" : ""));
  const loci_session_params p = reference_session_params(threads);
  const std::string name =
      "loci_session_create, " + std::to_string(threads) + " threads" + (fresh_stacks ? ", fresh thread stacks" : "");
  static size_t stack_mib = 16;
  const SweepResult r = sweep(name.c_str(), [&](size_t n) {
    const ThreadStackSize stacks(fresh_stacks ? ++stack_mib << 20 : 0);
    loci_session* s = sentinel<loci_session>();
    FailureWindow w(n);
    const loci_status st = loci_session_create(f.model, &p, &s);
    const size_t count = w.close();
    return judge(
        n, count, st, s == sentinel<loci_session>(),
        [&] {
          loci_sampler_params sp;
          loci_sampler_params_init(&sp);
          sp.temperature = 0.0f;
          loci_sampler* sampler = nullptr;
          std::string why = loci_sampler_create(f.model, &sp, &sampler) == LOCI_OK ? check_generates(s, sampler, f.bos)
                                                                                   : "sampler create failed";
          loci_sampler_free(sampler);
          loci_session_free(s);
          return why;
        },
        [&] { return check_model_works(f.model); }, fresh_stacks ? threads - 1 : 0);
  });
  require_clean(r);
}

}  // namespace

TEST_CASE("every allocation failing in loci_session_create gives a clean error", "[alloc][failpath]") {
  Fixture f;
  session_create_sweep(f, 1, false);
  session_create_sweep(f, 2, false);
}

TEST_CASE("every allocation failing in loci_session_create, with threads not cached, gives a clean error",
          "[alloc][failpath][threads]") {
  Fixture f;
  session_create_sweep(f, 2, true);
}

TEST_CASE("every allocation failing in loci_sampler_create gives a clean error", "[alloc][failpath]") {
  Fixture f;
  loci_sampler_params sp;
  loci_sampler_params_init(&sp);
  sp.temperature = 0.0f;
  const SweepResult r = sweep("loci_sampler_create", [&](size_t n) {
    loci_sampler* sampler = sentinel<loci_sampler>();
    FailureWindow w(n);
    const loci_status st = loci_sampler_create(f.model, &sp, &sampler);
    const size_t count = w.close();
    return judge(
        n, count, st, sampler == sentinel<loci_sampler>(),
        [&] { return check_sampler_generates_and_free(f.model, sampler); },
        [&] { return check_model_works(f.model); });
  });
  require_clean(r);
}

TEST_CASE("every allocation failing in loci_generate gives a clean error", "[alloc][failpath]") {
  Fixture f;
  const SweepResult r = sweep("loci_generate", [&](size_t n) -> Verdict {
    // The session and sampler exist before the failing call.
    const loci_session_params p = reference_session_params(1);
    loci_session* s = nullptr;
    loci_sampler* sampler = nullptr;
    loci_sampler_params sp;
    loci_sampler_params_init(&sp);
    sp.temperature = 0.0f;
    if (loci_session_create(f.model, &p, &s) != LOCI_OK || loci_sampler_create(f.model, &sp, &sampler) != LOCI_OK)
      return {"BAD: setup failed: " + std::string(loci_last_error()), 0};
    TextSink sink;
    FailureWindow w(n);
    const loci_status st = reference_generate(s, sampler, f.bos, sink);
    const size_t count = w.close();
    const Verdict v = judge(
        n, count, st, true,
        [&] {
          return sink.text() == golden_text() ? std::string() : "generated '" + sink.text() + "'";
        },
        [&] {
          if (loci_session_position(s) != 0) return std::string("the position moved on failure");
          if (sink.len != 0) return "text was streamed before the failure: '" + sink.text() + "'";
          loci_session_reset(s);
          loci_sampler_reset(sampler);
          const std::string why = check_generates(s, sampler, f.bos);
          return why.empty() ? why : "after reset: " + why;
        });
    loci_sampler_free(sampler);
    loci_session_free(s);
    return v;
  });
  require_clean(r);
}
