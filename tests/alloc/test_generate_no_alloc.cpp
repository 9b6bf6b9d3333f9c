// Generator::run allocates nothing: prompt, sampling, stop strings and
// streamed text all use buffers sized when the generator was created.
#include <catch2/catch.hpp>

#include "loci/generate.h"
#include "loci/model.h"
#include "loci/sampler.h"
#include "malloc_counter.h"
#include "support/test_support.h"

namespace {

bool count_bytes(void* user, const char*, size_t len) {
  *static_cast<size_t*>(user) += len;
  return true;
}

}  // namespace

TEST_CASE("a generation run allocates nothing", "[alloc][generate]") {
  const std::string path = loci::test::shared_dir() + "/models/stories260K.gguf";
  if (!loci::test::file_exists(path)) FAIL("shared model file missing: " << path);
  auto model = loci::Model::load(path);
  REQUIRE(model.is_ok());
  loci::SessionOptions so;
  so.n_ctx = 256;
  so.n_threads = 2;
  auto session = loci::Session::create(*model, so);
  REQUIRE(session.is_ok());
  loci::SamplerParams sp;
  sp.repeat_penalty = 1.1f;
  sp.seed = loci::test::seed();
  auto sampler = loci::Sampler::create(sp, (*session)->n_vocab());
  REQUIRE(sampler.is_ok());
  loci::GenerateOptions go;
  go.max_tokens = 150;
  go.stop_at_eog = false;
  go.stop = {"not in any story, surely", "zq", "\xE2\x82\xAC"};
  auto gen = loci::Generator::create(**session, (*model)->tokenizer(), **sampler, go);
  REQUIRE(gen.is_ok());
  const int32_t prompt[] = {1, 403, 407, 261};
  size_t bytes = 0;
  loci::test::start_counting_allocations();
  auto r = (*gen)->run(prompt, 4, count_bytes, &bytes);
  const size_t n = loci::test::stop_counting_allocations();
  REQUIRE(r.is_ok());
  CHECK(r->generated_tokens == 150);
  CHECK(bytes > 0);
  CHECK(n == 0);
}
