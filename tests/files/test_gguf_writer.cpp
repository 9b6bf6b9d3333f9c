// The library's GGUF writer (loci/gguf_writer.h): what it writes reads back
// through GgufFile exactly, in memory and on disk, and a failed write leaves
// no file behind.
#include <catch2/catch.hpp>

#include <cmath>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "loci/gguf.h"
#include "loci/gguf_writer.h"
#include "loci/quant.h"
#include "support/gguf_writer.h"
#include "support/test_support.h"

namespace {

using loci::DType;
using loci::GgufFile;
using loci::GgufType;
using loci::Status;
using loci::StatusCode;

bool exists(const std::string& path) { return loci::test::file_exists(path); }

std::vector<uint8_t> read_bytes(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  return std::vector<uint8_t>(std::istreambuf_iterator<char>(f), std::istreambuf_iterator<char>());
}

// Deterministic bytes for tensor i: a byte pattern that differs per tensor.
// Quantized blocks get a valid fp16 scale by quantizing floats instead.
struct Payload {
  std::vector<std::vector<uint8_t>> bytes;
};

Payload payload_for(const loci::GgufWriter& w, uint64_t stream) {
  auto g = loci::test::rng(stream);
  Payload p;
  for (const auto& t : w.tensors()) {
    const size_t elems = size_t(t.ne[0] * t.ne[1] * t.ne[2] * t.ne[3]);
    const std::vector<float> x = loci::test::random_floats(g, elems);
    std::vector<uint8_t> b(t.bytes);
    REQUIRE(loci::quantize_row(t.dtype, x.data(), b.data(), elems).is_ok());
    p.bytes.push_back(std::move(b));
  }
  return p;
}

loci::GgufWriter::TensorFill fill_from(const Payload& p) {
  return [&p](size_t i, void* dst) {
    std::memcpy(dst, p.bytes[i].data(), p.bytes[i].size());
    return Status::ok();
  };
}

// Metadata of every type the writer sets itself.
void set_all_types(loci::GgufWriter* w) {
  w->set_string("general.architecture", "llama");
  w->set_u32("test.u32", 4000000000u);
  w->set_i32("test.i32", -123456);
  w->set_u64("test.u64", (uint64_t(1) << 40) + 7);
  w->set_f32("test.f32", 0.15625f);
  w->set_bool("test.true", true);
  w->set_bool("test.false", false);
  w->set_string("test.empty", "");
  w->set_string_array("test.strings", {"a", "", "three"});
  w->set_f32_array("test.floats", {1.5f, -2.25f, 1e-7f});
  w->set_i32_array("test.ints", {-1, 0, 2147483647});
}

void add_tensors(loci::GgufWriter* w) {
  REQUIRE(w->add_tensor("token_embd.weight", DType::F32, {8, 5}).is_ok());
  REQUIRE(w->add_tensor("norm.weight", DType::F32, {8}).is_ok());
  REQUIRE(w->add_tensor("h.weight", DType::F16, {6, 3}).is_ok());
  REQUIRE(w->add_tensor("q8.weight", DType::Q8_0, {64, 3}).is_ok());
  REQUIRE(w->add_tensor("bf.weight", DType::BF16, {2, 3, 2}).is_ok());
  REQUIRE(w->add_tensor("q4k.weight", DType::Q4_K, {256, 2}).is_ok());
}

void check_metadata(const GgufFile& f) {
  CHECK(f.version() == 3);
  CHECK(*f.get_string("general.architecture") == "llama");
  CHECK(*f.get_u32("test.u32") == 4000000000u);
  CHECK(*f.get_int("test.i32") == -123456);
  CHECK(*f.get_int("test.u64") == int64_t((uint64_t(1) << 40) + 7));
  CHECK(f.find("test.u64")->type == GgufType::kU64);
  CHECK(*f.get_float("test.f32") == 0.15625);
  CHECK(f.find("test.f32")->type == GgufType::kF32);
  CHECK(*f.get_bool("test.true", false));
  CHECK_FALSE(*f.get_bool("test.false", true));
  CHECK(*f.get_string("test.empty") == "");
  const auto strings = f.get_string_array("test.strings");
  REQUIRE(strings.is_ok());
  CHECK(*strings == std::vector<std::string_view>{"a", "", "three"});
  CHECK(*f.get_f32_array("test.floats") == std::vector<float>{1.5f, -2.25f, 1e-7f});
  CHECK(*f.get_i32_array("test.ints") == std::vector<int32_t>{-1, 0, 2147483647});
}

void check_tensors(const GgufFile& f, const loci::GgufWriter& w, const Payload& p) {
  REQUIRE(f.tensors().size() == w.tensors().size());
  for (size_t i = 0; i < w.tensors().size(); ++i) {
    const auto& want = w.tensors()[i];
    const loci::GgufTensor& got = f.tensors()[i];
    INFO(want.name);
    CHECK(got.name == want.name);
    CHECK(got.dtype == want.dtype);
    CHECK(got.ndim == want.ndim);
    for (int d = 0; d < int(loci::kMaxDims); ++d) CHECK(got.ne[d] == want.ne[d]);
    CHECK(got.data_offset % f.alignment() == 0);
    CHECK(got.data_offset == f.data_offset() + want.offset);
    REQUIRE(got.bytes == p.bytes[i].size());
    CHECK(std::memcmp(got.view.data, p.bytes[i].data(), got.bytes) == 0);
  }
}

}  // namespace

