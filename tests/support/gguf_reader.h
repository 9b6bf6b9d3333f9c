// A small, test-only GGUF v2/v3 reader: loads a whole file into memory and
// lists its key-value pairs and tensors. Every read is bounds-checked, so a
// malformed file gives an error Status, never a crash. The library's own,
// hardened loader lives in the runtime; this one exists so tests can read the
// files llama.cpp wrote without depending on it.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "loci/dtype.h"
#include "loci/status.h"

namespace loci::test {

// GGUF's value type ids.
enum class GgufType : uint32_t {
  U8 = 0, I8 = 1, U16 = 2, I16 = 3, U32 = 4, I32 = 5, F32 = 6, BOOL = 7,
  STRING = 8, ARRAY = 9, U64 = 10, I64 = 11, F64 = 12,
};

struct GgufKv {
  std::string key;
  GgufType type;
  size_t value_offset;  // where the value starts in the file buffer
};

struct GgufTensor {
  std::string name;
  DType dtype;
  std::vector<uint64_t> dims;  // dims[0] is the row length (contiguous)
  uint64_t offset;             // relative to the data section, as stored
  const uint8_t* data;         // into the owning GgufFile's buffer
  size_t bytes;

  uint64_t elements() const;
  uint64_t row_length() const { return dims.empty() ? 1 : dims[0]; }
  uint64_t rows() const { return row_length() ? elements() / row_length() : 0; }
};

class GgufFile {
 public:
  static Result<GgufFile> load(const std::string& path);
  // Parses an in-memory image (takes ownership).
  static Result<GgufFile> parse(std::vector<uint8_t> bytes);

  // Movable (tensor pointers follow the buffer), not copyable.
  GgufFile(GgufFile&&) = default;
  GgufFile& operator=(GgufFile&&) = default;
  GgufFile(const GgufFile&) = delete;
  GgufFile& operator=(const GgufFile&) = delete;

  uint32_t version() const { return version_; }
  uint64_t alignment() const { return alignment_; }
  // Where the data section starts in the file (after header, KVs, infos, padding).
  uint64_t data_offset() const { return data_offset_; }
  // The loaded file image that tensor data points into.
  const uint8_t* image() const { return bytes_.data(); }
  size_t image_size() const { return bytes_.size(); }
  const std::vector<GgufKv>& kvs() const { return kvs_; }
  const std::vector<GgufTensor>& tensors() const { return tensors_; }
  const GgufTensor* tensor(std::string_view name) const;

  const GgufKv* kv(std::string_view key) const;
  // Scalar values, converted if the stored type is another integer/float type.
  std::optional<uint64_t> get_uint(std::string_view key) const;
  std::optional<int64_t> get_int(std::string_view key) const;
  std::optional<double> get_float(std::string_view key) const;
  std::optional<std::string> get_string(std::string_view key) const;
  // Array length and element type, for array-valued keys.
  std::optional<uint64_t> array_length(std::string_view key, GgufType* elem_type = nullptr) const;

 private:
  GgufFile() = default;

  std::vector<uint8_t> bytes_;
  uint32_t version_ = 0;
  uint64_t alignment_ = 32;
  uint64_t data_offset_ = 0;
  std::vector<GgufKv> kvs_;
  std::vector<GgufTensor> tensors_;
};

}  // namespace loci::test
