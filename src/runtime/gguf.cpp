// The GGUF parser. Reads through a bounds-checked cursor: every length and
// count is checked against the bytes left in the file before it is used, and
// every size is computed with overflow checks, so a hostile file can make it
// return an error but never read outside the image.
#include "loci/gguf.h"

#include <algorithm>
#include <cstring>
#include <limits>
#include <new>

#include "core/bad_alloc.h"
#include "core/mapped_file.h"

namespace loci {

struct GgufFile::Image {
  std::unique_ptr<detail::MappedFile> map;
  void* owned = nullptr;  // parse(): a padded copy
  ~Image() { aligned_free(owned); }
};

namespace {

constexpr uint32_t kMagicGguf = 0x46554747;  // "GGUF" read little-endian
constexpr uint64_t kDefaultAlignment = 32;
// Smallest possible records: key length + 1-byte key + type + 1-byte value;
// name length + 1-byte name + n_dims + one dim + type + offset.
constexpr uint64_t kMinKvBytes = 8 + 1 + 4 + 1;
constexpr uint64_t kMinTensorInfoBytes = 8 + 1 + 4 + 8 + 4 + 8;

// Older formats, by the magic number they stored as a little-endian uint32.
const char* legacy_format_name(uint32_t magic) {
  switch (magic) {
    case 0x67676d6c: return "GGML (unversioned)";
    case 0x67676d66: return "GGMF";
    case 0x67676a74: return "GGJT";
    case 0x67676c61: return "GGLA (LoRA adapter)";
    default: return nullptr;
  }
}

size_t scalar_size(GgufType t) {
  switch (t) {
    case GgufType::kU8: case GgufType::kI8: case GgufType::kBool: return 1;
    case GgufType::kU16: case GgufType::kI16: return 2;
    case GgufType::kU32: case GgufType::kI32: case GgufType::kF32: return 4;
    case GgufType::kU64: case GgufType::kI64: case GgufType::kF64: return 8;
    default: return 0;
  }
}

bool valid_type(uint32_t id) { return id <= uint32_t(GgufType::kF64); }

std::string quote(std::string_view s) {
  std::string out = "'";
  for (char c : s.substr(0, 80)) out += (c >= 0x20 && c < 0x7f) ? c : '?';
  if (s.size() > 80) out += "...";
  return out + "'";
}

}  // namespace

const char* gguf_type_name(GgufType t) {
  static const char* const names[] = {"u8", "i8", "u16", "i16", "u32", "i32", "f32",
                                      "bool", "string", "array", "u64", "i64", "f64"};
  return valid_type(uint32_t(t)) ? names[uint32_t(t)] : "unknown";
}

// Reads one image front to back into a GgufFile.
class GgufFile::Parser {
 public:
  explicit Parser(GgufFile& f) : f_(f), base_(f.base_), size_(f.size_) {}

  Status run() {
    LOCI_RETURN_IF_ERROR(header());
    // Reserve no more records than the remaining bytes could hold, so a tiny
    // file claiming huge counts fails before it makes us allocate.
    f_.kvs_.reserve(size_t(std::min(n_kv_, (size_ - pos_) / kMinKvBytes)));
    for (uint64_t i = 0; i < n_kv_; ++i) LOCI_RETURN_IF_ERROR(kv(i));
    LOCI_RETURN_IF_ERROR(alignment());
    f_.tensors_.reserve(size_t(std::min(n_tensors_, (size_ - pos_) / kMinTensorInfoBytes)));
    for (uint64_t i = 0; i < n_tensors_; ++i) LOCI_RETURN_IF_ERROR(tensor_info(i));
    LOCI_RETURN_IF_ERROR(data_section());
    return Status::ok();
  }

