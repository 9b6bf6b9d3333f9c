// The caller's allocator (loci_set_allocator) refusing its Nth block, for
// every N: loading (by path and from a buffer), session and sampler creation
// and generation. Each call must return LOCI_ERR_OUT_OF_MEMORY, give every
// block back, and leave the objects made before it working.
#include <catch2/catch.hpp>

#include <cstdlib>
#include <cstring>
#include <fstream>
#include <functional>
#include <map>
#include <mutex>
#include <sstream>

#include "failpath.h"
#include "failpath_checks.h"
#include "support/test_support.h"

using namespace loci::test;

namespace {

// Counts its blocks and refuses the one numbered fail_at (1 = the first
// since reset()).
struct RefusingAllocator {
  std::mutex mu;
  std::map<void*, size_t> live;  // pointer -> size
  size_t count = 0, fail_at = 0, bad_frees = 0;
  bool fired = false;

  void reset(size_t n) {
    std::lock_guard<std::mutex> lock(mu);
    count = 0;
    fail_at = n;
    fired = false;
  }
  size_t live_count() {
    std::lock_guard<std::mutex> lock(mu);
    return live.size();
  }
  static void* alloc(void* user, size_t size, size_t alignment) {
    auto* a = static_cast<RefusingAllocator*>(user);
    std::lock_guard<std::mutex> lock(a->mu);
    if (++a->count == a->fail_at) {
      a->fired = true;
      return nullptr;
    }
    void* p = std::aligned_alloc(alignment, (size + alignment - 1) / alignment * alignment);
    if (p) a->live[p] = size;
    return p;
  }
  static void free(void* user, void* p, size_t size) {
    auto* a = static_cast<RefusingAllocator*>(user);
    std::lock_guard<std::mutex> lock(a->mu);
    auto it = a->live.find(p);
    if (it == a->live.end() || it->second != size) {
      ++a->bad_frees;
      return;
    }
    a->live.erase(it);
    std::free(p);
  }
};

RefusingAllocator g_alloc;

// Installs g_alloc for a test; the default comes back at its end.
struct InstallAllocator {
  InstallAllocator() {
    loci_allocator a;
    loci_allocator_init(&a);
    a.user = &g_alloc;
    a.alloc = RefusingAllocator::alloc;
    a.free = RefusingAllocator::free;
    REQUIRE(loci_set_allocator(&a) == LOCI_OK);
  }
  ~InstallAllocator() { loci_set_allocator(nullptr); }
};

template <typename T>
T* sentinel() {
  return reinterpret_cast<T*>(uintptr_t(0x5e5e5e40));
}

// Runs `call` with the allocator refusing block n and judges the outcome as
// test_failpath_capi.cpp does, counting blocks through the allocator.
Verdict judge_hooks(size_t n, const std::function<loci_status()>& call, bool* out_untouched,
                    const std::function<std::string()>& on_success, const std::function<std::string()>& after_failure) {
  const size_t live_before = g_alloc.live_count();
  g_alloc.reset(n);
  const loci_status st = call();
  const size_t count = g_alloc.count;
  const bool fired = g_alloc.fired;
  g_alloc.reset(0);
  const auto bad = [&](const std::string& why) { return Verdict{"BAD: " + why, count}; };
  const auto leaks = [&]() -> std::string {
    const size_t live = g_alloc.live_count();
    if (g_alloc.bad_frees) return std::to_string(g_alloc.bad_frees) + " frees of unknown blocks or wrong sizes";
    return live != live_before ? std::to_string(live) + " blocks live, " + std::to_string(live_before) + " before"
                               : "";
  };
  if (n && !fired) {
    if (st == LOCI_OK) on_success();
    return {"unreached", count};
  }
  if (st == LOCI_OK) {
    std::string why = on_success();
    if (why.empty()) why = leaks();
    return why.empty() ? Verdict{n ? "survived" : "ok", count} : bad("succeeded, but " + why);
  }
  if (st != LOCI_ERR_OUT_OF_MEMORY)
    return bad("returned " + std::string(loci_status_string(st)) + " (" + loci_last_error() + ")");
  if (!*out_untouched) return bad("the out-parameter was written on failure");
  std::string why = leaks();
  if (why.empty()) why = after_failure();
  return why.empty() ? Verdict{"oom", count} : bad(why);
}

struct Fixture {
  InstallAllocator installed;
  loci_model* model = nullptr;  // from the caller's allocator too
  int32_t bos = -1;
  Fixture() {
    const std::string path = stories_path();
    if (!file_exists(path)) FAIL("shared model file missing: " << path);
    REQUIRE_FALSE(golden_text().empty());
    REQUIRE(loci_model_load(path.c_str(), nullptr, &model) == LOCI_OK);
    bos = bos_of(model);
  }
  ~Fixture() {
    loci_model_free(model);
    CHECK(g_alloc.live_count() == 0);
    CHECK(g_alloc.bad_frees == 0);
  }
};

void require_clean(const SweepResult& r) {
  INFO(first_problems(r));
  CHECK(r.total > 0);
  CHECK(r.problems.empty());
  CHECK(r.counts.count("oom") == 1);
}

loci_sampler_params greedy() {
  loci_sampler_params sp;
  loci_sampler_params_init(&sp);
  sp.temperature = 0.0f;
  return sp;
}

// A model file in an aligned buffer with the padding the ABI asks for.
struct Image {
  void* data = nullptr;
  size_t size = 0;
  explicit Image(const std::string& path) {
    std::ifstream f(path, std::ios::binary);
    std::stringstream ss;
    ss << f.rdbuf();
    const std::string bytes = ss.str();
    size = bytes.size();
    data = std::aligned_alloc(64, (size + LOCI_BUFFER_PADDING + 63) / 64 * 64);
    std::memset(data, 0, (size + LOCI_BUFFER_PADDING + 63) / 64 * 64);
    std::memcpy(data, bytes.data(), size);
  }
  ~Image() { std::free(data); }
};

}  // namespace

