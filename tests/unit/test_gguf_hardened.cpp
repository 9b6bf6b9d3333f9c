// The hardened GGUF reader (loci::GgufFile) on in-memory images built by the
// test-only writer: valid v2/v3 files read back exactly, and each kind of
// malformed file is refused with the right code and a message naming the
// field and its offset.
#include <catch2/catch.hpp>

#include <algorithm>
#include <cstring>
#include <initializer_list>
#include <iterator>
#include <limits>
#include <string>
#include <vector>

#include "loci/gguf.h"
#include "support/gguf_writer.h"
#include "support/test_support.h"

using namespace loci;
using test::GgufImage;
using test::GgufValue;
using test::GgufWriter;
namespace gt = test::gguf_type;

namespace {

using Parsed = Result<std::shared_ptr<const GgufFile>>;

constexpr uint64_t kStream = 0x67677566;  // "gguf": this file's random streams start here
constexpr uint64_t k2to63 = uint64_t(1) << 63;

Parsed parse(const std::vector<uint8_t>& bytes) { return GgufFile::parse(bytes.data(), bytes.size()); }
Parsed parse(const GgufWriter& w) { return parse(w.build().bytes); }

std::string at(uint64_t offset) { return "offset " + std::to_string(offset); }

// `r` must have failed with `code` and a message holding every word.
void require_refused(const Parsed& r, StatusCode code, std::initializer_list<std::string> words) {
  REQUIRE_FALSE(r.is_ok());
  const Status s = r.status();
  INFO(s.to_string());
  CHECK(s.code() == code);
  for (const std::string& w : words) CHECK_THAT(s.message(), Catch::Contains(w));
}

template <typename T>
void require_refused(const Result<T>& r, std::initializer_list<std::string> words) {
  REQUIRE_FALSE(r.is_ok());
  INFO(r.status().to_string());
  CHECK(r.status().code() == StatusCode::kInvalidModel);
  for (const std::string& w : words) CHECK_THAT(r.status().message(), Catch::Contains(w));
}

template <typename T>
std::vector<uint8_t> cat(std::vector<uint8_t> a, T v) {
  const std::vector<uint8_t> b = test::le_bytes(v);
  a.insert(a.end(), b.begin(), b.end());
  return a;
}

// The file offset a refusal names ("... (at offset N)"), or -1 if none.
int64_t named_offset(const std::string& message) {
  const size_t p = message.rfind("offset ");
  if (p == std::string::npos) return -1;
  int64_t v = 0;
  size_t i = p + 7, digits = 0;
  for (; i < message.size() && message[i] >= '0' && message[i] <= '9' && digits < 18; ++i, ++digits)
    v = v * 10 + (message[i] - '0');
  return digits ? v : -1;
}

// Where dimension `d` of the tensor at `info` (named `name`) sits.
uint64_t dim_offset(uint64_t info, const std::string& name, int d) { return info + 8 + name.size() + 4 + 8 * d; }

// Random values of every metadata type, remembered so they can be compared.
struct EveryType {
  uint8_t u8;
  int8_t i8;
  uint16_t u16;
  int16_t i16;
  uint32_t u32;
  int32_t i32;
  uint64_t u64;
  uint64_t u64_big;  // above INT64_MAX
  int64_t i64;
  float f32;
  double f64;
  std::string str;
  std::vector<uint8_t> arr_u8;
  std::vector<int16_t> arr_i16;
  std::vector<int32_t> arr_i32;
  std::vector<uint64_t> arr_u64;
  std::vector<int64_t> arr_i64;
  std::vector<float> arr_f32;
  std::vector<double> arr_f64;
  std::vector<std::string> arr_str;

  explicit EveryType(std::mt19937_64& g) {
    u8 = uint8_t(g());
    i8 = int8_t(g());
    u16 = uint16_t(g());
    i16 = int16_t(g());
    u32 = uint32_t(g());
    i32 = int32_t(g());
    u64 = g() >> 1;
    u64_big = g() | k2to63;
    i64 = int64_t(g());
    f32 = std::uniform_real_distribution<float>(-1e6f, 1e6f)(g);
    f64 = std::uniform_real_distribution<double>(-1e300, 1e300)(g);
    str = random_string(g, 40);
    str += std::string("\0\xc3\xa9", 3);  // an embedded NUL and UTF-8 are plain bytes to GGUF
    for (int i = 0; i < 7; ++i) arr_u8.push_back(uint8_t(g()));
    arr_i16 = {std::numeric_limits<int16_t>::min(), std::numeric_limits<int16_t>::max(), int16_t(g())};
    arr_i32 = {std::numeric_limits<int32_t>::min(), std::numeric_limits<int32_t>::max(), int32_t(g()), 0};
    arr_u64 = {g(), g()};
    arr_i64 = {int64_t(g()), std::numeric_limits<int64_t>::min()};
    arr_f32 = test::random_floats(g, 5, -10.0f, 10.0f);
    arr_f64 = {std::uniform_real_distribution<double>(-1, 1)(g), 0.0};
    arr_str = {"", random_string(g, 1), random_string(g, 100), "\xe2\x96\x81the"};
  }

  static std::string random_string(std::mt19937_64& g, size_t n) {
    std::string s;
    for (size_t i = 0; i < n; ++i) s += char(0x20 + g() % 95);
    return s;
  }

