// The test-only GGUF reader on the shared files, and on damaged copies of one.
#include <catch2/catch.hpp>

#include <cmath>
#include <cstdio>
#include <string>
#include <vector>

#include "loci/quant.h"
#include "support/gguf_reader.h"
#include "support/test_support.h"

using namespace loci;
using loci::test::GgufFile;
using loci::test::GgufTensor;
using loci::test::GgufType;

namespace {

std::string model_path(const std::string& name) {
  const std::string path = test::shared_dir() + "/models/" + name;
  if (!test::file_exists(path))
    FAIL("shared model file missing: " << path << " (set LOCI_SHARED_DIR to the folder holding models/)");
  return path;
}

std::vector<uint8_t> read_bytes(const std::string& path) {
  std::vector<uint8_t> v;
  FILE* f = std::fopen(path.c_str(), "rb");
  REQUIRE(f != nullptr);
  uint8_t buf[65536];
  size_t n;
  while ((n = std::fread(buf, 1, sizeof buf, f)) > 0) v.insert(v.end(), buf, buf + n);
  std::fclose(f);
  return v;
}

}  // namespace

TEST_CASE("gguf reader: every shared model parses and every tensor dequantizes to finite values",
          "[files][gguf]") {
  const char* names[] = {"stories260K.gguf",          "stories260K-q8_0.gguf",     "stories260K-q4_0.gguf",
                         "tinyllama-v0-q4_0.gguf",    "llama-2-tiny-random.gguf",  "synth-kq-f32.gguf",
                         "synth-kq-pure-f16.gguf",    "synth-kq-pure-bf16.gguf",   "synth-kq-pure-q4_0.gguf",
                         "synth-kq-pure-q8_0.gguf",   "synth-kq-pure-q4_k.gguf",   "synth-kq-pure-q6_k.gguf",
                         "synth-kq-q4_k_m.gguf",      "synth-qwen2-f32.gguf",      "synth-qwen2-q8_0.gguf",
                         "synth-llama-tied-f32.gguf", "synth-llama-tied-ropefreqs-f32.gguf"};
  for (const char* name : names) {
    INFO(name);
    Result<GgufFile> f = GgufFile::load(model_path(name));
    REQUIRE(f.is_ok());
    CHECK(f->version() == 3);
    CHECK(f->alignment() == 32);
    CHECK(f->get_string("general.architecture").has_value());
    REQUIRE_FALSE(f->tensors().empty());
    CHECK(f->data_offset() % 32 == 0);
    for (const GgufTensor& t : f->tensors()) {
      INFO(t.name);
      REQUIRE(f->tensor(t.name) == &t);
      std::vector<float> row(size_t(t.row_length()));
      const size_t row_bytes = t.bytes / size_t(t.rows());
      bool finite = true;
      for (size_t r = 0; r < t.rows(); ++r) {
        REQUIRE(dequantize_row(t.dtype, t.data + r * row_bytes, row.data(), row.size()).is_ok());
        for (float v : row) finite = finite && std::isfinite(v);
      }
      CHECK(finite);
    }
  }
}

TEST_CASE("gguf reader: known metadata and shapes of stories260K", "[files][gguf]") {
  Result<GgufFile> f = GgufFile::load(model_path("stories260K.gguf"));
  REQUIRE(f.is_ok());
  // From the shared README: dim 64, 5 layers, 8 heads, 4 KV heads, ffn 172, 512-token vocab.
  CHECK(f->get_string("general.architecture") == std::string("llama"));
  CHECK(f->get_uint("llama.embedding_length") == uint64_t(64));
  CHECK(f->get_uint("llama.block_count") == uint64_t(5));
  CHECK(f->get_uint("llama.attention.head_count") == uint64_t(8));
  CHECK(f->get_uint("llama.attention.head_count_kv") == uint64_t(4));
  CHECK(f->get_uint("llama.feed_forward_length") == uint64_t(172));
  GgufType elem;
  CHECK(f->array_length("tokenizer.ggml.tokens", &elem) == uint64_t(512));
  CHECK(elem == GgufType::STRING);
  const GgufTensor* down = f->tensor("blk.0.ffn_down.weight");
  REQUIRE(down != nullptr);
  CHECK(down->dims == std::vector<uint64_t>{172, 64});
  CHECK(down->dtype == DType::F32);
  CHECK(down->bytes == 172 * 64 * 4);
  CHECK(f->tensor("no.such.tensor") == nullptr);
  CHECK_FALSE(f->get_uint("no.such.key").has_value());
}

TEST_CASE("gguf reader: legacy files are refused with a reason", "[files][gguf]") {
  Result<GgufFile> v1 = GgufFile::load(model_path("legacy/stories260K-gguf-v1-f32.gguf"));
  REQUIRE_FALSE(v1.is_ok());
  CHECK(v1.status().message().find("version 1") != std::string::npos);
  Result<GgufFile> rows = GgufFile::load(model_path("legacy/stories260K-gguf-v2-q8_0-unaligned-rows.gguf"));
  REQUIRE_FALSE(rows.is_ok());
  CHECK(rows.status().message().find("ffn_down") != std::string::npos);
  CHECK(rows.status().message().find("172") != std::string::npos);
  CHECK(GgufFile::load(test::shared_dir() + "/models/does-not-exist.gguf").status().code() == StatusCode::kIoError);
}

namespace {

// A parse that succeeds must leave every tensor inside the image.
bool tensors_in_bounds(const GgufFile& f) {
  for (const GgufTensor& t : f.tensors()) {
    if (t.data < f.image() + f.data_offset()) return false;
    if (size_t(t.data - f.image()) + t.bytes > f.image_size()) return false;
  }
  return true;
}

}  // namespace

TEST_CASE("gguf reader: truncated or corrupted files give errors, never crashes", "[files][gguf]") {
  const std::vector<uint8_t> bytes = read_bytes(model_path("stories260K-q4_0.gguf"));
  Result<GgufFile> whole = GgufFile::parse(bytes);
  REQUIRE(whole.is_ok());
  const size_t meta = size_t(whole->data_offset());
  REQUIRE(meta < bytes.size());

  SECTION("every cut in the metadata, and sampled cuts in the data, is refused") {
    size_t accepted = 0;
    for (size_t cut = 0; cut < bytes.size(); cut += cut < meta ? 1 : 997) {
      Result<GgufFile> f = GgufFile::parse(std::vector<uint8_t>(bytes.begin(), bytes.begin() + long(cut)));
      accepted += f.is_ok();
    }
    CHECK(accepted == 0);
  }
  SECTION("random byte damage in the metadata is refused or stays in bounds") {
    auto g = test::rng(7);
    std::uniform_int_distribution<size_t> where(0, meta - 1);
    std::uniform_int_distribution<int> how_many(1, 4);
    size_t refused = 0;
    const int kTrials = 3000;
    for (int trial = 0; trial < kTrials; ++trial) {
      std::vector<uint8_t> damaged = bytes;
      for (int k = how_many(g); k > 0; --k) damaged[where(g)] = uint8_t(g());
      Result<GgufFile> f = GgufFile::parse(std::move(damaged));
      if (!f.is_ok()) {
        ++refused;
        CHECK(f.status().code() == StatusCode::kInvalidModel);
        continue;
      }
      REQUIRE(tensors_in_bounds(*f));
    }
    // Most damage lands in token strings and is harmless; some must be caught.
    CHECK(refused > 0);
  }
}