TEST_CASE("gguf writer: metadata of every type and tensors round-trip through memory", "[gguf-writer]") {
  for (uint64_t alignment : {32u, 64u}) {
    INFO("alignment " << alignment);
    loci::GgufWriter w(alignment);
    CHECK(w.alignment() == alignment);
    set_all_types(&w);
    add_tensors(&w);
    const Payload p = payload_for(w, alignment);

    std::vector<uint8_t> image(w.file_size());
    REQUIRE(w.write_memory(image.data(), image.size(), fill_from(p)).is_ok());
    auto f = GgufFile::parse(image.data(), image.size());
    REQUIRE(f.is_ok());
    CHECK((*f)->file_size() == w.file_size());
    CHECK((*f)->alignment() == alignment);
    CHECK((*f)->data_offset() % alignment == 0);
    // general.alignment is written only when it differs from GGUF's default.
    CHECK(((*f)->find("general.alignment") != nullptr) == (alignment != 32));
    check_metadata(**f);
    check_tensors(**f, w, p);

    // One byte short is refused, not overrun.
    CHECK(w.write_memory(image.data(), image.size() - 1, fill_from(p)).code() == StatusCode::kInvalidArgument);
  }
}

TEST_CASE("gguf writer: write_file writes the same bytes as write_memory", "[gguf-writer]") {
  loci::test::TempDir dir("gguf-writer");
  REQUIRE(dir.ok());
  loci::GgufWriter w(64);
  set_all_types(&w);
  add_tensors(&w);
  const Payload p = payload_for(w, 7);
  std::vector<uint8_t> image(w.file_size());
  REQUIRE(w.write_memory(image.data(), image.size(), fill_from(p)).is_ok());

  const std::string path = dir.path() + "/out.gguf";
  REQUIRE(w.write_file(path, fill_from(p)).is_ok());
  CHECK(read_bytes(path) == image);
  CHECK_FALSE(exists(path + ".tmp"));
  auto f = GgufFile::open(path);
  REQUIRE(f.is_ok());
  check_metadata(**f);
  check_tensors(**f, w, p);
}

TEST_CASE("gguf writer: setting a key again replaces it in place; remove and has", "[gguf-writer]") {
  loci::GgufWriter w;
  w.set_u32("a", 1);
  w.set_string("b", "x");
  w.set_u32("c", 3);
  w.set_f32("a", 2.5f);  // new type and value, same position
  w.remove("c");
  CHECK(w.has("a"));
  CHECK_FALSE(w.has("c"));
  w.remove("missing");  // no effect
  std::vector<uint8_t> image(w.file_size());
  REQUIRE(w.write_memory(image.data(), image.size(), nullptr).is_ok());
  auto f = GgufFile::parse(image.data(), image.size());
  REQUIRE(f.is_ok());
  REQUIRE((*f)->kvs().size() == 2);
  CHECK((*f)->kvs()[0].key == "a");
  CHECK((*f)->kvs()[0].type == GgufType::kF32);
  CHECK(*(*f)->get_float("a") == 2.5);
  CHECK((*f)->kvs()[1].key == "b");
}

TEST_CASE("gguf writer: copy_kv copies any pair byte for byte", "[gguf-writer]") {
  // A source holding the types the writer has no setter for.
  auto g = loci::test::rng(11);
  loci::test::GgufWriter src = loci::test::GgufWriter::tiny_model(g);
  src.add_u8("x.u8", 200);
  src.add_i8("x.i8", -100);
  src.add_u16("x.u16", 60000);
  src.add_i16("x.i16", -30000);
  src.add_i64("x.i64", -(int64_t(1) << 50));
  src.add_f64("x.f64", 3.25);
  src.add_array<uint8_t>("x.u8s", loci::test::gguf_type::kU8, {1, 2, 3});
  src.add_array<double>("x.f64s", loci::test::gguf_type::kF64, {0.5, -8.0});
  src.add_string_array("x.strs", {"first", "", "naïve"});
  src.add_u32("general.alignment", 64);
  const loci::test::GgufImage img = src.build();
  auto in = GgufFile::parse(img.bytes.data(), img.bytes.size());
  REQUIRE(in.is_ok());

  loci::GgufWriter w;  // alignment 32: the source's general.alignment must not come along
  for (const loci::GgufKv& kv : (*in)->kvs()) w.copy_kv(**in, kv);
  std::vector<uint8_t> image(w.file_size());
  REQUIRE(w.write_memory(image.data(), image.size(), nullptr).is_ok());
  auto out = GgufFile::parse(image.data(), image.size());
  REQUIRE(out.is_ok());
  CHECK((*out)->find("general.alignment") == nullptr);
  CHECK((*out)->alignment() == 32);
  size_t copied = 0;
  for (const loci::GgufKv& kv : (*in)->kvs()) {
    if (kv.key == "general.alignment") continue;
    INFO(kv.key);
    const loci::GgufKv* got = (*out)->find(kv.key);
    REQUIRE(got != nullptr);
    CHECK(got->type == kv.type);
    CHECK((*out)->raw_value(*got) == (*in)->raw_value(kv));
    CHECK((*out)->kvs()[copied].key == kv.key);  // order kept
    ++copied;
  }
  CHECK(copied == (*out)->kvs().size());
  CHECK(copied >= 9);
}