  void add_to(GgufWriter& w) const {
    w.add_u8("t.u8", u8);
    w.add_i8("t.i8", i8);
    w.add_u16("t.u16", u16);
    w.add_i16("t.i16", i16);
    w.add_u32("t.u32", u32);
    w.add_i32("t.i32", i32);
    w.add_u64("t.u64", u64);
    w.add_u64("t.u64_big", u64_big);
    w.add_i64("t.i64", i64);
    w.add_f32("t.f32", f32);
    w.add_f64("t.f64", f64);
    w.add_bool("t.true", true);
    w.add_bool("t.false", false);
    w.add_string("t.str", str);
    w.add_string("t.empty", "");
    w.add_array("t.arr_u8", gt::kU8, arr_u8);
    w.add_array("t.arr_i16", gt::kI16, arr_i16);
    w.add_array("t.arr_i32", gt::kI32, arr_i32);
    w.add_array("t.arr_u64", gt::kU64, arr_u64);
    w.add_array("t.arr_i64", gt::kI64, arr_i64);
    w.add_array("t.arr_f32", gt::kF32, arr_f32);
    w.add_array("t.arr_f64", gt::kF64, arr_f64);
    w.add_array("t.arr_bool", gt::kBool, std::vector<uint8_t>{1, 0, 1});
    w.add_array("t.arr_empty", gt::kI32, std::vector<int32_t>{});
    w.add_string_array("t.arr_str", arr_str);
  }
};

GgufWriter every_type_model(std::mt19937_64& g, const EveryType& values) {
  GgufWriter w = GgufWriter::tiny_model(g);
  values.add_to(w);
  return w;
}

// The reader's tensors agree with what the writer put where.
void check_tensors(const GgufFile& f, const GgufWriter& w, const GgufImage& img) {
  REQUIRE(f.tensors().size() == w.tensors.size());
  CHECK(f.data_offset() == img.data_offset);
  uint64_t total = 0;
  for (size_t i = 0; i < w.tensors.size(); ++i) {
    const test::GgufWriterTensor& want = w.tensors[i];
    const GgufTensor& t = f.tensors()[i];
    INFO("tensor " << want.name);
    CHECK(t.name == want.name);
    CHECK(f.find_tensor(want.name) == &t);
    CHECK(uint32_t(t.dtype) == want.dtype);
    REQUIRE(t.ndim == int(want.dims.size()));
    int64_t rows = 1;
    for (int d = 0; d < kMaxDims; ++d) {
      const int64_t ne = d < t.ndim ? int64_t(want.dims[size_t(d)]) : 1;
      CHECK(t.ne[d] == ne);
      CHECK(t.view.ne[d] == ne);
      if (d > 0) rows *= ne;
    }
    CHECK(t.info_offset == img.tensor_info_offsets[i]);
    CHECK(t.data_offset == img.tensor_data[i]);
    CHECK(t.data_offset % f.alignment() == 0);
    REQUIRE(t.bytes == want.data.size());
    CHECK(t.view.dtype == t.dtype);
    CHECK(t.view.ndim == t.ndim);
    CHECK(t.view.is_contiguous());
    CHECK(t.view.bytes() == want.data.size());
    CHECK(t.view.nb[1] * size_t(rows) == want.data.size());
    REQUIRE(t.view.data != nullptr);
    CHECK(std::memcmp(t.view.data, want.data.data(), want.data.size()) == 0);
    // Views point into one image, where the writer placed each tensor.
    CHECK(static_cast<const uint8_t*>(t.view.data) - static_cast<const uint8_t*>(f.tensors()[0].view.data) ==
          int64_t(img.tensor_data[i]) - int64_t(img.tensor_data[0]));
    total += t.bytes;
  }
  CHECK(f.tensor_bytes() == total);
}

}  // namespace

// --- valid files --------------------------------------------------------------

