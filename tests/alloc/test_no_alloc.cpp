// After a session is created, decoding allocates nothing: proven by counting
// every malloc in the process over 100 decode steps.
#include <catch2/catch.hpp>

#include <algorithm>
#include <vector>

#include "loci/model.h"
#include "loci/sampler.h"
#include "malloc_counter.h"
#include "support/test_support.h"

namespace {

std::string model_path(const char* name) { return loci::test::shared_dir() + "/models/" + name; }

// Samples and decodes `steps` tokens after a prompt, counting allocations in
// the decode loop only.
size_t allocations_while_decoding(const std::string& path, loci::DType kv, size_t threads, size_t steps) {
  auto model = loci::Model::load(path);
  REQUIRE(model.is_ok());
  loci::SessionOptions o;
  o.n_ctx = 256;
  o.kv_dtype = kv;
  o.n_threads = uint32_t(threads);
  auto session = loci::Session::create(*model, o);
  REQUIRE(session.is_ok());
  loci::Session& s = **session;
  const int32_t prompt[] = {1, 403, 407, 261};
  REQUIRE(s.eval(prompt, 4).is_ok());
  // Every sampler stage on: penalties, top-k, top-p, min-p, temperature.
  loci::SamplerParams sp;
  sp.temperature = 0.8f;
  sp.top_k = 40;
  sp.top_p = 0.95f;
  sp.min_p = 0.05f;
  sp.repeat_penalty = 1.1f;
  sp.frequency_penalty = 0.1f;
  sp.presence_penalty = 0.1f;
  sp.seed = loci::test::seed();
  auto sampler = loci::Sampler::create(sp, s.n_vocab());
  REQUIRE(sampler.is_ok());
  loci::test::start_counting_allocations();
  bool ok = true;
  for (size_t i = 0; i < steps && ok; ++i) {
    const loci::Result<int32_t> next = (*sampler)->sample(s.logits());
    ok = next.is_ok();
    if (ok) {
      (*sampler)->accept(*next);
      ok = s.eval(&*next, 1).is_ok();
    }
  }
  const size_t n = loci::test::stop_counting_allocations();
  REQUIRE(ok);
  return n;
}

}  // namespace

TEST_CASE("the allocation counter sees allocations", "[alloc]") {
  loci::test::start_counting_allocations();
  std::vector<int>* v = new std::vector<int>(100);
  delete v;
  CHECK(loci::test::stop_counting_allocations() >= 1);
}

TEST_CASE("decoding 100 tokens allocates nothing", "[alloc]") {
  const std::string path = model_path("stories260K.gguf");
  if (!loci::test::file_exists(path)) FAIL("shared model file missing: " << path);
  for (loci::DType kv : {loci::DType::F16, loci::DType::F32}) {
    for (size_t threads : {1, 2}) {
      INFO("kv " << loci::dtype_name(kv) << ", threads " << threads);
      CHECK(allocations_while_decoding(path, kv, threads, 100) == 0);
    }
  }
}

TEST_CASE("decoding a quantized model allocates nothing", "[alloc]") {
  const std::string path = model_path("stories260K-q4_0.gguf");
  if (!loci::test::file_exists(path)) FAIL("shared model file missing: " << path);
  CHECK(allocations_while_decoding(path, loci::DType::F16, 2, 100) == 0);
}
