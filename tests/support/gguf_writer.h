// A test-only GGUF writer: builds a GGUF image in memory from plain structs
// that tests may edit freely before building, so a broken file reads as "a
// valid tiny model, but with ...":
//
//   GgufWriter w = GgufWriter::tiny_model(g);
//   w.tensors[2].dims[1] = uint64_t(1) << 62;
//   GgufImage img = w.build();
//
// Every field is written exactly as set, with no validation: counts, lengths,
// offsets, dims and type ids can each be overridden, and build() records where
// each field landed so a test can check the offset a reader's error names.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <optional>
#include <random>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

#include "loci/dtype.h"

namespace loci::test {

// Magic numbers as the files store them (a little-endian uint32).
inline constexpr uint32_t kGgufMagic = 0x46554747;  // "GGUF"
inline constexpr uint32_t kGgmlMagic = 0x67676d6c;  // legacy unversioned GGML
inline constexpr uint32_t kGgmfMagic = 0x67676d66;  // legacy GGMF
inline constexpr uint32_t kGgjtMagic = 0x67676a74;  // legacy GGJT

// GGUF metadata value type ids.
namespace gguf_type {
inline constexpr uint32_t kU8 = 0, kI8 = 1, kU16 = 2, kI16 = 3, kU32 = 4, kI32 = 5, kF32 = 6, kBool = 7,
                          kString = 8, kArray = 9, kU64 = 10, kI64 = 11, kF64 = 12;
}

// Width of counts and lengths: GGUF v1 stored them as uint32, v2 and v3 as uint64.
enum class GgufLayout { kV2, kV1 };

// A metadata value. Scalars and string characters live in `bytes`; arrays keep
// one entry per element in `items` (a scalar's little-endian bytes, or a
// string's characters).
struct GgufValue {
  uint32_t type = gguf_type::kU8;   // type id as written
  std::vector<uint8_t> bytes;       // scalar bytes, or the string's characters
  uint32_t elem_type = 0;           // arrays: element type id as written
  std::vector<std::vector<uint8_t>> items;
  std::optional<uint64_t> length;   // written instead of the true string/array length
  std::optional<std::vector<uint8_t>> raw;  // if set, written verbatim after the type id
};

struct GgufWriterKv {
  std::string key;
  GgufValue value;
  std::optional<uint64_t> key_length;  // written instead of key.size()
};

struct GgufWriterTensor {
  std::string name;
  std::vector<uint64_t> dims;    // dims.size() is written as n_dims
  uint32_t dtype = 0;            // GGUF type id as written
  std::vector<uint8_t> data;     // placed in the data section at the next aligned spot
  std::optional<uint64_t> offset;       // written instead of the offset where `data` was placed
  std::optional<uint32_t> n_dims;       // written instead of dims.size()
  std::optional<uint64_t> name_length;  // written instead of name.size()
};

// Where build() put each field (absolute file offsets).
struct GgufImage {
  std::vector<uint8_t> bytes;
  uint64_t n_tensors_offset = 0;
  uint64_t n_kv_offset = 0;
  std::vector<uint64_t> kv_offsets;           // each pair's key length field
  std::vector<uint64_t> kv_value_offsets;     // each value, just after its type id
  std::vector<uint64_t> tensor_info_offsets;  // each info's name length field
  std::vector<uint64_t> tensor_dtype_offsets; // each info's type id field
  std::vector<uint64_t> tensor_offset_offsets;  // each info's data offset field
  uint64_t data_offset = 0;                   // start of the tensor data section
  std::vector<uint64_t> tensor_data;          // where each tensor's data was placed
  uint64_t data_end = 0;                      // end of the last tensor's data (before tail padding)
};

class GgufWriter {
 public:
  uint32_t magic = kGgufMagic;
  uint32_t version = 3;
  GgufLayout layout = GgufLayout::kV2;
  std::optional<uint64_t> n_tensors;  // written instead of tensors.size()
  std::optional<uint64_t> n_kv;       // written instead of kvs.size()
  // Padding unit of the data section; default: the general.alignment value if
  // it is an unsigned integer, else GGUF's default of 32.
  std::optional<uint64_t> pad_alignment;
  bool pad_tail = true;  // pad after the last tensor's data, as llama.cpp does

  std::vector<GgufWriterKv> kvs;
  std::vector<GgufWriterTensor> tensors;