TEST_CASE("gguf: v2 and v3 images read back every value type exactly", "[gguf]") {
  for (uint32_t version : {2u, 3u}) {
    INFO("version " << version);
    std::mt19937_64 g = test::rng(kStream + version);
    const EveryType v(g);
    GgufWriter w = every_type_model(g, v);
    w.version = version;
    const GgufImage img = w.build();
    const Parsed r = parse(img.bytes);
    REQUIRE(r.is_ok());
    const GgufFile& f = **r;
    CHECK(f.version() == version);
    CHECK(f.path() == "<memory>");
    CHECK(f.file_size() == img.bytes.size());
    CHECK(f.alignment() == 32);

    // Every pair, in file order, with its type, length and value offset.
    REQUIRE(f.kvs().size() == w.kvs.size());
    for (size_t i = 0; i < w.kvs.size(); ++i) {
      const GgufKv& kv = f.kvs()[i];
      INFO("key " << w.kvs[i].key);
      CHECK(kv.key == w.kvs[i].key);
      CHECK(f.find(w.kvs[i].key) == &kv);
      CHECK(uint32_t(kv.type) == w.kvs[i].value.type);
      CHECK(kv.offset == img.kv_value_offsets[i]);
      if (kv.type == GgufType::kArray) {
        CHECK(uint32_t(kv.elem_type) == w.kvs[i].value.elem_type);
        CHECK(kv.count == w.kvs[i].value.items.size());
      } else {
        CHECK(kv.count == 1);
      }
    }
    CHECK(f.find("t.missing") == nullptr);

    CHECK(*f.get_int("t.u8") == v.u8);
    CHECK(*f.get_int("t.i8") == v.i8);
    CHECK(*f.get_int("t.u16") == v.u16);
    CHECK(*f.get_int("t.i16") == v.i16);
    CHECK(*f.get_int("t.u32") == v.u32);
    CHECK(*f.get_u32("t.u32") == v.u32);
    CHECK(*f.get_int("t.i32") == v.i32);
    CHECK(*f.get_int("t.u64") == int64_t(v.u64));
    CHECK(*f.get_int("t.i64") == v.i64);
    CHECK(f.find("t.u64_big")->u == v.u64_big);
    require_refused(f.get_int("t.u64_big"), {"t.u64_big", "out of range", at(f.find("t.u64_big")->offset)});
    CHECK(*f.get_float("t.f32") == double(v.f32));
    CHECK(*f.get_float("t.f64") == v.f64);
    CHECK(*f.get_float("t.i16") == double(v.i16));
    CHECK(*f.get_bool("t.true", false) == true);
    CHECK(*f.get_bool("t.false", true) == false);
    CHECK(*f.get_string("t.str") == v.str);
    CHECK(f.get_string("t.str")->size() == v.str.size());
    CHECK(*f.get_string("t.empty") == "");

    const Result<std::vector<std::string_view>> strs = f.get_string_array("t.arr_str");
    REQUIRE(strs.is_ok());
    REQUIRE(strs->size() == v.arr_str.size());
    for (size_t i = 0; i < v.arr_str.size(); ++i) CHECK((*strs)[i] == v.arr_str[i]);
    const Result<std::vector<float>> f32s = f.get_f32_array("t.arr_f32");
    REQUIRE(f32s.is_ok());
    CHECK(*f32s == v.arr_f32);
    CHECK(*f.get_i32_array("t.arr_i32") == v.arr_i32);
    CHECK(*f.get_i32_array("t.arr_i16") == std::vector<int32_t>(v.arr_i16.begin(), v.arr_i16.end()));
    CHECK(*f.get_i32_array("t.arr_u8") == std::vector<int32_t>(v.arr_u8.begin(), v.arr_u8.end()));
    CHECK(f.get_i32_array("t.arr_empty")->empty());
    // Arrays without a typed getter still report their element type and length.
    CHECK(f.find("t.arr_f64")->elem_type == GgufType::kF64);
    CHECK(f.find("t.arr_bool")->count == 3);

    // Fallbacks apply only to missing keys.
    CHECK(*f.get_int("t.missing", -7) == -7);
    CHECK(*f.get_u32("t.missing", 9u) == 9u);
    CHECK(*f.get_float("t.missing", 0.5) == 0.5);
    CHECK(*f.get_string("t.missing", "x") == "x");
    CHECK(*f.get_int("t.i32", -7) == v.i32);
    require_refused(f.get_int("t.missing"), {"t.missing", "missing"});
    require_refused(f.get_string("t.missing"), {"t.missing", "missing"});

    check_tensors(f, w, img);
  }
}

TEST_CASE("gguf: getters refuse a value of the wrong type, naming the key", "[gguf]") {
  std::mt19937_64 g = test::rng(kStream + 10);
  const EveryType v(g);
  const GgufWriter w = every_type_model(g, v);
  const Parsed r = parse(w);
  REQUIRE(r.is_ok());
  const GgufFile& f = **r;
  const std::string str_at = at(f.find("t.str")->offset);
  require_refused(f.get_int("t.str"), {"'t.str'", "string", str_at});
  require_refused(f.get_int("t.str", 1), {"'t.str'", "string", str_at});
  require_refused(f.get_u32("t.f32"), {"'t.f32'", "f32"});
  require_refused(f.get_float("t.str"), {"'t.str'", "string", str_at});
  require_refused(f.get_bool("t.u8", false), {"'t.u8'", "u8", at(f.find("t.u8")->offset)});
  require_refused(f.get_string("t.u32"), {"'t.u32'", "u32", at(f.find("t.u32")->offset)});
  require_refused(f.get_string("t.arr_str"), {"'t.arr_str'", "array"});
  require_refused(f.get_string_array("t.arr_i32"), {"'t.arr_i32'", "array of i32"});
  require_refused(f.get_f32_array("t.arr_f64"), {"'t.arr_f64'", "f64"});
  require_refused(f.get_i32_array("t.arr_f32"), {"'t.arr_f32'", "f32"});
  require_refused(f.get_i32_array("t.str"), {"'t.str'", "string"});
  // Integers out of the requested range.
  require_refused(f.get_i32_array("t.arr_u64"), {"'t.arr_u64'", "32 bits"});
  require_refused(f.get_i32_array("t.arr_i64"), {"'t.arr_i64'", "32 bits"});
  GgufWriter w2 = GgufWriter::tiny_model(g);
  w2.add_i32("neg", -1);
  w2.add_u64("big", uint64_t(1) << 32);
  const Parsed r2 = parse(w2);
  REQUIRE(r2.is_ok());
  require_refused((*r2)->get_u32("neg"), {"'neg'"});
  require_refused((*r2)->get_u32("big"), {"'big'"});
}

