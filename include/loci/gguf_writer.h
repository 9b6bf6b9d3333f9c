// Writes GGUF v3 files (the quantizer's and the synthetic models' output).
//
// Metadata and tensor descriptions are collected first, so the layout and the
// file size are known before anything is written; then each tensor's bytes
// are produced in order by a callback and streamed out, so a model larger
// than memory can be written one tensor at a time.
//
//   GgufWriter w;
//   w.set_string("general.architecture", "llama");
//   LOCI_RETURN_IF_ERROR(w.add_tensor("token_embd.weight", DType::Q4_0, {2048, 32000}));
//   LOCI_RETURN_IF_ERROR(w.write_file("out.gguf", fill));
//
// A file is written under a temporary name and renamed into place only when
// complete, so a failed write never leaves a partial model behind.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <initializer_list>
#include <string>
#include <string_view>
#include <vector>

#include "loci/dtype.h"
#include "loci/gguf.h"
#include "loci/status.h"

namespace loci {

class GgufWriter {
 public:
  // `alignment` (a power of two) aligns every tensor's data; GGUF's default is 32.
  explicit GgufWriter(uint64_t alignment = 32);

  // Metadata pairs keep the order they were first set in; setting a key again
  // replaces its value in place.
  void set_u32(std::string_view key, uint32_t v);
  void set_i32(std::string_view key, int32_t v);
  void set_u64(std::string_view key, uint64_t v);
  void set_f32(std::string_view key, float v);
  void set_bool(std::string_view key, bool v);
  void set_string(std::string_view key, std::string_view v);
  void set_string_array(std::string_view key, const std::vector<std::string_view>& v);
  void set_f32_array(std::string_view key, const std::vector<float>& v);
  void set_i32_array(std::string_view key, const std::vector<int32_t>& v);
  // Copies one of `src`'s pairs byte for byte (arrays of any type included).
  // general.alignment is not copied: the writer's own alignment decides it.
  void copy_kv(const GgufFile& src, const GgufKv& kv);
  bool has(std::string_view key) const;
  void remove(std::string_view key);

  // Describes the next tensor: ne[0] is the row length, which must be a whole
  // number of the dtype's blocks. Names must be unique and under 256 bytes.
  Status add_tensor(std::string_view name, DType dtype, std::initializer_list<int64_t> ne);
  Status add_tensor(std::string_view name, DType dtype, const int64_t* ne, int ndim);

  struct TensorDesc {
    std::string name;
    DType dtype;
    int ndim;
    int64_t ne[kMaxDims];
    size_t bytes;
    uint64_t offset;  // from the start of the data section
  };
  const std::vector<TensorDesc>& tensors() const { return tensors_; }

  // Bytes of the whole file as it will be written.
  uint64_t file_size() const;
  uint64_t alignment() const { return alignment_; }

  // Fills `dst` with exactly tensors()[index].bytes bytes of that tensor's data.
  using TensorFill = std::function<Status(size_t index, void* dst)>;

  // Writes `path` (via "PATH.tmp" and a rename). fill is called once per
  // tensor, in order; its first error stops the write and is returned.
  Status write_file(const std::string& path, const TensorFill& fill) const;
  // Writes the image into dst[0, file_size()), which must hold that much.
  Status write_memory(void* dst, size_t capacity, const TensorFill& fill) const;

 private:
  struct Kv {
    std::string key;
    uint32_t type;
    std::string value;  // the encoded value, as the file stores it after the type id
  };
  void set(std::string_view key, GgufType type, std::string value);
  std::string header() const;  // everything before the data section, padded

  uint64_t alignment_;
  std::vector<Kv> kvs_;
  std::vector<TensorDesc> tensors_;
  uint64_t data_bytes_ = 0;
};

}  // namespace loci