 private:
  // --- cursor ----------------------------------------------------------------
  Status fail(uint64_t at, const std::string& what) const {
    return invalid_model("GGUF " + f_.path_ + ": " + what + " (at offset " + std::to_string(at) + ")");
  }
  Status need(uint64_t n, const std::string& what) const {
    if (n > size_ - pos_)
      return fail(pos_, what + " needs " + std::to_string(n) + " bytes but the file ends after " +
                            std::to_string(size_ - pos_) + " (truncated?)");
    return Status::ok();
  }
  template <typename T>
  Status read(T* out, const std::string& what) {
    LOCI_RETURN_IF_ERROR(need(sizeof(T), what));
    std::memcpy(out, base_ + pos_, sizeof(T));
    pos_ += sizeof(T);
    return Status::ok();
  }
  Status read_string(std::string_view* out, const std::string& what, uint64_t max_len) {
    const uint64_t at = pos_;
    uint64_t len = 0;
    LOCI_RETURN_IF_ERROR(read(&len, what + " length"));
    if (len > max_len)
      return fail(at, what + " length " + std::to_string(len) + " exceeds the limit of " + std::to_string(max_len));
    LOCI_RETURN_IF_ERROR(need(len, what));
    *out = std::string_view(reinterpret_cast<const char*>(base_ + pos_), size_t(len));
    pos_ += len;
    return Status::ok();
  }

  // --- header ----------------------------------------------------------------
  Status header() {
    uint32_t magic = 0;
    if (size_ < 4) return fail(0, "file of " + std::to_string(size_) + " bytes is too small to be GGUF");
    LOCI_RETURN_IF_ERROR(read(&magic, "magic"));
    if (const char* legacy = legacy_format_name(magic))
      return unsupported("GGUF " + f_.path_ + ": this is a legacy " + legacy +
                         " file, not GGUF; convert it with llama.cpp's tools first");
    if (magic != kMagicGguf) return fail(0, "bad magic: not a GGUF file");
    LOCI_RETURN_IF_ERROR(read(&f_.version_, "version"));
    const uint32_t v = f_.version_;
    if (v == 1)
      return unsupported("GGUF " + f_.path_ + ": GGUF version 1 (v1, 32-bit counts) is not supported; "
                         "re-convert the model to GGUF v3");
    if (v != 2 && v != 3) {
      if ((v & 0xffff) == 0 && (v >> 16) != 0)
        return unsupported("GGUF " + f_.path_ + ": big-endian GGUF (version " + std::to_string(__builtin_bswap32(v)) +
                           ") is not supported");
      return fail(4, "unknown GGUF version " + std::to_string(v) + " (loci reads versions 2 and 3)");
    }
    const uint64_t at = pos_;
    LOCI_RETURN_IF_ERROR(read(&n_tensors_, "tensor count"));
    if (n_tensors_ > GgufLimits::kMaxTensors)
      return fail(at, "tensor count " + std::to_string(n_tensors_) + " exceeds the limit of " +
                          std::to_string(GgufLimits::kMaxTensors));
    LOCI_RETURN_IF_ERROR(read(&n_kv_, "metadata count"));
    if (n_kv_ > GgufLimits::kMaxKvs)
      return fail(at + 8, "metadata count " + std::to_string(n_kv_) + " exceeds the limit of " +
                              std::to_string(GgufLimits::kMaxKvs));
    return Status::ok();
  }

  // --- metadata --------------------------------------------------------------
  Status kv(uint64_t index) {
    const uint64_t at = pos_;
    GgufKv kv;
    LOCI_RETURN_IF_ERROR(read_string(&kv.key, "key of metadata pair " + std::to_string(index), GgufLimits::kMaxKeyLength));
    if (kv.key.empty()) return fail(at, "metadata pair " + std::to_string(index) + " has an empty key");
    // The C ABI hands keys out as C strings: one cut at a NUL would hide or
    // shadow another key.
    if (kv.key.find('\0') != std::string_view::npos)
      return fail(at, "key of metadata pair " + std::to_string(index) + " contains a NUL byte");
    const std::string ctx = "key " + quote(kv.key);
    const uint64_t type_at = pos_;
    uint32_t type = 0;
    LOCI_RETURN_IF_ERROR(read(&type, ctx + ": type"));
    if (!valid_type(type)) return fail(type_at, ctx + ": unknown value type id " + std::to_string(type));
    kv.type = GgufType(type);
    kv.offset = pos_;
    if (kv.type == GgufType::kArray) {
      LOCI_RETURN_IF_ERROR(array(&kv, ctx));
    } else {
      LOCI_RETURN_IF_ERROR(scalar(kv.type, &kv, ctx));
    }
    kv.value_bytes = pos_ - kv.offset;
    if (!f_.kv_index_.emplace(kv.key, f_.kvs_.size()).second) return fail(at, ctx + " appears twice");
    f_.kvs_.push_back(kv);
    return Status::ok();
  }