TEST_CASE("gguf: general.alignment places the data section and tensors", "[gguf]") {
  struct Case {
    uint32_t type;
    uint64_t alignment;  // 0: no general.alignment key, the default of 32
  };
  const Case cases[] = {{gt::kU32, 0}, {gt::kU32, 1}, {gt::kU32, 64}, {gt::kU8, 16}, {gt::kU16, 256}, {gt::kU64, 128},
                        {gt::kU32, 1u << 16}};
  std::mt19937_64 g = test::rng(kStream + 20);
  for (const Case& c : cases) {
    INFO("alignment " << c.alignment << " as type " << c.type);
    GgufWriter w = GgufWriter::tiny_model(g);
    if (c.alignment) {
      GgufValue v;
      v.type = c.type;
      const std::vector<uint8_t> le = test::le_bytes(c.alignment);
      const size_t width = c.type == gt::kU8 ? 1 : c.type == gt::kU16 ? 2 : c.type == gt::kU32 ? 4 : 8;
      v.bytes.assign(le.begin(), le.begin() + width);
      w.add_value("general.alignment", v);
    }
    // An odd-sized tensor first, so the next one needs padding at any alignment above 1.
    test::GgufWriterTensor odd = w.tensors[1];
    odd.name = "odd";
    odd.dims = {3};
    odd.data.resize(12);
    w.tensors.insert(w.tensors.begin(), odd);
    const GgufImage img = w.build();
    const uint64_t want = c.alignment ? c.alignment : 32;
    REQUIRE(img.data_offset % want == 0);
    const Parsed r = parse(img.bytes);
    REQUIRE(r.is_ok());
    CHECK((*r)->alignment() == want);
    check_tensors(**r, w, img);
    if (want == 1) CHECK(img.tensor_data[1] == img.tensor_data[0] + 12);  // packed, no padding
  }
}

TEST_CASE("gguf: a file with no tensors and no metadata is valid", "[gguf]") {
  GgufWriter w;
  const Parsed r = parse(w);
  REQUIRE(r.is_ok());
  CHECK((*r)->kvs().empty());
  CHECK((*r)->tensors().empty());
  CHECK((*r)->tensor_bytes() == 0);
}

// --- truncation and header ------------------------------------------------------

TEST_CASE("gguf: every truncation of a valid image is refused, never read past", "[gguf]") {
  std::mt19937_64 g = test::rng(kStream + 30);
  for (uint32_t version : {2u, 3u}) {
    const EveryType v(g);
    GgufWriter w = every_type_model(g, v);
    w.version = version;
    const GgufImage img = w.build();
    REQUIRE(parse(img.bytes).is_ok());
    size_t refused = 0;
    for (size_t n = 0; n < img.bytes.size(); ++n) {
      // Parse a copy of exactly n bytes, so no byte past it is addressable in the input.
      const std::vector<uint8_t> prefix(img.bytes.begin(), img.bytes.begin() + ptrdiff_t(n));
      const Parsed r = GgufFile::parse(prefix.data(), n);
      if (n < img.data_end) {
        INFO("version " << version << ", prefix of " << n << " of " << img.bytes.size() << " bytes");
        REQUIRE_FALSE(r.is_ok());
        CHECK(r.status().code() == StatusCode::kInvalidModel);
        // The named offset lies inside the prefix: nothing past it was looked at.
        const int64_t named = named_offset(r.status().message());
        CHECK(named >= 0);
        CHECK(named <= int64_t(n));
        ++refused;
      } else {
        // Only the tail padding after the last tensor is optional.
        CHECK(r.is_ok());
      }
    }
    CHECK(refused == img.data_end);
  }
}

TEST_CASE("gguf: the truncation message names what was cut", "[gguf]") {
  std::mt19937_64 g = test::rng(kStream + 31);
  const GgufImage img = GgufWriter::tiny_model(g).build();
  auto prefix = [&](uint64_t n) { return std::vector<uint8_t>(img.bytes.begin(), img.bytes.begin() + ptrdiff_t(n)); };
  require_refused(parse(prefix(2)), StatusCode::kInvalidModel, {"too small", at(0)});
  require_refused(parse(prefix(6)), StatusCode::kInvalidModel, {"version", "truncated", at(4)});
  require_refused(parse(prefix(img.n_kv_offset + 3)), StatusCode::kInvalidModel, {"metadata count", "truncated"});
  require_refused(parse(prefix(img.kv_value_offsets[1] + 2)), StatusCode::kInvalidModel,
                  {"'general.name'", "truncated"});
  require_refused(parse(prefix(img.tensor_dtype_offsets[2] + 1)), StatusCode::kInvalidModel,
                  {"'blk.0.ffn_down.weight'", "type", "truncated", at(img.tensor_dtype_offsets[2])});
  require_refused(parse(prefix(img.data_end - 1)), StatusCode::kInvalidModel,
                  {"'blk.0.ffn_down.weight'", "past the end", at(img.tensor_info_offsets[2])});
}