TEST_CASE("gguf writer: add_tensor refuses bad tensors and keeps the others", "[gguf-writer]") {
  loci::GgufWriter w;
  REQUIRE(w.add_tensor("a.weight", DType::Q4_0, {64, 2}).is_ok());
  const uint64_t size = w.file_size();
  auto refused = [&](Status s) {
    CHECK(s.code() == StatusCode::kInvalidArgument);
    CHECK(w.tensors().size() == 1);
    CHECK(w.file_size() == size);
    return s.message();
  };
  CHECK_THAT(refused(w.add_tensor("b.weight", DType::Q4_0, {33, 2})), Catch::Contains("not a multiple of 32"));
  CHECK_THAT(refused(w.add_tensor("c.weight", DType::Q6_K, {128, 2})), Catch::Contains("256"));
  CHECK_THAT(refused(w.add_tensor("a.weight", DType::F32, {4})), Catch::Contains("twice"));
  refused(w.add_tensor("d.weight", DType::F32, {4, 0}));
  refused(w.add_tensor("d.weight", DType::F32, {-4}));
  refused(w.add_tensor("d.weight", DType::F32, {}));
  refused(w.add_tensor("d.weight", DType::F32, {1, 1, 1, 1, 1}));
  refused(w.add_tensor("", DType::F32, {4}));
  refused(w.add_tensor(std::string(256, 'n'), DType::F32, {4}));
  refused(w.add_tensor("d.weight", DType::Q8_K, {256}));  // activation-only
  refused(w.add_tensor("d.weight", DType(99), {4}));
  refused(w.add_tensor("d.weight", DType::F32, {int64_t(1) << 40, int64_t(1) << 40}));  // overflows
  CHECK(w.add_tensor(std::string(255, 'n'), DType::F32, {4}).is_ok());
}

TEST_CASE("gguf writer: a failed write_file leaves no file and no .tmp behind", "[gguf-writer]") {
  loci::test::TempDir dir("gguf-writer-fail");
  REQUIRE(dir.ok());
  loci::GgufWriter w;
  add_tensors(&w);
  const Payload p = payload_for(w, 3);

  SECTION("the fill callback fails: its error is returned") {
    const std::string path = dir.path() + "/out.gguf";
    size_t calls = 0;
    const Status s = w.write_file(path, [&](size_t i, void* dst) {
      ++calls;
      if (i == 2) return loci::invalid_model("fill failed on purpose");
      std::memcpy(dst, p.bytes[i].data(), p.bytes[i].size());
      return Status::ok();
    });
    CHECK(s.code() == StatusCode::kInvalidModel);
    CHECK(s.message() == "fill failed on purpose");
    CHECK(calls == 3);
    CHECK_FALSE(exists(path));
    CHECK_FALSE(exists(path + ".tmp"));
  }
  SECTION("a failure keeps the file that was there") {
    const std::string path = dir.path() + "/keep.gguf";
    REQUIRE(w.write_file(path, fill_from(p)).is_ok());
    const std::vector<uint8_t> before = read_bytes(path);
    const Status s = w.write_file(path, [](size_t, void*) { return loci::io_error("disk gone"); });
    CHECK(s.code() == StatusCode::kIoError);
    CHECK(read_bytes(path) == before);
    CHECK_FALSE(exists(path + ".tmp"));
  }
  SECTION("an unwritable directory is an I/O error") {
    const std::string path = dir.path() + "/no/such/dir/out.gguf";
    const Status s = w.write_file(path, fill_from(p));
    CHECK(s.code() == StatusCode::kIoError);
    CHECK_THAT(s.message(), Catch::Contains("out.gguf.tmp"));
    CHECK_FALSE(exists(path + ".tmp"));
  }
  SECTION("the destination is a directory: the rename fails and the .tmp is removed") {
    const std::string path = dir.path() + "/adir";
    std::error_code ec;
    REQUIRE(std::filesystem::create_directories(path + "/x", ec));
    const Status s = w.write_file(path, fill_from(p));
    CHECK(s.code() == StatusCode::kIoError);
    CHECK_FALSE(exists(path + ".tmp"));
  }
}