  Status scalar(GgufType t, GgufKv* kv, const std::string& ctx) {
    switch (t) {
      case GgufType::kU8: return int_value<uint8_t>(kv, ctx);
      case GgufType::kI8: return int_value<int8_t>(kv, ctx);
      case GgufType::kU16: return int_value<uint16_t>(kv, ctx);
      case GgufType::kI16: return int_value<int16_t>(kv, ctx);
      case GgufType::kU32: return int_value<uint32_t>(kv, ctx);
      case GgufType::kI32: return int_value<int32_t>(kv, ctx);
      case GgufType::kU64: return int_value<uint64_t>(kv, ctx);
      case GgufType::kI64: return int_value<int64_t>(kv, ctx);
      case GgufType::kBool: return int_value<uint8_t>(kv, ctx);
      case GgufType::kF32: {
        float x = 0;
        LOCI_RETURN_IF_ERROR(read(&x, ctx + ": value"));
        kv->f = x;
        return Status::ok();
      }
      case GgufType::kF64: return read(&kv->f, ctx + ": value");
      case GgufType::kString: return read_string(&kv->str, ctx + ": string", GgufLimits::kMaxStringLength);
      default: return fail(pos_, ctx + ": unexpected type");
    }
  }

  template <typename T>
  Status int_value(GgufKv* kv, const std::string& ctx) {
    T x{};
    LOCI_RETURN_IF_ERROR(read(&x, ctx + ": value"));
    if constexpr (std::is_signed_v<T>) {
      kv->i = int64_t(x);
      kv->u = x < 0 ? 0 : uint64_t(x);
    } else {
      kv->u = uint64_t(x);
      kv->i = kv->u > uint64_t(std::numeric_limits<int64_t>::max()) ? std::numeric_limits<int64_t>::max()
                                                                     : int64_t(kv->u);
    }
    kv->f = double(x);
    return Status::ok();
  }

  Status array(GgufKv* kv, const std::string& ctx) {
    const uint64_t at = pos_;
    uint32_t elem = 0;
    LOCI_RETURN_IF_ERROR(read(&elem, ctx + ": array element type"));
    if (!valid_type(elem)) return fail(at, ctx + ": unknown array element type id " + std::to_string(elem));
    if (GgufType(elem) == GgufType::kArray) return fail(at, ctx + ": arrays of arrays are not supported");
    kv->elem_type = GgufType(elem);
    LOCI_RETURN_IF_ERROR(read(&kv->count, ctx + ": array length"));
    if (kv->count > GgufLimits::kMaxArrayLength)
      return fail(at + 4, ctx + ": array length " + std::to_string(kv->count) + " exceeds the limit of " +
                              std::to_string(GgufLimits::kMaxArrayLength));
    if (kv->elem_type == GgufType::kString) {
      // Vocabularies hold ~100k strings: check the common case without
      // building a message, and let read_string describe a failure.
      for (uint64_t i = 0; i < kv->count; ++i) {
        uint64_t len = 0;
        if (size_ - pos_ >= 8) std::memcpy(&len, base_ + pos_, 8);
        if (size_ - pos_ >= 8 && len <= GgufLimits::kMaxStringLength && len <= size_ - pos_ - 8) {
          pos_ += 8 + len;
          continue;
        }
        std::string_view s;
        LOCI_RETURN_IF_ERROR(read_string(&s, ctx + ": string " + std::to_string(i), GgufLimits::kMaxStringLength));
      }
      return Status::ok();
    }
    // count <= 2^24 and sizes <= 8: the product cannot overflow.
    const uint64_t bytes = kv->count * scalar_size(kv->elem_type);
    LOCI_RETURN_IF_ERROR(need(bytes, ctx + ": array of " + std::to_string(kv->count) + " " +
                                         gguf_type_name(kv->elem_type)));
    pos_ += bytes;
    return Status::ok();
  }

