// The caller's allocator: what goes through it, when it may be swapped, and
// clean failures when it refuses.
#include <string>
#include <vector>

#include "capi_util.h"

using namespace capit;

namespace {

loci_memory_estimate memory_of(const loci_session* s) {
  loci_memory_estimate e;
  loci_memory_estimate_init(&e);
  REQUIRE(loci_session_memory(s, &e) == LOCI_OK);
  return e;
}

void check_all_returned(CountingAllocator& c) {
  CHECK(c.live_count() == 0);
  CHECK(c.allocs == c.frees);
  CHECK(c.bad_frees == 0);
  CHECK(c.bad_alignments == 0);
  CHECK(c.bytes_live == 0);
}

}  // namespace

TEST_CASE("models and sessions and samplers allocate through the caller's allocator", "[capi][alloc]") {
  CountingAllocator counter;
  {
    AllocatorGuard guard(&counter);
    {
      auto model = load();
      CHECK(counter.live_count() >= 1);  // the model handle
      const size_t after_model = counter.live_count();
      auto s = make_session(model.get());
      const loci_memory_estimate m = memory_of(s.get());
      CHECK(counter.live_count() >= after_model + 2);  // the session handle and its arena
      CHECK(counter.largest >= m.kv_cache + m.scratch);
      const size_t before_sampler = counter.allocs;
      auto sampler = greedy_sampler(model.get());
      CHECK(counter.allocs > before_sampler);  // the sampler handle

      // Live blocks pin the allocator, the default included.
      CountingAllocator other;
      loci_allocator a;
      loci_allocator_init(&a);
      a.user = &other;
      a.alloc = CountingAllocator::alloc;
      a.free = CountingAllocator::free;
      CHECK(loci_set_allocator(&a) == LOCI_ERR_INVALID_ARGUMENT);
      CHECK(contains(loci_last_error(), "live"));
      CHECK(loci_set_allocator(nullptr) == LOCI_ERR_INVALID_ARGUMENT);

      // Evaluating allocates nothing.
      const size_t allocs = counter.allocs;
      REQUIRE(loci_session_eval(s.get(), tokens8().data(), tokens8().size()) == LOCI_OK);
      CHECK(counter.allocs == allocs);
      CHECK(other.allocs == 0);
    }
    check_all_returned(counter);
    CHECK(counter.allocs >= 4);
  }
  // The guard put the default back: models load without our allocator.
  const size_t allocs = counter.allocs;
  auto model = load();
  CHECK(counter.allocs == allocs);
}

TEST_CASE("the allocator struct is checked", "[capi][alloc][abi]") {
  CountingAllocator counter;
  loci_allocator a;
  loci_allocator_init(&a);
  CHECK(a.struct_size == sizeof a);
  CHECK(a.alloc == nullptr);
  a.user = &counter;
  a.alloc = CountingAllocator::alloc;
  CHECK(loci_set_allocator(&a) == LOCI_ERR_INVALID_ARGUMENT);  // no free
  a.free = CountingAllocator::free;
  a.struct_size = 0;
  CHECK(loci_set_allocator(&a) == LOCI_ERR_ABI_MISMATCH);
  // An older struct that stops before alloc has no alloc.
  a.struct_size = offsetof(loci_allocator, alloc);
  CHECK(loci_set_allocator(&a) == LOCI_ERR_INVALID_ARGUMENT);
  // None of these was installed.
  { auto model = load(); }
  CHECK(counter.allocs == 0);
  CHECK(loci_set_allocator(nullptr) == LOCI_OK);
}

TEST_CASE("an allocator that refuses gives OUT_OF_MEMORY and leaks nothing", "[capi][alloc]") {
  CountingAllocator counter;
  AllocatorGuard guard(&counter);
  const std::string path = shared_model();

  SECTION("refusing everything: the model load fails") {
    counter.fail_all = true;
    loci_model* m = reinterpret_cast<loci_model*>(uintptr_t(0x5e5e5e50));
    CHECK(loci_model_load(path.c_str(), nullptr, &m) == LOCI_ERR_OUT_OF_MEMORY);
    CHECK(m == reinterpret_cast<loci_model*>(uintptr_t(0x5e5e5e50)));
    CHECK(counter.refused >= 1);
  }
  SECTION("refusing the session handle") {
    auto model = load();
    counter.fail_all = true;
    loci_session* s = nullptr;
    const loci_session_params p = session_params();
    CHECK(loci_session_create(model.get(), &p, &s) == LOCI_ERR_OUT_OF_MEMORY);
    CHECK(s == nullptr);
    CHECK(contains(loci_last_error(), "session"));
    loci_sampler* sp = nullptr;
    loci_sampler_params sparams;
    loci_sampler_params_init(&sparams);
    CHECK(loci_sampler_create(model.get(), &sparams, &sp) == LOCI_ERR_OUT_OF_MEMORY);
    CHECK(sp == nullptr);
    counter.fail_all = false;
  }
  SECTION("refusing the arena after the handle was made") {
    auto model = load();
    counter.fail_above = 4096;  // handles fit, the arena does not
    const size_t live = counter.live_count();
    loci_session* s = nullptr;
    const loci_session_params p = session_params();
    CHECK(loci_session_create(model.get(), &p, &s) == LOCI_ERR_OUT_OF_MEMORY);
    CHECK(s == nullptr);
    INFO(loci_last_error());
    CHECK(contains(loci_last_error(), "allocate"));
    CHECK(counter.refused >= 1);
    CHECK(counter.live_count() == live);  // the session handle went back
    counter.fail_above = SIZE_MAX;
    // The model still works.
    auto ok = make_session(model.get(), p);
    REQUIRE(loci_session_eval(ok.get(), tokens8().data(), 2) == LOCI_OK);
  }
  check_all_returned(counter);
}