TEST_CASE("gguf: a wrong magic is refused; legacy magics name their format", "[gguf]") {
  std::mt19937_64 g = test::rng(kStream + 40);
  GgufWriter w = GgufWriter::tiny_model(g);
  w.magic = 0x45554747;  // "GGUE"
  require_refused(parse(w), StatusCode::kInvalidModel, {"magic", at(0)});
  w.magic = 0;
  require_refused(parse(w), StatusCode::kInvalidModel, {"magic", at(0)});
  w.magic = test::kGgjtMagic;
  require_refused(parse(w), StatusCode::kUnsupported, {"GGJT", "legacy"});
  w.magic = test::kGgmfMagic;
  require_refused(parse(w), StatusCode::kUnsupported, {"GGMF", "legacy"});
  w.magic = test::kGgmlMagic;
  require_refused(parse(w), StatusCode::kUnsupported, {"GGML", "legacy"});
}

TEST_CASE("gguf: versions other than 2 and 3 are refused by name", "[gguf]") {
  std::mt19937_64 g = test::rng(kStream + 50);
  GgufWriter v1 = GgufWriter::tiny_model(g);
  v1.make_v1();
  const GgufImage img = v1.build();
  REQUIRE(img.n_kv_offset == 12);  // 32-bit counts
  require_refused(parse(img.bytes), StatusCode::kUnsupported, {"version 1", "v1"});

  for (uint32_t version : {0u, 4u, 99u, 0xffffffffu}) {
    GgufWriter w = GgufWriter::tiny_model(g);
    w.version = version;
    require_refused(parse(w), StatusCode::kInvalidModel, {"version " + std::to_string(version), at(4)});
  }
  // A big-endian writer's version 3 reads as 0x03000000.
  for (uint32_t version : {2u, 3u}) {
    GgufWriter w = GgufWriter::tiny_model(g);
    w.version = version << 24;
    require_refused(parse(w), StatusCode::kUnsupported, {"big-endian", "version " + std::to_string(version)});
  }
}

TEST_CASE("gguf: absurd tensor and metadata counts are refused at the header", "[gguf]") {
  std::mt19937_64 g = test::rng(kStream + 60);
  const GgufImage base = GgufWriter::tiny_model(g).build();
  for (uint64_t n : {k2to63, ~uint64_t(0), GgufLimits::kMaxTensors + 1}) {
    GgufWriter w = GgufWriter::tiny_model(g);
    w.n_tensors = n;
    require_refused(parse(w), StatusCode::kInvalidModel,
                    {"tensor count", std::to_string(n), "limit", at(base.n_tensors_offset)});
  }
  for (uint64_t n : {k2to63, ~uint64_t(0), GgufLimits::kMaxKvs + 1}) {
    GgufWriter w = GgufWriter::tiny_model(g);
    w.n_kv = n;
    require_refused(parse(w), StatusCode::kInvalidModel,
                    {"metadata count", std::to_string(n), "limit", at(base.n_kv_offset)});
  }
  // At the limit the count itself is fine; the file is then too short for it.
  GgufWriter w = GgufWriter::tiny_model(g);
  w.n_tensors = GgufLimits::kMaxTensors;
  const Parsed r = parse(w);
  REQUIRE_FALSE(r.is_ok());
  CHECK_THAT(r.status().message(), !Catch::Contains("tensor count"));
  w = GgufWriter::tiny_model(g);
  w.n_kv = GgufLimits::kMaxKvs;
  const Parsed r2 = parse(w);
  REQUIRE_FALSE(r2.is_ok());
  CHECK_THAT(r2.status().message(), !Catch::Contains("metadata count"));
  // One tensor more than written: its info would be read out of the data section.
  w = GgufWriter::tiny_model(g);
  w.n_tensors = w.tensors.size() + 1;
  CHECK_FALSE(parse(w).is_ok());
}

// --- metadata -----------------------------------------------------------------

TEST_CASE("gguf: absurd string lengths are refused, naming the key", "[gguf]") {
  std::mt19937_64 g = test::rng(kStream + 70);
  const GgufWriter base = GgufWriter::tiny_model(g);
  const GgufImage img = base.build();
  const size_t name = 1;  // general.name
  REQUIRE(base.kvs[name].key == "general.name");
  const uint64_t value_at = img.kv_value_offsets[name];
  for (uint64_t len : {k2to63, ~uint64_t(0), GgufLimits::kMaxStringLength + 1}) {
    GgufWriter w = base;
    w.kvs[name].value.length = len;
    require_refused(parse(w), StatusCode::kInvalidModel,
                    {"'general.name'", "length " + std::to_string(len), "limit", at(value_at)});
  }
  // Within the limit, but one byte past the end of the file.
  GgufWriter w = base;
  w.kvs[name].value.length = img.bytes.size() - (value_at + 8) + 1;
  require_refused(parse(w), StatusCode::kInvalidModel, {"'general.name'", "truncated", "offset"});

  // Keys and tensor names have their own length fields.
  w = base;
  w.kvs[2].key_length = k2to63;
  require_refused(parse(w), StatusCode::kInvalidModel, {"key of metadata pair 2", "limit", at(img.kv_offsets[2])});
  w = base;
  w.kvs[2].key_length = img.bytes.size();
  require_refused(parse(w), StatusCode::kInvalidModel, {"key of metadata pair 2", "truncated"});
  w = base;
  w.tensors[1].name_length = k2to63;
  require_refused(parse(w), StatusCode::kInvalidModel, {"name of tensor 1", "limit", at(img.tensor_info_offsets[1])});
  w = base;
  w.tensors[1].name_length = GgufLimits::kMaxTensorNameLength + 1;
  require_refused(parse(w), StatusCode::kInvalidModel, {"name of tensor 1", "limit"});

  // One string inside a string array.
  w = base;
  GgufValue v;
  v.type = gt::kArray;
  std::vector<uint8_t> raw = cat(cat(cat({}, gt::kString), uint64_t(2)), uint64_t(1));
  raw.push_back('a');
  v.raw = cat(raw, k2to63);
  w.add_value("t.strs", v);
  require_refused(parse(w), StatusCode::kInvalidModel, {"'t.strs'", "string 1", "limit"});
}