TEST_CASE("caller allocator: every refused block in a model load gives a clean error", "[alloc][failpath][hooks]") {
  Fixture f;
  const std::string path = stories_path();
  const Image image(path);
  for (bool from_buffer : {false, true}) {
    INFO((from_buffer ? "from a buffer" : "from a path"));
    const SweepResult r = sweep(from_buffer ? "caller allocator: loci_model_load_from_buffer"
                                            : "caller allocator: loci_model_load",
                                [&](size_t n) {
                                  loci_model* m = sentinel<loci_model>();
                                  bool untouched = false;
                                  return judge_hooks(
                                      n,
                                      [&] {
                                        const loci_status st =
                                            from_buffer ? loci_model_load_from_buffer(image.data, image.size, nullptr, &m)
                                                        : loci_model_load(path.c_str(), nullptr, &m);
                                        untouched = m == sentinel<loci_model>();
                                        return st;
                                      },
                                      &untouched,
                                      [&] {
                                        std::string why = check_model_works(m);
                                        loci_model_free(m);
                                        return why;
                                      },
                                      [&] { return check_model_works(f.model); });
                                });
    require_clean(r);
  }
}

TEST_CASE("caller allocator: every refused block in session and sampler creation gives a clean error",
          "[alloc][failpath][hooks]") {
  Fixture f;
  for (uint32_t threads : {1u, 2u}) {
    INFO("threads " << threads);
    const loci_session_params p = reference_session_params(threads);
    const std::string name = "caller allocator: loci_session_create, " + std::to_string(threads) + " threads";
    const SweepResult r = sweep(name.c_str(), [&](size_t n) {
      loci_session* s = sentinel<loci_session>();
      bool untouched = false;
      return judge_hooks(
          n,
          [&] {
            const loci_status st = loci_session_create(f.model, &p, &s);
            untouched = s == sentinel<loci_session>();
            return st;
          },
          &untouched,
          [&] {
            const loci_sampler_params sp = greedy();
            loci_sampler* sampler = nullptr;
            std::string why = loci_sampler_create(f.model, &sp, &sampler) == LOCI_OK ? check_generates(s, sampler, f.bos)
                                                                                     : "sampler create failed";
            loci_sampler_free(sampler);
            loci_session_free(s);
            return why;
          },
          [&] { return check_model_works(f.model); });
    });
    require_clean(r);
  }
  const loci_sampler_params sp = greedy();
  const SweepResult r = sweep("caller allocator: loci_sampler_create", [&](size_t n) {
    loci_sampler* sampler = sentinel<loci_sampler>();
    bool untouched = false;
    return judge_hooks(
        n,
        [&] {
          const loci_status st = loci_sampler_create(f.model, &sp, &sampler);
          untouched = sampler == sentinel<loci_sampler>();
          return st;
        },
        &untouched,
        [&] { return check_sampler_generates_and_free(f.model, sampler); },
        [&] { return check_model_works(f.model); });
  });
  require_clean(r);
}

TEST_CASE("caller allocator: generate takes no block from it", "[alloc][failpath][hooks]") {
  Fixture f;
  const loci_session_params p = reference_session_params(1);
  const loci_sampler_params sp = greedy();
  loci_session* s = nullptr;
  loci_sampler* sampler = nullptr;
  REQUIRE(loci_session_create(f.model, &p, &s) == LOCI_OK);
  REQUIRE(loci_sampler_create(f.model, &sp, &sampler) == LOCI_OK);
  // Refusing every block would fail a generate that asked for one.
  g_alloc.reset(1);
  TextSink sink;
  const loci_status st = reference_generate(s, sampler, f.bos, sink);
  const size_t count = g_alloc.count;
  g_alloc.reset(0);
  INFO(loci_last_error());
  CHECK(st == LOCI_OK);
  CHECK(count == 0);
  CHECK(sink.text() == golden_text());
  loci_sampler_free(sampler);
  loci_session_free(s);
}
