// GGUF v3 writer: the header is encoded in memory, tensor data is streamed.
#include "loci/gguf_writer.h"

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <memory>

namespace loci {
namespace {

constexpr uint32_t kMagic = 0x46554747;  // "GGUF", little-endian
constexpr uint32_t kVersion = 3;

template <typename T>
void put(std::string* out, T v) {
  char b[sizeof(T)];
  std::memcpy(b, &v, sizeof(T));
  out->append(b, sizeof(T));
}

void put_string(std::string* out, std::string_view s) {
  put<uint64_t>(out, s.size());
  out->append(s.data(), s.size());
}

template <typename T>
std::string scalar(T v) {
  std::string s;
  put(&s, v);
  return s;
}

template <typename T>
std::string array(GgufType elem, const std::vector<T>& v) {
  std::string s;
  put<uint32_t>(&s, uint32_t(elem));
  put<uint64_t>(&s, v.size());
  for (const T& x : v) put(&s, x);
  return s;
}

uint64_t align_up(uint64_t x, uint64_t a) { return (x + a - 1) / a * a; }

Status file_error(const std::string& what, const std::string& path) {
  return Status(StatusCode::kIoError, what + " " + path + ": " + std::strerror(errno));
}

}  // namespace

GgufWriter::GgufWriter(uint64_t alignment) : alignment_(alignment) {
  if (alignment_ != 32) set_u32("general.alignment", uint32_t(alignment_));
}

void GgufWriter::set(std::string_view key, GgufType type, std::string value) {
  for (Kv& kv : kvs_) {
    if (kv.key == key) {
      kv.type = uint32_t(type);
      kv.value = std::move(value);
      return;
    }
  }
  kvs_.push_back({std::string(key), uint32_t(type), std::move(value)});
}

void GgufWriter::set_u32(std::string_view key, uint32_t v) { set(key, GgufType::kU32, scalar(v)); }
void GgufWriter::set_i32(std::string_view key, int32_t v) { set(key, GgufType::kI32, scalar(v)); }
void GgufWriter::set_u64(std::string_view key, uint64_t v) { set(key, GgufType::kU64, scalar(v)); }
void GgufWriter::set_f32(std::string_view key, float v) { set(key, GgufType::kF32, scalar(v)); }
void GgufWriter::set_bool(std::string_view key, bool v) { set(key, GgufType::kBool, scalar(uint8_t(v ? 1 : 0))); }

void GgufWriter::set_string(std::string_view key, std::string_view v) {
  std::string s;
  put_string(&s, v);
  set(key, GgufType::kString, std::move(s));
}

void GgufWriter::set_string_array(std::string_view key, const std::vector<std::string_view>& v) {
  std::string s;
  put<uint32_t>(&s, uint32_t(GgufType::kString));
  put<uint64_t>(&s, v.size());
  for (std::string_view x : v) put_string(&s, x);
  set(key, GgufType::kArray, std::move(s));
}

void GgufWriter::set_f32_array(std::string_view key, const std::vector<float>& v) {
  set(key, GgufType::kArray, array(GgufType::kF32, v));
}

void GgufWriter::set_i32_array(std::string_view key, const std::vector<int32_t>& v) {
  set(key, GgufType::kArray, array(GgufType::kI32, v));
}

void GgufWriter::copy_kv(const GgufFile& src, const GgufKv& kv) {
  if (kv.key == "general.alignment") return;
  set(kv.key, kv.type, std::string(src.raw_value(kv)));
}

bool GgufWriter::has(std::string_view key) const {
  return std::any_of(kvs_.begin(), kvs_.end(), [&](const Kv& kv) { return kv.key == key; });
}

void GgufWriter::remove(std::string_view key) {
  kvs_.erase(std::remove_if(kvs_.begin(), kvs_.end(), [&](const Kv& kv) { return kv.key == key; }), kvs_.end());
}

Status GgufWriter::add_tensor(std::string_view name, DType dtype, std::initializer_list<int64_t> ne) {
  return add_tensor(name, dtype, ne.begin(), int(ne.size()));
}

Status GgufWriter::add_tensor(std::string_view name, DType dtype, const int64_t* ne, int ndim) {
  const std::string ctx = "GGUF writer: tensor '" + std::string(name) + "'";
  if (name.empty() || name.size() >= GgufLimits::kMaxTensorNameLength || name.find('\0') != std::string_view::npos)
    return invalid_argument(ctx + ": a name must be 1 to 255 bytes with no NUL");
  for (const TensorDesc& t : tensors_)
    if (t.name == name) return invalid_argument(ctx + " is added twice");
  const DTypeInfo* info = dtype_info(dtype);
  if (!info || dtype == DType::Q8_1 || dtype == DType::Q8_K)
    return invalid_argument(ctx + ": dtype " + dtype_name(dtype) + " is not a storage type");
  if (ndim < 1 || ndim > int(kMaxDims)) return invalid_argument(ctx + ": " + std::to_string(ndim) + " dims");
  TensorDesc t{std::string(name), dtype, ndim, {1, 1, 1, 1}, 0, 0};
  uint64_t rows = 1;
  for (int i = 0; i < ndim; ++i) {
    if (ne[i] <= 0) return invalid_argument(ctx + ": dim " + std::to_string(i) + " is " + std::to_string(ne[i]));
    t.ne[i] = ne[i];
    if (i > 0 && __builtin_mul_overflow(rows, uint64_t(ne[i]), &rows))
      return invalid_argument(ctx + ": its size overflows");
  }
  const std::optional<size_t> row = dtype_row_bytes(dtype, size_t(ne[0]));
  if (!row)
    return invalid_argument(ctx + ": row length " + std::to_string(ne[0]) + " is not a multiple of " +
                            std::to_string(info->block_elems) + " (" + info->name + " blocks)");
  uint64_t bytes = 0;
  if (__builtin_mul_overflow(uint64_t(*row), rows, &bytes) || bytes > SIZE_MAX / 2)
    return invalid_argument(ctx + ": its size overflows");
  t.bytes = size_t(bytes);
  t.offset = align_up(data_bytes_, alignment_);
  data_bytes_ = t.offset + t.bytes;
  tensors_.push_back(std::move(t));
  return Status::ok();
}

std::string GgufWriter::header() const {
  std::string h;
  put<uint32_t>(&h, kMagic);
  put<uint32_t>(&h, kVersion);
  put<uint64_t>(&h, tensors_.size());
  put<uint64_t>(&h, kvs_.size());
  for (const Kv& kv : kvs_) {
    put_string(&h, kv.key);
    put<uint32_t>(&h, kv.type);
    h += kv.value;
  }
  for (const TensorDesc& t : tensors_) {
    put_string(&h, t.name);
    put<uint32_t>(&h, uint32_t(t.ndim));
    for (int i = 0; i < t.ndim; ++i) put<uint64_t>(&h, uint64_t(t.ne[i]));
    put<uint32_t>(&h, uint32_t(t.dtype));
    put<uint64_t>(&h, t.offset);
  }
  h.resize(align_up(h.size(), alignment_), '\0');
  return h;
}

uint64_t GgufWriter::file_size() const { return header().size() + data_bytes_; }

Status GgufWriter::write_memory(void* dst, size_t capacity, const TensorFill& fill) const {
  const std::string h = header();
  if (capacity < h.size() + data_bytes_)
    return invalid_argument("GGUF writer: the buffer holds " + std::to_string(capacity) + " bytes, the file needs " +
                            std::to_string(h.size() + data_bytes_));
  uint8_t* out = static_cast<uint8_t*>(dst);
  std::memcpy(out, h.data(), h.size());
  uint8_t* data = out + h.size();
  uint64_t at = 0;
  for (size_t i = 0; i < tensors_.size(); ++i) {
    std::memset(data + at, 0, tensors_[i].offset - at);  // alignment padding
    LOCI_RETURN_IF_ERROR(fill(i, data + tensors_[i].offset));
    at = tensors_[i].offset + tensors_[i].bytes;
  }
  return Status::ok();
}

Status GgufWriter::write_file(const std::string& path, const TensorFill& fill) const {
  const std::string tmp = path + ".tmp";
  struct Closer {
    void operator()(FILE* f) const { std::fclose(f); }
  };
  std::unique_ptr<FILE, Closer> f(std::fopen(tmp.c_str(), "wb"));
  if (!f) return file_error("cannot create", tmp);
  // Any failure below removes the partial file.
  auto fail = [&](Status s) {
    f.reset();
    std::remove(tmp.c_str());
    return s;
  };
  const std::string h = header();
  if (std::fwrite(h.data(), 1, h.size(), f.get()) != h.size()) return fail(file_error("cannot write", tmp));
  size_t largest = 0;
  for (const TensorDesc& t : tensors_) largest = std::max(largest, t.bytes);
  std::vector<uint8_t> buf;
  try {
    buf.resize(std::max<size_t>(largest, alignment_));
  } catch (const std::bad_alloc&) {
    return fail(out_of_memory("GGUF writer: a " + std::to_string(largest) + "-byte tensor buffer"));
  }
  const std::vector<uint8_t> zeros(alignment_, 0);
  uint64_t at = 0;
  for (size_t i = 0; i < tensors_.size(); ++i) {
    const TensorDesc& t = tensors_[i];
    if (std::fwrite(zeros.data(), 1, t.offset - at, f.get()) != t.offset - at) return fail(file_error("cannot write", tmp));
    Status s = fill(i, buf.data());
    if (!s.is_ok()) return fail(std::move(s));
    if (std::fwrite(buf.data(), 1, t.bytes, f.get()) != t.bytes) return fail(file_error("cannot write", tmp));
    at = t.offset + t.bytes;
  }
  if (std::fflush(f.get()) != 0) return fail(file_error("cannot write", tmp));
  if (std::fclose(f.release()) != 0) {
    std::remove(tmp.c_str());
    return file_error("cannot write", tmp);
  }
  if (std::rename(tmp.c_str(), path.c_str()) != 0) {
    Status s = file_error("cannot rename " + tmp + " to", path);
    std::remove(tmp.c_str());
    return s;
  }
  return Status::ok();
}

}  // namespace loci
