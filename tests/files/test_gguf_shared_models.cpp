// Every shared GGUF file opens with the hardened reader, and its view (keys,
// value types and values, tensor names, dims, dtypes, data offsets and bytes)
// agrees with the independent test-only reader in tests/support.
#include <catch2/catch.hpp>

#include <algorithm>
#include <cstring>
#include <filesystem>
#include <string>
#include <vector>

#include "loci/gguf.h"
#include "support/gguf_reader.h"
#include "support/test_support.h"

using namespace loci;

namespace {

// The *.gguf files directly in shared_dir()/sub, sorted.
std::vector<std::string> gguf_files(const std::string& sub) {
  std::vector<std::string> out;
  std::error_code ec;
  for (const auto& e : std::filesystem::directory_iterator(test::shared_dir() + "/" + sub, ec))
    if (e.is_regular_file() && e.path().extension() == ".gguf") out.push_back(e.path().string());
  std::sort(out.begin(), out.end());
  return out;
}

// Reads little-endian fields from the test reader's image; a read past its
// end yields zeros and clears ok().
class Cursor {
 public:
  Cursor(const uint8_t* p, size_t n, size_t pos) : p_(p), n_(n), pos_(pos) {}
  bool ok() const { return ok_; }
  template <typename T>
  T get() {
    T v{};
    if (pos_ > n_ || sizeof(T) > n_ - pos_) {
      ok_ = false;
      return v;
    }
    std::memcpy(&v, p_ + pos_, sizeof(T));
    pos_ += sizeof(T);
    return v;
  }
  std::string_view str() {
    const uint64_t len = get<uint64_t>();
    if (!ok_ || len > n_ - pos_) {
      ok_ = false;
      return {};
    }
    std::string_view s(reinterpret_cast<const char*>(p_ + pos_), size_t(len));
    pos_ += size_t(len);
    return s;
  }

