// Synthetic models (loci/synth.h): real shapes, well-formed random weights,
// files laid out as llama.cpp's converter lays them out, and runnable.
#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <string>
#include <vector>

#include "loci/gguf.h"
#include "loci/gguf_writer.h"
#include "loci/model.h"
#include "loci/quant.h"
#include "loci/synth.h"
#include "support/gguf_writer.h"
#include "support/test_support.h"

using namespace loci;

namespace {

// A shape small enough to build in a test, with rows that K-quant blocks divide.
SynthShape tiny_shape(Arch arch) {
  return {"tiny", "a test shape", arch, 512, 256, 2, 4, 2, 512, 128, 10000.0f, 1e-5f, arch == Arch::kQwen2};
}

SynthSpec spec_of(SynthShape shape, FileType type, uint64_t seed = 1) {
  SynthSpec s;
  s.shape = shape;
  s.type = type;
  s.seed = seed;
  return s;
}

std::vector<float> logits_after(const std::shared_ptr<const Model>& m, std::vector<int32_t> tokens) {
  SessionOptions o;
  o.n_ctx = 32;
  o.n_threads = 1;
  auto s = Session::create(m, o);
  REQUIRE(s.is_ok());
  REQUIRE((*s)->eval(tokens.data(), tokens.size()).is_ok());
  return std::vector<float>((*s)->logits(), (*s)->logits() + (*s)->n_vocab());
}

uint64_t params_of(const SynthShape& shape) {
  GgufWriter w;
  REQUIRE(describe_synth_model(spec_of(shape, FileType::kF16), nullptr, &w).is_ok());
  uint64_t n = 0;
  for (const auto& t : w.tensors()) n += uint64_t(t.ne[0]) * uint64_t(t.ne[1]);
  return n;
}

}  // namespace

TEST_CASE("synthetic specs parse, and bad ones are named", "[synth]") {
  auto s = parse_synth_spec("llama-1b:q4_0");
  REQUIRE(s.is_ok());
  CHECK(std::string(s->shape.name) == "llama-1b");
  CHECK(s->type == FileType::kQ4_0);
  CHECK(synth_spec_name(*s) == "llama-1b:q4_0");
  auto upper = parse_synth_spec("Qwen2.5-0.5B:Q4_K_M");
  REQUIRE(upper.is_ok());
  CHECK(upper->type == FileType::kQ4_K_M);
  auto bare = parse_synth_spec("stories15m");
  REQUIRE(bare.is_ok());
  CHECK(bare->type == FileType::kF16);

  auto bad_shape = parse_synth_spec("llama-7b:q4_0");
  REQUIRE_FALSE(bad_shape.is_ok());
  CHECK_THAT(bad_shape.status().message(), Catch::Contains("llama-7b") && Catch::Contains("tinyllama-1.1b"));
  auto bad_type = parse_synth_spec("llama-1b:q4_9");
  REQUIRE_FALSE(bad_type.is_ok());
  CHECK_THAT(bad_type.status().message(), Catch::Contains("q4_9"));
}

TEST_CASE("synthetic shapes have their published parameter counts", "[synth]") {
  // Counts from each model's release (embedding included once when tied).
  const std::pair<const char*, uint64_t> published[] = {
      {"llama3.2-1b", 1235814400ull},
      {"qwen2.5-0.5b", 494032768ull},
      {"tinyllama-1.1b", 1100048384ull},
      {"stories15m", 15191712ull},
  };
  for (const auto& [name, count] : published) {
    auto s = parse_synth_spec(name);
    REQUIRE(s.is_ok());
    INFO(name);
    CHECK(params_of(s->shape) == count);
  }
  // llama-1b is Llama-3.2-1B with the 32000-token vocabulary the targets use.
  CHECK(params_of(parse_synth_spec("llama-1b")->shape) == 1235814400ull - (128256ull - 32000ull) * 2048ull);
}

TEST_CASE("synthetic weights look like trained ones in every type", "[synth]") {
  for (FileType ft : file_types()) {
    const SynthSpec spec = spec_of(tiny_shape(Arch::kLlama), ft);
    GgufWriter w;
    auto fill = describe_synth_model(spec, nullptr, &w);
    REQUIRE(fill.is_ok());
    for (size_t i = 0; i < w.tensors().size(); ++i) {
      const auto& t = w.tensors()[i];
      std::vector<uint8_t> bytes(t.bytes);
      REQUIRE((*fill)(i, bytes.data()).is_ok());
      std::vector<float> x(size_t(t.ne[0]) * size_t(t.ne[1]));
      REQUIRE(dequantize_row(t.dtype, bytes.data(), x.data(), x.size()).is_ok());
      double sum = 0, sum2 = 0;
      size_t non_finite = 0;
      for (float v : x) {
        non_finite += !std::isfinite(v);
        sum += v;
      }
      const double mean = sum / double(x.size());
      for (float v : x) sum2 += (v - mean) * (v - mean);
      const double sd = std::sqrt(sum2 / double(x.size()));
      INFO(file_type_name(ft) << " " << t.name << " " << dtype_name(t.dtype) << " mean " << mean << " sd " << sd);
      REQUIRE(non_finite == 0);
      if (t.ndim == 1) {
        // Norms near 1, biases near 0, both spread by about 0.06.
        CHECK(std::abs(mean - (t.name.find("norm") != std::string::npos ? 1.0 : 0.0)) < 0.02);
      } else {
        // About N(0, 0.02): a spread of 0.02 and a mean far below it.
        CHECK(sd > 0.012);
        CHECK(sd < 0.03);
        CHECK(std::abs(mean) < 0.005);
      }
    }
  }
}