TEST_CASE("gguf: empty keys and tensor names are refused", "[gguf]") {
  std::mt19937_64 g = test::rng(kStream + 75);
  GgufWriter w = GgufWriter::tiny_model(g);
  w.kvs[1].key.clear();
  require_refused(parse(w), StatusCode::kInvalidModel, {"metadata pair 1", "empty key"});
  w = GgufWriter::tiny_model(g);
  w.tensors[1].name.clear();
  require_refused(parse(w), StatusCode::kInvalidModel, {"tensor 1", "empty name"});
}

TEST_CASE("gguf: absurd array lengths, arrays of arrays and unknown types are refused", "[gguf]") {
  std::mt19937_64 g = test::rng(kStream + 80);
  GgufWriter base = GgufWriter::tiny_model(g);
  base.add_array("t.ints", gt::kU32, std::vector<uint32_t>{1, 2, 3});
  const GgufImage img = base.build();
  const size_t ints = base.kvs.size() - 1, tokens = 4;
  REQUIRE(base.kvs[tokens].key == "tokenizer.ggml.tokens");
  for (size_t k : {ints, tokens}) {
    const std::string key = "'" + base.kvs[k].key + "'";
    for (uint64_t len : {k2to63, ~uint64_t(0), GgufLimits::kMaxArrayLength + 1}) {
      GgufWriter w = base;
      w.kvs[k].value.length = len;
      require_refused(parse(w), StatusCode::kInvalidModel,
                      {key, "array length " + std::to_string(len), "limit", at(img.kv_value_offsets[k] + 4)});
    }
  }
  // Within the limit, but more u32s than the file holds.
  GgufWriter w = base;
  w.kvs[ints].value.length = (img.bytes.size() - img.kv_value_offsets[ints]) / 4 + 1;
  require_refused(parse(w), StatusCode::kInvalidModel, {"'t.ints'", "array", "truncated", "offset"});
  // Strings run out before the count does.
  w = base;
  w.kvs[tokens].value.length = 1000;
  CHECK_FALSE(parse(w).is_ok());

  w = base;
  w.kvs[ints].value.elem_type = gt::kArray;
  require_refused(parse(w), StatusCode::kInvalidModel, {"'t.ints'", "arrays of arrays", at(img.kv_value_offsets[ints])});
  for (uint32_t id : {13u, 0xffffffffu}) {
    w = base;
    w.kvs[ints].value.elem_type = id;
    require_refused(parse(w), StatusCode::kInvalidModel,
                    {"'t.ints'", "element type id " + std::to_string(id), at(img.kv_value_offsets[ints])});
    w = base;
    w.kvs[2].value.type = id;
    require_refused(parse(w), StatusCode::kInvalidModel,
                    {"'" + base.kvs[2].key + "'", "type id " + std::to_string(id), at(img.kv_value_offsets[2] - 4)});
  }
}

TEST_CASE("gguf: duplicate keys and duplicate tensor names are refused", "[gguf]") {
  std::mt19937_64 g = test::rng(kStream + 90);
  GgufWriter w = GgufWriter::tiny_model(g);
  w.add_u32("llama.context_length", 128);
  GgufImage img = w.build();
  require_refused(parse(img.bytes), StatusCode::kInvalidModel,
                  {"'llama.context_length'", "twice", at(img.kv_offsets.back())});

  w = GgufWriter::tiny_model(g);
  w.tensors[2].name = w.tensors[0].name;
  img = w.build();
  require_refused(parse(img.bytes), StatusCode::kInvalidModel,
                  {"'token_embd.weight'", "twice", at(img.tensor_info_offsets[2])});
}

TEST_CASE("gguf: general.alignment must be an unsigned power of two", "[gguf]") {
  std::mt19937_64 g = test::rng(kStream + 100);
  for (uint64_t a : {uint64_t(0), uint64_t(3), uint64_t(48), uint64_t(1) << 17, k2to63}) {
    GgufWriter w = GgufWriter::tiny_model(g);
    w.add_u64("general.alignment", a);
    const GgufImage img = w.build();
    require_refused(parse(img.bytes), StatusCode::kInvalidModel,
                    {"general.alignment", std::to_string(a), "power of two", at(img.kv_value_offsets.back())});
  }
  GgufWriter w = GgufWriter::tiny_model(g);
  w.add_i32("general.alignment", 32);
  GgufImage img = w.build();
  require_refused(parse(img.bytes), StatusCode::kInvalidModel,
                  {"general.alignment", "i32", at(img.kv_value_offsets.back())});
  for (auto add : {+[](GgufWriter& x) { x.add_string("general.alignment", "32"); },
                   +[](GgufWriter& x) { x.add_f32("general.alignment", 32.0f); },
                   +[](GgufWriter& x) { x.add_array("general.alignment", gt::kU32, std::vector<uint32_t>{32}); }}) {
    w = GgufWriter::tiny_model(g);
    add(w);
    require_refused(parse(w), StatusCode::kInvalidModel, {"general.alignment", "type"});
  }
}

