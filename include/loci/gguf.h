// The GGUF reader: maps a model file read-only and validates every count,
// length, offset and size in it before handing out anything. Model files are
// untrusted input, so a malformed file is refused with a Status naming the
// field, key or tensor and its file offset; nothing is ever read outside the
// file.
//
// Codes: kIoError when the file cannot be opened or mapped; kUnsupported for
// real formats loci does not read (GGUF v1, big-endian GGUF, the legacy
// GGML/GGMF/GGJT files); kInvalidModel for anything malformed.
//
// Tensor data is never copied: each tensor's TensorView points into the
// mapping, which also reserves kKernelPadding readable bytes past the end of
// the file for the kernels' over-read.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "loci/dtype.h"
#include "loci/status.h"
#include "loci/tensor.h"

namespace loci {

// GGUF metadata value types (ids as stored in the file).
enum class GgufType : uint32_t {
  kU8 = 0, kI8 = 1, kU16 = 2, kI16 = 3, kU32 = 4, kI32 = 5, kF32 = 6, kBool = 7,
  kString = 8, kArray = 9, kU64 = 10, kI64 = 11, kF64 = 12,
};
const char* gguf_type_name(GgufType t);  // "u32", "string", ...

// Documented limits. A file beyond any of them is refused by name; each is far
// above what real models use (Llama-3 405B: ~1100 tensors, 128k vocab).
struct GgufLimits {
  static constexpr uint64_t kMaxTensors = 1u << 16;
  static constexpr uint64_t kMaxKvs = 1u << 16;
  static constexpr uint64_t kMaxKeyLength = 1u << 16;
  static constexpr uint64_t kMaxStringLength = 1u << 24;  // chat templates are ~10 KiB
  static constexpr uint64_t kMaxArrayLength = 1u << 24;   // vocab and merges are < 1M
  static constexpr uint64_t kMaxTensorNameLength = 256;
  static constexpr uint32_t kMaxDims = 4;
  static constexpr uint64_t kMaxAlignment = 1u << 16;
};

// One metadata pair. Strings point into the file image (valid while the
// GgufFile lives).
struct GgufKv {
  std::string_view key;
  GgufType type = GgufType::kU8;
  GgufType elem_type = GgufType::kU8;  // arrays only
  uint64_t count = 1;                  // array length; 1 for scalars
  uint64_t offset = 0;                 // file offset of the value (after its type id)
  uint64_t value_bytes = 0;            // bytes the value takes in the file (see raw_value)
  // Scalars, decoded: integers and bools in `i` (u64 values above INT64_MAX in
  // `u`), floats in `f`, strings in `str`.
  int64_t i = 0;
  uint64_t u = 0;
  double f = 0.0;
  std::string_view str;
};

struct GgufTensor {
  std::string_view name;
  DType dtype = DType::F32;
  int ndim = 0;
  int64_t ne[kMaxDims] = {1, 1, 1, 1};
  uint64_t info_offset = 0;  // file offset of this tensor's info record
  uint64_t data_offset = 0;  // file offset of its first byte
  size_t bytes = 0;
  TensorView view;  // contiguous, read-only (the mapping is not writable)
};

class GgufFile {
 public:
  // Maps and validates `path`.
  static Result<std::shared_ptr<const GgufFile>> open(const std::string& path);
  // Validates an in-memory image, copying it first (tests, fuzzing).
  static Result<std::shared_ptr<const GgufFile>> parse(const void* data, size_t size);
  // Validates an image that `write` puts into a fresh buffer of `size` bytes
  // (padded and aligned), which the file then owns: models made in memory.
  static Result<std::shared_ptr<const GgufFile>> build(size_t size, const std::function<Status(void* dst)>& write);
  // Validates and uses the caller's image in place. `data` must be followed
  // by kKernelPadding readable bytes, be aligned to the file's alignment, and
  // stay valid and unchanged while the file (or a model made from it) lives.
  static Result<std::shared_ptr<const GgufFile>> borrow(const void* data, size_t size);

  ~GgufFile();
  GgufFile(const GgufFile&) = delete;
  GgufFile& operator=(const GgufFile&) = delete;

  // open() maps the file, so a file truncated later takes pages from under
  // the model (SIGBUS on access). This is an error when the file has shrunk
  // or been written since it was mapped; always ok for parse() and borrow().
  // Replacing the file by rename is safe: the mapping keeps the old inode.
  Status check_unchanged() const;

  const std::string& path() const { return path_; }  // "<memory>" for parse()
  uint32_t version() const { return version_; }
  uint64_t file_size() const { return size_; }
  uint64_t alignment() const { return alignment_; }
  uint64_t data_offset() const { return data_offset_; }  // start of the tensor data section

  const std::vector<GgufKv>& kvs() const { return kvs_; }
  const std::vector<GgufTensor>& tensors() const { return tensors_; }
  const GgufKv* find(std::string_view key) const;
  const GgufTensor* find_tensor(std::string_view name) const;
  // A value's bytes exactly as the file stores them (after the type id), so a
  // writer can copy any pair, arrays of any type included, without decoding it.
  std::string_view raw_value(const GgufKv& kv) const;

  // Typed getters. A missing key is kInvalidModel unless a fallback is given;
  // a value of the wrong type, or an integer out of the requested range, is
  // kInvalidModel naming the key, both types and the offset.
  Result<int64_t> get_int(std::string_view key) const;
  Result<int64_t> get_int(std::string_view key, int64_t fallback) const;
  Result<uint32_t> get_u32(std::string_view key) const;
  Result<uint32_t> get_u32(std::string_view key, uint32_t fallback) const;
  Result<double> get_float(std::string_view key) const;  // any float or integer type
  Result<double> get_float(std::string_view key, double fallback) const;
  Result<bool> get_bool(std::string_view key, bool fallback) const;
  Result<std::string_view> get_string(std::string_view key) const;
  Result<std::string_view> get_string(std::string_view key, std::string_view fallback) const;
  // Arrays, decoded into fresh vectors (the file's elements may be unaligned).
  Result<std::vector<std::string_view>> get_string_array(std::string_view key) const;
  Result<std::vector<float>> get_f32_array(std::string_view key) const;
  Result<std::vector<int32_t>> get_i32_array(std::string_view key) const;  // from any integer type in range

  // How many bytes the tensor data section maps (weights that will be paged in).
  uint64_t tensor_bytes() const;

 private:
  class Parser;
  struct Image;
  GgufFile() = default;

  std::string path_;
  std::unique_ptr<Image> image_;
  const uint8_t* base_ = nullptr;
  uint64_t size_ = 0;
  uint32_t version_ = 0;
  uint64_t alignment_ = 32;
  uint64_t data_offset_ = 0;
  std::vector<GgufKv> kvs_;
  std::vector<GgufTensor> tensors_;
  std::unordered_map<std::string_view, size_t> kv_index_;
  std::unordered_map<std::string_view, size_t> tensor_index_;
};

}  // namespace loci
