#include "support/gguf_reader.h"

#include <cstdio>
#include <cstring>
#include <limits>
#include <memory>
#include <unordered_set>

namespace loci::test {
namespace {

constexpr uint32_t kMaxDims = 4;        // GGML_MAX_DIMS
constexpr int kMaxArrayNesting = 8;     // arrays of arrays, bounded so recursion is too

// Reads little-endian values from a byte range, refusing to go past its end.
class Cursor {
 public:
  Cursor(const uint8_t* data, size_t size) : data_(data), size_(size) {}

  size_t pos() const { return pos_; }
  size_t remaining() const { return size_ - pos_; }

  bool skip(uint64_t n) {
    if (n > remaining()) return false;
    pos_ += size_t(n);
    return true;
  }
  template <typename T>
  bool read(T* out) {
    if (sizeof(T) > remaining()) return false;
    std::memcpy(out, data_ + pos_, sizeof(T));
    pos_ += sizeof(T);
    return true;
  }
  bool read_string(std::string* out) {
    uint64_t len;
    if (!read(&len) || len > remaining()) return false;
    out->assign(reinterpret_cast<const char*>(data_ + pos_), size_t(len));
    pos_ += size_t(len);
    return true;
  }

 private:
  const uint8_t* data_;
  size_t size_;
  size_t pos_ = 0;
};

// Bytes of one fixed-size value, or 0 for strings, arrays and unknown ids.
size_t scalar_size(GgufType t) {
  switch (t) {
    case GgufType::U8:
    case GgufType::I8:
    case GgufType::BOOL: return 1;
    case GgufType::U16:
    case GgufType::I16: return 2;
    case GgufType::U32:
    case GgufType::I32:
    case GgufType::F32: return 4;
    case GgufType::U64:
    case GgufType::I64:
    case GgufType::F64: return 8;
    default: return 0;
  }
}

bool skip_value(Cursor& c, GgufType t, int depth) {
  if (const size_t n = scalar_size(t)) return c.skip(n);
  if (t == GgufType::STRING) {
    uint64_t len;
    return c.read(&len) && c.skip(len);
  }
  if (t != GgufType::ARRAY || depth >= kMaxArrayNesting) return false;
  uint32_t elem_raw;
  uint64_t count;
  if (!c.read(&elem_raw) || !c.read(&count)) return false;
  const auto elem = GgufType(elem_raw);
  if (const size_t n = scalar_size(elem)) {
    if (count > c.remaining() / n) return false;
    return c.skip(count * n);
  }
  // Strings and nested arrays take at least 8 bytes each: bounds the loop.
  if (count > c.remaining() / 8) return false;
  for (uint64_t i = 0; i < count; ++i)
    if (!skip_value(c, elem, depth + 1)) return false;
  return true;
}

Status bad(const std::string& what) { return invalid_model("gguf: " + what); }

bool mul_overflows(uint64_t a, uint64_t b, uint64_t* out) {
  if (a != 0 && b > std::numeric_limits<uint64_t>::max() / a) return true;
  *out = a * b;
  return false;
}

}  // namespace

uint64_t GgufTensor::elements() const {
  uint64_t n = 1;
  for (uint64_t d : dims) n *= d;  // checked at parse time
  return n;
}

Result<GgufFile> GgufFile::load(const std::string& path) {
  std::unique_ptr<FILE, int (*)(FILE*)> f(std::fopen(path.c_str(), "rb"), &std::fclose);
  if (!f) return io_error("cannot open " + path);
  if (std::fseek(f.get(), 0, SEEK_END) != 0) return io_error("cannot seek " + path);
  const long size = std::ftell(f.get());
  if (size < 0 || std::fseek(f.get(), 0, SEEK_SET) != 0) return io_error("cannot size " + path);
  std::vector<uint8_t> bytes(static_cast<size_t>(size));
  if (size > 0 && std::fread(bytes.data(), 1, bytes.size(), f.get()) != bytes.size())
    return io_error("short read of " + path);
  Result<GgufFile> r = parse(std::move(bytes));
  if (!r.is_ok()) return Status(r.status().code(), r.status().message() + " (" + path + ")");
  return r;
}

Result<GgufFile> GgufFile::parse(std::vector<uint8_t> bytes) {
  GgufFile file;
  file.bytes_ = std::move(bytes);
  Cursor c(file.bytes_.data(), file.bytes_.size());

  char magic[4];
  if (!c.read(&magic) || std::memcmp(magic, "GGUF", 4) != 0) return bad("not a GGUF file (bad magic)");
  if (!c.read(&file.version_)) return bad("truncated header");
  if (file.version_ != 2 && file.version_ != 3)
    return bad("unsupported GGUF version " + std::to_string(file.version_) + " (only v2 and v3 are read)");
  uint64_t n_tensors, n_kv;
  if (!c.read(&n_tensors) || !c.read(&n_kv)) return bad("truncated header");
  // Each KV takes at least 12 bytes and each tensor info at least 24.
  if (n_kv > c.remaining() / 12) return bad("KV count " + std::to_string(n_kv) + " exceeds the file");
  if (n_tensors > c.remaining() / 24) return bad("tensor count " + std::to_string(n_tensors) + " exceeds the file");

  for (uint64_t i = 0; i < n_kv; ++i) {
    GgufKv kv;
    uint32_t type;
    if (!c.read_string(&kv.key) || !c.read(&type)) return bad("truncated KV " + std::to_string(i));
    kv.type = GgufType(type);
    kv.value_offset = c.pos();
    if (!skip_value(c, kv.type, 0)) return bad("bad or truncated value of '" + kv.key + "'");
    file.kvs_.push_back(std::move(kv));
  }
  if (const GgufKv* a = file.kv("general.alignment")) {
    const std::optional<uint64_t> v = file.get_uint("general.alignment");
    if (a->type != GgufType::U32 || !v || *v == 0 || (*v & (*v - 1)) != 0)
      return bad("general.alignment must be a power-of-two u32");
    file.alignment_ = *v;
  }

  std::unordered_set<std::string> names;
  for (uint64_t i = 0; i < n_tensors; ++i) {
    GgufTensor t;
    uint32_t n_dims, type;
    if (!c.read_string(&t.name) || !c.read(&n_dims)) return bad("truncated tensor info " + std::to_string(i));
    if (n_dims > kMaxDims) return bad("tensor '" + t.name + "' has " + std::to_string(n_dims) + " dims");
    t.dims.resize(n_dims);
    for (uint64_t& d : t.dims)
      if (!c.read(&d)) return bad("truncated dims of '" + t.name + "'");
    if (!c.read(&type) || !c.read(&t.offset)) return bad("truncated tensor info of '" + t.name + "'");
    const DTypeInfo* info = dtype_info_from_gguf_id(type);
    if (!info) return bad("tensor '" + t.name + "' has unsupported type id " + std::to_string(type));
    t.dtype = info->dtype;
    if (!names.insert(t.name).second) return bad("duplicate tensor '" + t.name + "'");
    file.tensors_.push_back(std::move(t));
  }

  const uint64_t data_start = (c.pos() + file.alignment_ - 1) / file.alignment_ * file.alignment_;
  if (data_start > file.bytes_.size() && !file.tensors_.empty()) return bad("data section starts past the end");
  file.data_offset_ = data_start;
  for (GgufTensor& t : file.tensors_) {
    uint64_t elems = 1;
    for (uint64_t d : t.dims)
      if (mul_overflows(elems, d, &elems)) return bad("tensor '" + t.name + "' element count overflows");
    const uint64_t row = t.row_length();
    const std::optional<size_t> row_bytes = dtype_row_bytes(t.dtype, size_t(row));
    if (!row_bytes || row > std::numeric_limits<size_t>::max())
      return bad("tensor '" + t.name + "' rows of " + std::to_string(row) + " are not whole " +
                 dtype_name(t.dtype) + " blocks");
    uint64_t nbytes = 0;
    if (mul_overflows(*row_bytes, t.rows(), &nbytes)) return bad("tensor '" + t.name + "' size overflows");
    if (t.offset % file.alignment_ != 0) return bad("tensor '" + t.name + "' offset is not aligned");
    const uint64_t avail = file.bytes_.size() - data_start;
    if (t.offset > avail || nbytes > avail - t.offset) return bad("tensor '" + t.name + "' data runs past the end");
    t.data = file.bytes_.data() + data_start + t.offset;
    t.bytes = size_t(nbytes);
  }
  return file;
}

const GgufTensor* GgufFile::tensor(std::string_view name) const {
  for (const GgufTensor& t : tensors_)
    if (t.name == name) return &t;
  return nullptr;
}

const GgufKv* GgufFile::kv(std::string_view key) const {
  for (const GgufKv& kv : kvs_)
    if (kv.key == key) return &kv;
  return nullptr;
}

// Values were bounds-checked when the KVs were skipped over, so these reads fit.
std::optional<uint64_t> GgufFile::get_uint(std::string_view key) const {
  const std::optional<int64_t> v = get_int(key);
  if (v && *v >= 0) return uint64_t(*v);
  const GgufKv* kv = this->kv(key);
  if (kv && kv->type == GgufType::U64) {
    uint64_t u;
    std::memcpy(&u, bytes_.data() + kv->value_offset, 8);
    return u;
  }
  return std::nullopt;
}

std::optional<int64_t> GgufFile::get_int(std::string_view key) const {
  const GgufKv* kv = this->kv(key);
  if (!kv) return std::nullopt;
  const uint8_t* p = bytes_.data() + kv->value_offset;
  auto load = [p](auto v) {
    std::memcpy(&v, p, sizeof v);
    return v;
  };
  switch (kv->type) {
    case GgufType::U8: return int64_t(load(uint8_t()));
    case GgufType::I8: return int64_t(load(int8_t()));
    case GgufType::U16: return int64_t(load(uint16_t()));
    case GgufType::I16: return int64_t(load(int16_t()));
    case GgufType::U32: return int64_t(load(uint32_t()));
    case GgufType::I32: return int64_t(load(int32_t()));
    case GgufType::I64: return load(int64_t());
    case GgufType::BOOL: return int64_t(load(uint8_t()) != 0);
    case GgufType::U64: {
      const uint64_t u = load(uint64_t());
      if (u > uint64_t(std::numeric_limits<int64_t>::max())) return std::nullopt;
      return int64_t(u);
    }
    default: return std::nullopt;
  }
}

std::optional<double> GgufFile::get_float(std::string_view key) const {
  const GgufKv* kv = this->kv(key);
  if (!kv) return std::nullopt;
  const uint8_t* p = bytes_.data() + kv->value_offset;
  if (kv->type == GgufType::F32) {
    float f;
    std::memcpy(&f, p, 4);
    return double(f);
  }
  if (kv->type == GgufType::F64) {
    double d;
    std::memcpy(&d, p, 8);
    return d;
  }
  if (const std::optional<int64_t> i = get_int(key)) return double(*i);
  return std::nullopt;
}

std::optional<std::string> GgufFile::get_string(std::string_view key) const {
  const GgufKv* kv = this->kv(key);
  if (!kv || kv->type != GgufType::STRING) return std::nullopt;
  Cursor c(bytes_.data() + kv->value_offset, bytes_.size() - kv->value_offset);
  std::string s;
  if (!c.read_string(&s)) return std::nullopt;
  return s;
}

std::optional<uint64_t> GgufFile::array_length(std::string_view key, GgufType* elem_type) const {
  const GgufKv* kv = this->kv(key);
  if (!kv || kv->type != GgufType::ARRAY) return std::nullopt;
  Cursor c(bytes_.data() + kv->value_offset, bytes_.size() - kv->value_offset);
  uint32_t elem;
  uint64_t count;
  if (!c.read(&elem) || !c.read(&count)) return std::nullopt;
  if (elem_type) *elem_type = GgufType(elem);
  return count;
}

}  // namespace loci::test