  // A valid v3 image: a few metadata pairs and three tensors,
  //   0: token_embd.weight       f32  [8, 4]
  //   1: output_norm.weight      f32  [8]
  //   2: blk.0.ffn_down.weight   q8_0 [64, 3]
  // with random data from `g`.
  static GgufWriter tiny_model(std::mt19937_64& g);
  // GGUF v1: version 1, 32-bit counts and lengths.
  void make_v1();

  // Appending metadata; each returns the new pair for further edits.
  GgufWriterKv& add_u8(std::string key, uint8_t v);
  GgufWriterKv& add_i8(std::string key, int8_t v);
  GgufWriterKv& add_u16(std::string key, uint16_t v);
  GgufWriterKv& add_i16(std::string key, int16_t v);
  GgufWriterKv& add_u32(std::string key, uint32_t v);
  GgufWriterKv& add_i32(std::string key, int32_t v);
  GgufWriterKv& add_u64(std::string key, uint64_t v);
  GgufWriterKv& add_i64(std::string key, int64_t v);
  GgufWriterKv& add_f32(std::string key, float v);
  GgufWriterKv& add_f64(std::string key, double v);
  GgufWriterKv& add_bool(std::string key, bool v);
  GgufWriterKv& add_string(std::string key, std::string_view v);
  GgufWriterKv& add_string_array(std::string key, const std::vector<std::string>& v);
  template <typename T>
  GgufWriterKv& add_array(std::string key, uint32_t elem_type, const std::vector<T>& v);
  GgufWriterKv& add_value(std::string key, GgufValue v);

  // A tensor whose data is `data`, or (if empty) zero bytes of the size its
  // dims and dtype imply. Later edits of dims do not resize the data.
  GgufWriterTensor& add_tensor(std::string name, DType dtype, std::vector<uint64_t> dims,
                               std::vector<uint8_t> data = {});

  // The pair with this key (the first, if duplicated), or nullptr.
  GgufWriterKv* kv(std::string_view key);

  GgufImage build() const;

 private:
  uint64_t data_alignment() const;
};

// Little-endian bytes of a scalar.
template <typename T>
std::vector<uint8_t> le_bytes(T v) {
  static_assert(sizeof(T) == 1 || sizeof(T) == 2 || sizeof(T) == 4 || sizeof(T) == 8);
  // An unsigned integer of T's size holds T's bits whatever the host's byte order.
  using Bits = std::conditional_t<sizeof(T) == 1, uint8_t,
               std::conditional_t<sizeof(T) == 2, uint16_t, std::conditional_t<sizeof(T) == 4, uint32_t, uint64_t>>>;
  Bits bits = 0;
  std::memcpy(&bits, &v, sizeof(T));
  std::vector<uint8_t> out(sizeof(T));
  for (size_t i = 0; i < sizeof(T); ++i) out[i] = uint8_t(uint64_t(bits) >> (8 * i));
  return out;
}

template <typename T>
GgufWriterKv& GgufWriter::add_array(std::string key, uint32_t elem_type, const std::vector<T>& v) {
  GgufValue val;
  val.type = gguf_type::kArray;
  val.elem_type = elem_type;
  for (const T& x : v) val.items.push_back(le_bytes(x));
  return add_value(std::move(key), std::move(val));
}

// Overwrites bytes [at, at + sizeof(T)) of an image with v (little-endian).
template <typename T>
void patch(std::vector<uint8_t>& bytes, uint64_t at, T v) {
  const std::vector<uint8_t> b = le_bytes(v);
  for (size_t i = 0; i < b.size() && at + i < bytes.size(); ++i) bytes[size_t(at + i)] = b[i];
}

// A file in the system temp dir under a unique name, removed on destruction.
class TempFile {
 public:
  // Writes `bytes` to a fresh file named after `tag`; ok() is false on failure.
  TempFile(const std::vector<uint8_t>& bytes, std::string_view tag);
  ~TempFile();
  TempFile(const TempFile&) = delete;
  TempFile& operator=(const TempFile&) = delete;

  bool ok() const { return ok_; }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
  bool ok_ = false;
};

// A fresh directory in the system temp dir, removed with its contents on destruction.
class TempDir {
 public:
  explicit TempDir(std::string_view tag);
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  bool ok() const { return !path_.empty(); }
  const std::string& path() const { return path_; }
  // Writes `bytes` to path()/name; returns the full path, or "" on failure.
  std::string write(const std::string& name, const std::vector<uint8_t>& bytes) const;

 private:
  std::string path_;
};

// Writes `bytes` to `path`, replacing it; false on failure.
bool write_file(const std::string& path, const std::vector<uint8_t>& bytes);

}  // namespace loci::test