// --- tensor infos -----------------------------------------------------------------

TEST_CASE("gguf: n_dims outside 1..4 is refused, naming the tensor", "[gguf]") {
  std::mt19937_64 g = test::rng(kStream + 110);
  const GgufImage base = GgufWriter::tiny_model(g).build();
  const std::string name = "blk.0.ffn_down.weight";
  const uint64_t ndims_at = base.tensor_info_offsets[2] + 8 + name.size();
  for (std::vector<uint64_t> dims : {std::vector<uint64_t>{}, std::vector<uint64_t>{64, 3, 1, 1, 1}}) {
    GgufWriter w = GgufWriter::tiny_model(g);
    w.tensors[2].dims = dims;
    require_refused(parse(w), StatusCode::kInvalidModel,
                    {"'" + name + "'", "n_dims " + std::to_string(dims.size()), at(ndims_at)});
  }
  GgufWriter w = GgufWriter::tiny_model(g);
  w.tensors[2].n_dims = 0xffffffffu;
  require_refused(parse(w), StatusCode::kInvalidModel, {"'" + name + "'", "n_dims 4294967295", at(ndims_at)});
}

TEST_CASE("gguf: zero, negative and overflowing dims are refused", "[gguf]") {
  std::mt19937_64 g = test::rng(kStream + 120);
  const GgufWriter base = GgufWriter::tiny_model(g);
  const GgufImage img = base.build();
  const std::string name = "'blk.0.ffn_down.weight'";
  const uint64_t dim1_at = dim_offset(img.tensor_info_offsets[2], "blk.0.ffn_down.weight", 1);

  GgufWriter w = base;
  w.tensors[2].dims[1] = 0;
  require_refused(parse(w), StatusCode::kInvalidModel, {name, "dimension 1", "is 0", at(dim1_at)});
  w = base;
  w.tensors[2].dims[0] = 0;
  require_refused(parse(w), StatusCode::kInvalidModel, {name, "dimension 0", "is 0"});
  // Negative when read as int64.
  for (uint64_t d : {k2to63, ~uint64_t(0), uint64_t(-64)}) {
    w = base;
    w.tensors[2].dims[1] = d;
    require_refused(parse(w), StatusCode::kInvalidModel, {name, "dimension 1", "too large", at(dim1_at)});
  }
  // The element count overflows int64: 64 * 2^62, and 2^32 * 2^32.
  w = base;
  w.tensors[2].dims[1] = uint64_t(1) << 62;
  require_refused(parse(w), StatusCode::kInvalidModel, {name, "overflows", at(dim1_at)});
  w = base;
  w.tensors[0].dims = {uint64_t(1) << 32, uint64_t(1) << 32};
  require_refused(parse(w), StatusCode::kInvalidModel, {"'token_embd.weight'", "overflows"});
  w = base;
  w.tensors[0].dims = {2, uint64_t(1) << 31, uint64_t(1) << 31, 2};
  require_refused(parse(w), StatusCode::kInvalidModel, {"'token_embd.weight'", "overflows"});
  // The element count fits but the byte size overflows uint64 (2^62 f32 = 2^64 bytes).
  w = base;
  w.tensors[0].dims = {uint64_t(1) << 31, uint64_t(1) << 31};
  require_refused(parse(w), StatusCode::kInvalidModel,
                  {"'token_embd.weight'", "larger than the file", at(img.tensor_info_offsets[0])});
  // Everything fits in 64 bits, but not in the file.
  w = base;
  w.tensors[2].dims[1] = uint64_t(1) << 40;
  require_refused(parse(w), StatusCode::kInvalidModel, {name, "larger than the file", at(img.tensor_info_offsets[2])});
}

TEST_CASE("gguf: unknown tensor types and rows that are not whole blocks are refused", "[gguf]") {
  std::mt19937_64 g = test::rng(kStream + 130);
  const GgufWriter base = GgufWriter::tiny_model(g);
  const GgufImage img = base.build();
  for (uint32_t id : {4u, 5u, 16u, 1000u, 0xffffffffu}) {  // retired, unsupported and made-up ids
    GgufWriter w = base;
    w.tensors[1].dtype = id;
    require_refused(parse(w), StatusCode::kInvalidModel,
                    {"'output_norm.weight'", "type id " + std::to_string(id), at(img.tensor_dtype_offsets[1])});
  }
  GgufWriter w = base;
  w.tensors[2].dims[0] = 48;  // q8_0 blocks hold 32
  require_refused(parse(w), StatusCode::kInvalidModel,
                  {"'blk.0.ffn_down.weight'", "row length 48", "block", "q8_0", at(img.tensor_info_offsets[2])});
  w = base;
  w.tensors[2].dtype = uint32_t(DType::Q4_K);  // 256 per block
  require_refused(parse(w), StatusCode::kInvalidModel, {"'blk.0.ffn_down.weight'", "row length 64", "block"});
}