 private:
  const uint8_t* p_;
  size_t n_, pos_;
  bool ok_ = true;
};

bool is_int(test::GgufType t) {
  using T = test::GgufType;
  return t == T::U8 || t == T::I8 || t == T::U16 || t == T::I16 || t == T::U32 || t == T::I32 || t == T::U64 ||
         t == T::I64;
}

// The next element of an integer array, widened.
int64_t int_at(Cursor& c, test::GgufType t) {
  using T = test::GgufType;
  switch (t) {
    case T::U8: return c.get<uint8_t>();
    case T::I8: return c.get<int8_t>();
    case T::U16: return c.get<uint16_t>();
    case T::I16: return c.get<int16_t>();
    case T::U32: return c.get<uint32_t>();
    case T::I32: return c.get<int32_t>();
    case T::U64: return int64_t(c.get<uint64_t>());
    default: return c.get<int64_t>();
  }
}

void compare_kv(const GgufFile& f, const test::GgufFile& ref, const test::GgufKv& want, const GgufKv& kv) {
  INFO("key " << want.key);
  CHECK(kv.key == want.key);
  CHECK(f.find(want.key) == &kv);
  REQUIRE(uint32_t(kv.type) == uint32_t(want.type));
  CHECK(kv.offset == want.value_offset);
  using T = test::GgufType;
  switch (want.type) {
    case T::STRING:
      CHECK(*f.get_string(want.key) == *ref.get_string(want.key));
      break;
    case T::F32: case T::F64:
      CHECK(*f.get_float(want.key) == *ref.get_float(want.key));
      break;
    case T::BOOL:
      CHECK(*f.get_bool(want.key, false) == (*ref.get_int(want.key) != 0));
      break;
    case T::U64:
      CHECK(kv.u == *ref.get_uint(want.key));
      break;
    case T::ARRAY: {
      T elem{};
      const std::optional<uint64_t> n = ref.array_length(want.key, &elem);
      REQUIRE(n.has_value());
      CHECK(uint32_t(kv.elem_type) == uint32_t(elem));
      REQUIRE(kv.count == *n);
      Cursor c(ref.image(), ref.image_size(), want.value_offset + 12);  // past the element type and length
      if (elem == T::STRING) {
        const auto got = f.get_string_array(want.key);
        REQUIRE(got.is_ok());
        REQUIRE(got->size() == *n);
        size_t mismatches = 0;
        for (uint64_t i = 0; i < *n; ++i) mismatches += (*got)[size_t(i)] != c.str();
        CHECK(c.ok());
        CHECK(mismatches == 0);
      } else if (elem == T::F32) {
        const auto got = f.get_f32_array(want.key);
        REQUIRE(got.is_ok());
        REQUIRE(got->size() == *n);
        size_t mismatches = 0;
        for (uint64_t i = 0; i < *n; ++i) {
          const float x = c.get<float>();
          mismatches += std::memcmp(&x, &(*got)[size_t(i)], 4) != 0;
        }
        CHECK(c.ok());
        CHECK(mismatches == 0);
      } else if (is_int(elem)) {
        const auto got = f.get_i32_array(want.key);
        // The hardened reader refuses values beyond 32 bits; the real files have none.
        REQUIRE(got.is_ok());
        REQUIRE(got->size() == *n);
        size_t mismatches = 0;
        for (uint64_t i = 0; i < *n; ++i) mismatches += (*got)[size_t(i)] != int_at(c, elem);
        CHECK(c.ok());
        CHECK(mismatches == 0);
      }
      break;
    }
    default:  // the other integers
      REQUIRE(is_int(want.type));
      CHECK(*f.get_int(want.key) == *ref.get_int(want.key));
  }
}

void compare_tensor(const GgufFile& f, const test::GgufFile& ref, const test::GgufTensor& want, const GgufTensor& t) {
  INFO("tensor " << want.name);
  CHECK(t.name == want.name);
  CHECK(f.find_tensor(want.name) == &t);
  CHECK(t.dtype == want.dtype);
  REQUIRE(size_t(t.ndim) == want.dims.size());
  for (int d = 0; d < kMaxDims; ++d) CHECK(uint64_t(t.ne[d]) == (d < t.ndim ? want.dims[size_t(d)] : 1));
  CHECK(t.data_offset == ref.data_offset() + want.offset);
  // The view points at data_offset in the mapping (measured from the first tensor's view).
  const GgufTensor& first = f.tensors()[0];
  CHECK(static_cast<const uint8_t*>(t.view.data) - static_cast<const uint8_t*>(first.view.data) ==
        int64_t(t.data_offset) - int64_t(first.data_offset));
  REQUIRE(t.bytes == want.bytes);
  CHECK(t.view.bytes() == want.bytes);
  CHECK(std::memcmp(t.view.data, want.data, want.bytes) == 0);
}

void compare_file(const std::string& path) {
  INFO(path);
  const auto opened = GgufFile::open(path);
  INFO(opened.status().to_string());
  REQUIRE(opened.is_ok());
  const GgufFile& f = **opened;
  Result<test::GgufFile> loaded = test::GgufFile::load(path);
  INFO(loaded.status().to_string());
  REQUIRE(loaded.is_ok());
  const test::GgufFile& ref = *loaded;

  CHECK(f.version() == ref.version());
  CHECK(f.file_size() == ref.image_size());
  CHECK(f.alignment() == ref.alignment());
  CHECK(f.data_offset() == ref.data_offset());
  REQUIRE(f.kvs().size() == ref.kvs().size());
  for (size_t i = 0; i < ref.kvs().size(); ++i) compare_kv(f, ref, ref.kvs()[i], f.kvs()[i]);
  REQUIRE(f.tensors().size() == ref.tensors().size());
  uint64_t total = 0;
  for (size_t i = 0; i < ref.tensors().size(); ++i) {
    compare_tensor(f, ref, ref.tensors()[i], f.tensors()[i]);
    total += ref.tensors()[i].bytes;
  }
  CHECK(f.tensor_bytes() == total);
}

}  // namespace

TEST_CASE("gguf files: every shared model agrees with the test-only reader", "[files][gguf]") {
  const std::vector<std::string> files = gguf_files("models");
  if (files.empty()) FAIL("no models in " << test::shared_dir() << "/models (set LOCI_SHARED_DIR)");
  CHECK(files.size() >= 17);
  for (const std::string& path : files) compare_file(path);
}

TEST_CASE("gguf files: every shared tokenizer file agrees with the test-only reader", "[files][gguf]") {
  const std::vector<std::string> files = gguf_files("tokenizer");
  if (files.empty()) FAIL("no vocab files in " << test::shared_dir() << "/tokenizer (set LOCI_SHARED_DIR)");
  CHECK(files.size() >= 6);
  for (const std::string& path : files) compare_file(path);
}