  Status alignment() {
    f_.alignment_ = kDefaultAlignment;
    auto it = f_.kv_index_.find("general.alignment");
    if (it == f_.kv_index_.end()) return Status::ok();
    const GgufKv& kv = f_.kvs_[it->second];
    const bool is_uint = kv.type == GgufType::kU8 || kv.type == GgufType::kU16 || kv.type == GgufType::kU32 ||
                         kv.type == GgufType::kU64;
    if (!is_uint) return fail(kv.offset, std::string("general.alignment has type ") + gguf_type_name(kv.type) +
                                             ", expected an unsigned integer");
    if (kv.u == 0 || (kv.u & (kv.u - 1)) != 0 || kv.u > GgufLimits::kMaxAlignment)
      return fail(kv.offset, "general.alignment " + std::to_string(kv.u) + " is not a power of two up to " +
                                 std::to_string(GgufLimits::kMaxAlignment));
    f_.alignment_ = kv.u;
    return Status::ok();
  }

  // --- tensors ---------------------------------------------------------------
  Status tensor_info(uint64_t index) {
    GgufTensor t;
    t.info_offset = pos_;
    LOCI_RETURN_IF_ERROR(
        read_string(&t.name, "name of tensor " + std::to_string(index), GgufLimits::kMaxTensorNameLength));
    if (t.name.empty()) return fail(t.info_offset, "tensor " + std::to_string(index) + " has an empty name");
    if (t.name.find('\0') != std::string_view::npos)
      return fail(t.info_offset, "name of tensor " + std::to_string(index) + " contains a NUL byte");
    const std::string ctx = "tensor " + quote(t.name);
    const uint64_t dims_at = pos_;
    uint32_t ndim = 0;
    LOCI_RETURN_IF_ERROR(read(&ndim, ctx + ": n_dims"));
    if (ndim < 1 || ndim > GgufLimits::kMaxDims)
      return fail(dims_at, ctx + ": n_dims " + std::to_string(ndim) + " is not between 1 and " +
                               std::to_string(GgufLimits::kMaxDims));
    t.ndim = int(ndim);
    int64_t elements = 1;
    for (uint32_t d = 0; d < ndim; ++d) {
      const uint64_t at = pos_;
      uint64_t n = 0;
      LOCI_RETURN_IF_ERROR(read(&n, ctx + ": dimension " + std::to_string(d)));
      if (n == 0 || n > uint64_t(std::numeric_limits<int64_t>::max()))
        return fail(at, ctx + ": dimension " + std::to_string(d) + " is " + std::to_string(n) +
                            (n == 0 ? " (empty tensor)" : " (too large)"));
      if (__builtin_mul_overflow(elements, int64_t(n), &elements))
        return fail(at, ctx + ": the product of its dimensions overflows");
      t.ne[d] = int64_t(n);
    }
    const uint64_t type_at = pos_;
    uint32_t type_id = 0;
    LOCI_RETURN_IF_ERROR(read(&type_id, ctx + ": type"));
    const DTypeInfo* info = dtype_info_from_gguf_id(type_id);
    if (!info) return fail(type_at, ctx + ": unknown or unsupported tensor type id " + std::to_string(type_id));
    t.dtype = info->dtype;
    if (uint64_t(t.ne[0]) % info->block_elems != 0)
      return fail(t.info_offset, ctx + ": row length " + std::to_string(t.ne[0]) + " is not a multiple of " +
                                     info->name + "'s block size " + std::to_string(info->block_elems));
    LOCI_RETURN_IF_ERROR(tensor_bytes(&t, *info, ctx));
    const uint64_t off_at = pos_;
    LOCI_RETURN_IF_ERROR(read(&t.data_offset, ctx + ": data offset"));
    if (t.data_offset % f_.alignment_ != 0)
      return fail(off_at, ctx + ": data offset " + std::to_string(t.data_offset) + " is not a multiple of the alignment " +
                              std::to_string(f_.alignment_));
    if (!f_.tensor_index_.emplace(t.name, f_.tensors_.size()).second)
      return fail(t.info_offset, ctx + " appears twice");
    f_.tensors_.push_back(t);
    return Status::ok();
  }

