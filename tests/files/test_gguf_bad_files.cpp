// GgufFile::open on a corpus of broken files written to a temp dir, and on the
// two real legacy files in the shared folder: each is refused with the right
// code and a message that names the file, the culprit and the reason.
#include <catch2/catch.hpp>

#include <algorithm>
#include <cstdio>
#include <string>
#include <vector>

#include "loci/gguf.h"
#include "support/gguf_writer.h"
#include "support/test_support.h"

using namespace loci;
using test::GgufImage;
using test::GgufWriter;

namespace {

constexpr uint64_t kStream = 0x67677567;

struct BadFile {
  std::string name;
  std::vector<uint8_t> bytes;
  StatusCode code;
  std::vector<std::string> words;  // the message must hold each
};

std::string at(uint64_t offset) { return "offset " + std::to_string(offset); }

std::vector<BadFile> corpus(std::mt19937_64& g) {
  const GgufWriter tiny = GgufWriter::tiny_model(g);
  const GgufImage img = tiny.build();
  const std::string down = "'blk.0.ffn_down.weight'";
  std::vector<BadFile> out;

  std::vector<uint8_t> cut(img.bytes.begin(), img.bytes.begin() + ptrdiff_t(img.tensor_dtype_offsets[1] - 5));
  out.push_back({"truncated.gguf", cut, StatusCode::kInvalidModel, {"'output_norm.weight'", "truncated", "offset"}});
  out.push_back({"empty.gguf", {}, StatusCode::kInvalidModel, {"too small", at(0)}});

  GgufWriter w = tiny;
  w.magic = 0x46554746;  // "FGUF"
  out.push_back({"bad-magic.gguf", w.build().bytes, StatusCode::kInvalidModel, {"magic", at(0)}});
  w = tiny;
  w.n_tensors = uint64_t(1) << 63;
  out.push_back({"absurd-tensor-count.gguf", w.build().bytes, StatusCode::kInvalidModel,
                 {"tensor count", "limit", at(img.n_tensors_offset)}});
  w = tiny;
  w.version = 7;
  out.push_back({"unknown-version.gguf", w.build().bytes, StatusCode::kInvalidModel, {"version 7", at(4)}});
  w = tiny;
  w.magic = test::kGgjtMagic;
  out.push_back({"legacy-ggjt.bin", w.build().bytes, StatusCode::kUnsupported, {"GGJT"}});

  w = tiny;
  w.tensors[2].dims[1] = uint64_t(1) << 62;
  out.push_back({"overflowing-dim.gguf", w.build().bytes, StatusCode::kInvalidModel, {down, "overflows", "offset"}});
  w = tiny;
  w.kvs[1].value.length = uint64_t(1) << 63;
  out.push_back({"absurd-string-length.gguf", w.build().bytes, StatusCode::kInvalidModel,
                 {"'general.name'", "length", "limit", at(img.kv_value_offsets[1])}});
  w = tiny;
  w.make_v1();
  out.push_back({"gguf-v1.gguf", w.build().bytes, StatusCode::kUnsupported, {"version 1"}});
  w = tiny;
  w.tensors[2].dims[0] = 80;  // q8_0 blocks hold 32
  out.push_back({"unaligned-rows.gguf", w.build().bytes, StatusCode::kInvalidModel,
                 {down, "row length 80", "block", at(img.tensor_info_offsets[2])}});
  w = tiny;
  w.tensors[2].offset = uint64_t(1) << 40;
  out.push_back({"data-past-end.gguf", w.build().bytes, StatusCode::kInvalidModel,
                 {down, "past the end", at(img.tensor_info_offsets[2])}});
  return out;
}

void require_refused(const std::string& path, StatusCode code, const std::vector<std::string>& words) {
  const Result<std::shared_ptr<const GgufFile>> r = GgufFile::open(path);
  INFO(path);
  REQUIRE_FALSE(r.is_ok());
  INFO(r.status().to_string());
  CHECK(r.status().code() == code);
  for (const std::string& w : words) CHECK_THAT(r.status().message(), Catch::Contains(w));
}

std::vector<uint8_t> read_file(const std::string& path) {
  std::vector<uint8_t> out;
  FILE* f = std::fopen(path.c_str(), "rb");
  if (!f) return out;
  uint8_t buf[1 << 16];
  size_t n;
  while ((n = std::fread(buf, 1, sizeof buf, f)) > 0) out.insert(out.end(), buf, buf + n);
  std::fclose(f);
  return out;
}

std::string legacy_path(const std::string& name) {
  const std::string path = test::shared_dir() + "/models/legacy/" + name;
  if (!test::file_exists(path)) FAIL("shared file missing: " << path << " (set LOCI_SHARED_DIR)");
  return path;
}

}  // namespace

TEST_CASE("gguf files: each file of the bad corpus is refused by open, naming file and reason", "[files][gguf]") {
  std::mt19937_64 g = test::rng(kStream);
  const test::TempDir dir("gguf-bad");
  REQUIRE(dir.ok());
  const std::vector<BadFile> files = corpus(g);
  for (const BadFile& f : files) {
    const std::string path = dir.write(f.name, f.bytes);
    REQUIRE_FALSE(path.empty());
    std::vector<std::string> words = f.words;
    if (f.code == StatusCode::kInvalidModel) words.push_back(path);
    require_refused(path, f.code, words);
  }
  // The valid file the corpus was derived from opens.
  std::mt19937_64 g2 = test::rng(kStream);
  const test::TempFile good(GgufWriter::tiny_model(g2).build().bytes, "gguf-good");
  REQUIRE(good.ok());
  const auto r = GgufFile::open(good.path());
  REQUIRE(r.is_ok());
  CHECK((*r)->path() == good.path());
  CHECK((*r)->tensors().size() == 3);
}

TEST_CASE("gguf files: a missing file or a directory is an I/O error", "[files][gguf]") {
  const test::TempDir dir("gguf-io");
  REQUIRE(dir.ok());
  require_refused(dir.path() + "/no-such-model.gguf", StatusCode::kIoError, {"no-such-model.gguf"});
  require_refused(dir.path(), StatusCode::kIoError, {dir.path()});
}

TEST_CASE("gguf files: the real GGUF v1 file is refused, naming the version", "[files][gguf]") {
  require_refused(legacy_path("stories260K-gguf-v1-f32.gguf"), StatusCode::kUnsupported, {"version 1", "v1"});
}

TEST_CASE("gguf files: the real unaligned-rows v2 file is refused, naming the tensor and the block", "[files][gguf]") {
  const std::string path = legacy_path("stories260K-gguf-v2-q8_0-unaligned-rows.gguf");
  // The offending info record: the name's 64-bit length, then the name (found
  // by scanning the raw bytes, independently of any reader).
  const std::string name = "blk.0.ffn_down.weight";
  std::vector<uint8_t> needle = test::le_bytes(uint64_t(name.size()));
  needle.insert(needle.end(), name.begin(), name.end());
  const std::vector<uint8_t> bytes = read_file(path);
  const auto hit = std::search(bytes.begin(), bytes.end(), needle.begin(), needle.end());
  REQUIRE(hit != bytes.end());
  require_refused(path, StatusCode::kInvalidModel,
                  {"'" + name + "'", "row length 172", "block size 32", "q8_0", at(uint64_t(hit - bytes.begin()))});
}