TEST_CASE("a synthetic model runs, and its seed decides its weights", "[synth]") {
  for (Arch arch : {Arch::kLlama, Arch::kQwen2}) {
    INFO(arch_name(arch));
    auto a = build_synth_model(spec_of(tiny_shape(arch), FileType::kQ4_K_M, 7), nullptr);
    REQUIRE(a.is_ok());
    CHECK((*a)->hparams().arch == arch);
    CHECK((*a)->hparams().tied_embeddings == (arch == Arch::kQwen2));
    const std::vector<float> la = logits_after(*a, {1, 300, 301, 302});
    CHECK(std::all_of(la.begin(), la.end(), [](float v) { return std::isfinite(v); }));

    auto b = build_synth_model(spec_of(tiny_shape(arch), FileType::kQ4_K_M, 7), nullptr);
    auto c = build_synth_model(spec_of(tiny_shape(arch), FileType::kQ4_K_M, 8), nullptr);
    REQUIRE(b.is_ok());
    REQUIRE(c.is_ok());
    CHECK(logits_after(*b, {1, 300, 301, 302}) == la);
    CHECK(logits_after(*c, {1, 300, 301, 302}) != la);
  }
}

TEST_CASE("loci synth writes the same model to a file as it builds in memory", "[synth]") {
  test::TempDir dir("synth");
  REQUIRE(dir.ok());
  const std::string path = dir.path() + "/tiny.gguf";
  const SynthSpec spec = spec_of(tiny_shape(Arch::kLlama), FileType::kQ8_0, 3);
  REQUIRE(write_synth_model(spec, path, nullptr).is_ok());
  CHECK_FALSE(test::file_exists(path + ".tmp"));
  auto from_file = Model::load(path);
  auto in_memory = build_synth_model(spec, nullptr);
  REQUIRE(from_file.is_ok());
  REQUIRE(in_memory.is_ok());
  const auto& ft = (*from_file)->gguf().tensors();
  const auto& mt = (*in_memory)->gguf().tensors();
  REQUIRE(ft.size() == mt.size());
  for (size_t i = 0; i < ft.size(); ++i) {
    INFO(ft[i].name);
    CHECK(ft[i].name == mt[i].name);
    CHECK(ft[i].dtype == mt[i].dtype);
    REQUIRE(ft[i].bytes == mt[i].bytes);
    CHECK(std::memcmp(ft[i].view.data, mt[i].view.data, ft[i].bytes) == 0);
  }
  CHECK(logits_after(*from_file, {1, 5, 6}) == logits_after(*in_memory, {1, 5, 6}));
}

TEST_CASE("synthetic files carry the keys and tensor names llama.cpp's files carry", "[synth]") {
  // llama-2-tiny-random.gguf was written by llama.cpp's converter (see the
  // shared README): every key it has, ours has with the same type, and the
  // layer tensors have the same names.
  const std::string ref_path = test::shared_dir() + "/models/llama-2-tiny-random.gguf";
  if (!test::file_exists(ref_path)) FAIL("shared file missing: " << ref_path << " (set LOCI_SHARED_DIR)");
  auto ref = GgufFile::open(ref_path);
  REQUIRE(ref.is_ok());
  SynthShape shape = tiny_shape(Arch::kLlama);
  shape.tied_embeddings = false;  // the reference has output.weight
  auto ours = build_synth_model(spec_of(shape, FileType::kF16), nullptr);
  REQUIRE(ours.is_ok());
  const GgufFile& f = (*ours)->gguf();
  for (const GgufKv& kv : (*ref)->kvs()) {
    INFO(kv.key);
    const GgufKv* mine = f.find(kv.key);
    REQUIRE(mine != nullptr);
    CHECK(mine->type == kv.type);
    CHECK(mine->elem_type == kv.elem_type);
  }
  for (const GgufTensor& t : (*ref)->tensors()) {
    INFO(t.name);
    const GgufTensor* mine = f.find_tensor(t.name);
    REQUIRE(mine != nullptr);
    CHECK(mine->ndim == t.ndim);
    CHECK(mine->dtype == t.dtype);  // F16 matrices, F32 norms
  }
}