  Status tensor_bytes(GgufTensor* t, const DTypeInfo& info, const std::string& ctx) {
    const uint64_t blocks_per_row = uint64_t(t->ne[0]) / info.block_elems;
    uint64_t row = 0, bytes = 0;
    const uint64_t rows = uint64_t(t->ne[1]) * uint64_t(t->ne[2]) * uint64_t(t->ne[3]);  // <= elements: no overflow
    if (__builtin_mul_overflow(blocks_per_row, uint64_t(info.block_bytes), &row) ||
        __builtin_mul_overflow(row, rows, &bytes) || bytes > size_)
      return fail(t->info_offset, ctx + ": its data size is larger than the file");
    t->bytes = size_t(bytes);
    TensorView& v = t->view;
    v.dtype = t->dtype;
    v.ndim = t->ndim;
    for (int d = 0; d < kMaxDims; ++d) v.ne[d] = t->ne[d];
    v.nb[0] = info.block_bytes;
    v.nb[1] = size_t(row);
    for (int d = 2; d < kMaxDims; ++d) v.nb[d] = v.nb[d - 1] * size_t(v.ne[d - 1]);  // <= bytes
    return Status::ok();
  }

  // The data section starts at the next multiple of the alignment; every
  // tensor lies inside the file and no two overlap.
  Status data_section() {
    const uint64_t a = f_.alignment_;
    const uint64_t start = (pos_ + a - 1) / a * a;  // pos_ <= size_ < 2^63: no overflow
    f_.data_offset_ = start;
    if (f_.tensors_.empty()) return Status::ok();
    if (start > size_) return fail(pos_, "the tensor data section starts past the end of the file");
    std::vector<size_t> order(f_.tensors_.size());
    for (size_t i = 0; i < order.size(); ++i) order[i] = i;
    for (GgufTensor& t : f_.tensors_) {
      const std::string ctx = "tensor " + quote(t.name);
      if (t.data_offset > size_ - start || t.bytes > size_ - start - t.data_offset)
        return fail(t.info_offset, ctx + ": data [" + std::to_string(t.data_offset) + ", +" + std::to_string(t.bytes) +
                                       ") of the data section at " + std::to_string(start) +
                                       " runs past the end of the file (" + std::to_string(size_) + " bytes)");
      t.data_offset += start;
      t.view.data = const_cast<uint8_t*>(base_ + t.data_offset);  // read-only mapping; views never write weights
    }
    std::sort(order.begin(), order.end(),
              [&](size_t x, size_t y) { return f_.tensors_[x].data_offset < f_.tensors_[y].data_offset; });
    for (size_t i = 1; i < order.size(); ++i) {
      const GgufTensor& prev = f_.tensors_[order[i - 1]];
      const GgufTensor& cur = f_.tensors_[order[i]];
      if (prev.data_offset + prev.bytes > cur.data_offset)
        return fail(cur.info_offset, "tensors " + quote(prev.name) + " and " + quote(cur.name) + " overlap");
    }
    return Status::ok();
  }

