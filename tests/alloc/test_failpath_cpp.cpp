// The C++ API under the same failure injection as the C ABI: Model::load,
// Session::create, Sampler::create and loci::generate. A failed allocation
// must come back as a kOutOfMemory Status: a std::bad_alloc escaping the API
// (errors are Status values), any other status, a crash, a leak or a broken
// earlier object is a bug.
#include <catch2/catch.hpp>

#include <functional>
#include <new>

#include "failpath.h"
#include "failpath_checks.h"
#include "support/test_support.h"

using namespace loci;
using namespace loci::test;

namespace {

// Runs `call` (which returns the call's Status and, on success, checks and
// frees what it made through `on_success`) inside a failure window.
Verdict judge_cpp(size_t n, const std::function<Status()>& call, const std::function<std::string()>& on_success,
                  const std::function<std::string()>& after_failure) {
  bool threw = false;
  size_t count = 0;
  StatusCode code = StatusCode::kOk;
  std::string text;
  {
    FailureWindow w(n);
    Status st;  // its message is allocated in the window: it must be gone before counting live blocks
    try {
      st = call();
    } catch (const std::bad_alloc&) {
      threw = true;
    }
    count = w.close();
    code = st.code();
    text = st.to_string();
  }
  const auto bad = [&](const std::string& why) { return Verdict{"BAD: " + why, count}; };
  if (n && !injected_failure_happened()) {
    if (!threw && code == StatusCode::kOk) on_success();
    return {"unreached", count};
  }
  if (!threw && code == StatusCode::kOk) {
    std::string why = on_success();
    if (why.empty()) why = leak_check();
    if (!why.empty()) return bad("succeeded, but " + why);
    return {n ? "survived" : "ok", count};
  }
  if (!threw && code != StatusCode::kOutOfMemory) return bad("returned " + text);
  std::string why = leak_check();
  if (why.empty()) why = after_failure();
  if (!why.empty()) return bad(why);
  return {threw ? "bad_alloc" : "oom", count};
}

std::shared_ptr<const Model> load_model() {
  const std::string path = stories_path();
  if (!file_exists(path)) FAIL("shared model file missing: " << path);
  REQUIRE_FALSE(golden_text().empty());
  auto m = Model::load(path);
  REQUIRE(m.is_ok());
  return *m;
}

void require_clean(const SweepResult& r) {
  INFO(first_problems(r));
  CHECK(r.total > 0);
  CHECK(r.problems.empty());
  CHECK(r.counts.count("oom") >= 1);
  CHECK(r.counts.count("bad_alloc") == 0);
}

}  // namespace

TEST_CASE("C++: every allocation failing in Model::load is reported", "[alloc][failpath][cpp]") {
  const std::shared_ptr<const Model> earlier = load_model();
  const std::string path = stories_path();
  const SweepResult r = sweep("Model::load", [&](size_t n) {
    std::shared_ptr<const Model> m;
    return judge_cpp(
        n,
        [&] {
          auto loaded = Model::load(path);
          if (loaded.is_ok()) m = *loaded;
          return loaded.status();
        },
        [&] {
          std::string why = check_model_works_cpp(m);
          m.reset();
          return why;
        },
        [&] {
          const std::string why = check_model_works_cpp(earlier);
          return why.empty() ? why : "the earlier model: " + why;
        });
  });
  require_clean(r);
}

TEST_CASE("C++: every allocation failing in Session::create is reported", "[alloc][failpath][cpp]") {
  const std::shared_ptr<const Model> model = load_model();
  for (uint32_t threads : {1u, 2u}) {
    INFO("threads " << threads);
    SessionOptions o;
    o.n_ctx = 64;
    o.n_threads = threads;
    const std::string name = "Session::create, " + std::to_string(threads) + " threads";
    const SweepResult r = sweep(name.c_str(), [&](size_t n) {
      std::unique_ptr<Session> s;
      return judge_cpp(
          n,
          [&] {
            auto made = Session::create(model, o);
            if (made.is_ok()) s = std::move(*made);
            return made.status();
          },
          [&] {
            auto sampler = Sampler::create(SamplerParams::greedy(), s->n_vocab());
            std::string why = sampler.is_ok() ? check_generates_cpp(*s, **sampler) : "sampler create failed";
            s.reset();
            return why;
          },
          [&] { return check_model_works_cpp(model); });
    });
    require_clean(r);
  }
}

TEST_CASE("C++: every allocation failing in Sampler::create is reported", "[alloc][failpath][cpp]") {
  const std::shared_ptr<const Model> model = load_model();
  const SweepResult r = sweep("Sampler::create", [&](size_t n) {
    std::unique_ptr<Sampler> sampler;
    return judge_cpp(
        n,
        [&] {
          auto made = Sampler::create(SamplerParams::greedy(), model->hparams().n_vocab);
          if (made.is_ok()) sampler = std::move(*made);
          return made.status();
        },
        [&] {
          SessionOptions o;
          o.n_ctx = 64;
          o.n_threads = 1;
          auto s = Session::create(model, o);
          std::string why = s.is_ok() ? check_generates_cpp(**s, *sampler) : "session create failed";
          sampler.reset();
          return why;
        },
        [&] { return check_model_works_cpp(model); });
  });
  require_clean(r);
}

TEST_CASE("C++: every allocation failing in loci::generate is reported", "[alloc][failpath][cpp]") {
  const std::shared_ptr<const Model> model = load_model();
  const SweepResult r = sweep("loci::generate", [&](size_t n) -> Verdict {
    SessionOptions o;
    o.n_ctx = 64;
    o.n_threads = 1;
    auto s = Session::create(model, o);
    auto sampler = Sampler::create(SamplerParams::greedy(), model->hparams().n_vocab);
    if (!s.is_ok() || !sampler.is_ok()) return {"BAD: setup failed", 0};
    const GenerateOptions go = reference_options();  // built outside the window
    const int32_t bos = model->tokenizer().bos();
    TextSink sink;
    return judge_cpp(
        n,
        [&] {
          auto r = generate(**s, model->tokenizer(), **sampler, &bos, 1, go, TextSink::on_text_cpp, &sink);
          return r.status();
        },
        [&] { return sink.text() == golden_text() ? std::string() : "generated '" + sink.text() + "'"; },
        [&] {
          if ((*s)->position() != 0) return std::string("the position moved on failure");
          (*s)->reset();
          (*sampler)->reset();
          const std::string why = check_generates_cpp(**s, **sampler);
          return why.empty() ? why : "after reset: " + why;
        });
  });
  require_clean(r);
}
