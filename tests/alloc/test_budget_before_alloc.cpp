// A session over its memory budget is refused before anything of its size
// is allocated, counting every malloc in the process (the C ABI test of the
// budget sees only the caller allocator's blocks), with the numbers in the
// message.
#include <catch2/catch.hpp>

#include "failpath_checks.h"
#include "malloc_counter.h"
#include "support/test_support.h"

using namespace loci::test;

TEST_CASE("a session over its budget is refused before any large allocation", "[alloc][budget]") {
  const std::string path = stories_path();
  if (!file_exists(path)) FAIL("shared model file missing: " << path);
  auto model = loci::Model::load(path);
  REQUIRE(model.is_ok());
  loci::SessionOptions o;
  o.n_ctx = 256;
  o.n_threads = 2;
  auto est = (*model)->estimate(o);
  REQUIRE(est.is_ok());
  const uint64_t need = est->kv_cache + est->scratch;
  REQUIRE(need > 65536);

  SECTION("C++") {
    o.memory_budget = need - 1;
    start_counting_allocations();
    std::string message;
    {
      auto s = loci::Session::create(*model, o);
      REQUIRE_FALSE(s.is_ok());
      CHECK(s.status().code() == loci::StatusCode::kOutOfMemory);
      stop_counting_allocations();
      message = s.status().message();
    }
    INFO(message);
    CHECK(message.find(std::to_string(need)) != std::string::npos);
    CHECK(message.find(std::to_string(need - 1)) != std::string::npos);
    CHECK(largest_counted_request() < 4096);
    CHECK(live_counted_blocks() == 0);
  }
  SECTION("C") {
    loci_model* m = nullptr;
    REQUIRE(loci_model_load(path.c_str(), nullptr, &m) == LOCI_OK);
    loci_session_params p = reference_session_params(2);
    p.n_ctx = 256;
    p.memory_budget = need - 1;
    loci_session* s = nullptr;
    start_counting_allocations();
    const loci_status st = loci_session_create(m, &p, &s);
    stop_counting_allocations();
    CHECK(st == LOCI_ERR_OUT_OF_MEMORY);
    CHECK(s == nullptr);
    const std::string message = loci_last_error();
    INFO(message);
    CHECK(message.find(std::to_string(need)) != std::string::npos);
    CHECK(largest_counted_request() < 4096);
    CHECK(live_counted_blocks() == 0);
    // A budget of exactly what it needs is enough.
    p.memory_budget = need;
    REQUIRE(loci_session_create(m, &p, &s) == LOCI_OK);
    loci_session_free(s);
    loci_model_free(m);
  }
}