  GgufFile& f_;
  const uint8_t* base_;
  uint64_t size_;
  uint64_t pos_ = 0;
  uint64_t n_tensors_ = 0;
  uint64_t n_kv_ = 0;
};

Result<std::shared_ptr<const GgufFile>> GgufFile::open(const std::string& path) {
  return detail::bad_alloc_as_status("GGUF open", [&]() -> Result<std::shared_ptr<const GgufFile>> {
    LOCI_ASSIGN_OR_RETURN(auto map, detail::MappedFile::open(path));
    std::shared_ptr<GgufFile> f(new (std::nothrow) GgufFile());
    auto image = std::unique_ptr<Image>(new (std::nothrow) Image());
    if (!f || !image) return out_of_memory("GGUF " + path);
    f->path_ = path;
    f->base_ = map->data();
    f->size_ = map->size();
    image->map = std::move(map);
    f->image_ = std::move(image);
    LOCI_RETURN_IF_ERROR(Parser(*f).run());
    return std::shared_ptr<const GgufFile>(std::move(f));
  });
}

Status GgufFile::check_unchanged() const {
  return image_ && image_->map ? image_->map->check_unchanged() : Status::ok();
}

Result<std::shared_ptr<const GgufFile>> GgufFile::build(size_t size, const std::function<Status(void* dst)>& write) {
  return detail::bad_alloc_as_status("GGUF build", [&]() -> Result<std::shared_ptr<const GgufFile>> {
    if (size > SIZE_MAX - kKernelPadding) return out_of_range("GGUF build: image too large");
    std::shared_ptr<GgufFile> f(new (std::nothrow) GgufFile());
    auto image = std::unique_ptr<Image>(new (std::nothrow) Image());
    if (!f || !image) return out_of_memory("GGUF build");
    image->owned = aligned_alloc_or_null(size + kKernelPadding);
    if (!image->owned) return out_of_memory("GGUF build: an image of " + std::to_string(size) + " bytes");
    detail::advise_huge_pages(image->owned, size);  // decoding streams the whole image
    std::memset(static_cast<uint8_t*>(image->owned) + size, 0, kKernelPadding);
    LOCI_RETURN_IF_ERROR(write(image->owned));
    f->path_ = "<memory>";
    f->base_ = static_cast<const uint8_t*>(image->owned);
    f->size_ = size;
    f->image_ = std::move(image);
    LOCI_RETURN_IF_ERROR(Parser(*f).run());
    return std::shared_ptr<const GgufFile>(std::move(f));
  });
}

Result<std::shared_ptr<const GgufFile>> GgufFile::parse(const void* data, size_t size) {
  if (!data && size) return invalid_argument("GGUF parse: null data");
  return build(size, [&](void* dst) {
    if (size) std::memcpy(dst, data, size);
    return Status::ok();
  });
}

Result<std::shared_ptr<const GgufFile>> GgufFile::borrow(const void* data, size_t size) {
  return detail::bad_alloc_as_status("GGUF borrow", [&]() -> Result<std::shared_ptr<const GgufFile>> {
    if (!data) return invalid_argument("GGUF buffer: null data");
    if (size > SIZE_MAX - kKernelPadding) return out_of_range("GGUF buffer: image too large");
    std::shared_ptr<GgufFile> f(new (std::nothrow) GgufFile());
    if (!f) return out_of_memory("GGUF buffer");
    f->path_ = "<buffer>";
    f->base_ = static_cast<const uint8_t*>(data);
    f->size_ = size;
    LOCI_RETURN_IF_ERROR(Parser(*f).run());
    // Tensor offsets are aligned within the file, so the buffer must be too.
    if (reinterpret_cast<uintptr_t>(data) % f->alignment_)
      return invalid_argument("GGUF buffer: address is not aligned to the file's alignment of " +
                              std::to_string(f->alignment_) + " bytes");
    return std::shared_ptr<const GgufFile>(std::move(f));
  });
}

GgufFile::~GgufFile() = default;

}  // namespace loci