TEST_CASE("gguf: misaligned, out-of-file and overlapping tensor data is refused", "[gguf]") {
  std::mt19937_64 g = test::rng(kStream + 140);
  const GgufWriter base = GgufWriter::tiny_model(g);
  const GgufImage img = base.build();
  const uint64_t rel1 = img.tensor_data[1] - img.data_offset, rel2 = img.tensor_data[2] - img.data_offset;

  for (uint64_t delta : {1u, 4u, 16u}) {
    GgufWriter w = base;
    w.tensors[1].offset = rel1 + delta;
    require_refused(parse(w), StatusCode::kInvalidModel,
                    {"'output_norm.weight'", "data offset", "alignment", at(img.tensor_offset_offsets[1])});
  }
  const uint64_t section = img.bytes.size() - img.data_offset;
  for (uint64_t off : {section + 32, (section - 32) / 32 * 32, uint64_t(1) << 40, ~uint64_t(31)}) {
    GgufWriter w = base;
    w.tensors[2].offset = off;
    INFO("offset " << off);
    require_refused(parse(w), StatusCode::kInvalidModel,
                    {"'blk.0.ffn_down.weight'", "past the end", at(img.tensor_info_offsets[2])});
  }
  // The same data for two tensors, and one tensor starting inside another.
  GgufWriter w = base;
  w.tensors[1].offset = 0;
  require_refused(parse(w), StatusCode::kInvalidModel, {"'token_embd.weight'", "'output_norm.weight'", "overlap"});
  w = base;
  w.tensors[2].offset = 32;
  require_refused(parse(w), StatusCode::kInvalidModel, {"'token_embd.weight'", "'blk.0.ffn_down.weight'", "overlap"});
  // Adjacent is fine: tensor 1 ends exactly where tensor 2 starts.
  REQUIRE(rel1 + base.tensors[1].data.size() == rel2);
  CHECK(parse(base).is_ok());
}

// --- robustness -------------------------------------------------------------------

TEST_CASE("gguf: random corruptions never crash; each parses or is refused", "[gguf]") {
  std::mt19937_64 g = test::rng(kStream + 200);
  const EveryType v(g);
  const GgufImage img = every_type_model(g, v).build();
  const uint64_t size = img.bytes.size();
  const uint64_t interesting[] = {0, 1, 2, 31, 32, 33, k2to63, ~uint64_t(0), uint64_t(1) << 32, size, size - 1,
                                  GgufLimits::kMaxStringLength, GgufLimits::kMaxArrayLength + 1};
  int accepted = 0, refused = 0;
  for (int trial = 0; trial < 2000; ++trial) {
    std::vector<uint8_t> bytes = img.bytes;
    const uint64_t pos = g() % size;
    if (g() % 2) {
      bytes[size_t(pos)] = uint8_t(g());
    } else {
      const uint64_t value = g() % 3 ? interesting[g() % std::size(interesting)] : g();
      test::patch(bytes, std::min(pos, size - 8), value);
    }
    const Parsed r = parse(bytes);
    INFO("trial " << trial << ", position " << pos);
    if (!r.is_ok()) {
      const StatusCode c = r.status().code();
      CHECK((c == StatusCode::kInvalidModel || c == StatusCode::kUnsupported));
      CHECK_FALSE(r.status().message().empty());
      CHECK(named_offset(r.status().message()) <= int64_t(size));
      ++refused;
      continue;
    }
    ++accepted;
    // Whatever was accepted must be inside the image and readable.
    const GgufFile& f = **r;
    for (const GgufTensor& t : f.tensors()) {
      CHECK(t.data_offset >= f.data_offset());
      CHECK(t.data_offset <= size);
      CHECK(t.bytes <= size - t.data_offset);
    }
    for (const GgufKv& kv : f.kvs()) {
      CHECK(kv.offset <= size);
      if (kv.type == GgufType::kArray && kv.elem_type == GgufType::kString) {
        const auto s = f.get_string_array(kv.key);
        CHECK((s.is_ok() && s->size() == kv.count));
      } else if (kv.type == GgufType::kArray && kv.elem_type == GgufType::kF32) {
        CHECK(f.get_f32_array(kv.key).is_ok());
      } else if (kv.type == GgufType::kArray) {
        (void)f.get_i32_array(kv.key);  // may be out of range
      } else if (kv.type == GgufType::kString) {
        CHECK(f.get_string(kv.key).is_ok());
      }
    }
  }
  CHECK(accepted + refused == 2000);
  CHECK(accepted > 0);  // corruptions of tensor data bytes are still valid files
  CHECK(refused > 0);
}

TEST_CASE("gguf: parse refuses an empty or null image", "[gguf]") {
  const Parsed empty = GgufFile::parse(nullptr, 0);
  require_refused(empty, StatusCode::kInvalidModel, {"too small"});
  const Parsed null_data = GgufFile::parse(nullptr, 16);
  REQUIRE_FALSE(null_data.is_ok());
  CHECK(null_data.status().code() == StatusCode::kInvalidArgument);
}
