// Typed access to GGUF metadata, with the type checks and conversions the
// model and tokenizer loaders need.
#include <cstring>
#include <limits>

#include "loci/gguf.h"

namespace loci {
namespace {

bool is_int(GgufType t) {
  switch (t) {
    case GgufType::kU8: case GgufType::kI8: case GgufType::kU16: case GgufType::kI16:
    case GgufType::kU32: case GgufType::kI32: case GgufType::kU64: case GgufType::kI64:
      return true;
    default:
      return false;
  }
}

Status wrong_type(const GgufFile& f, const GgufKv& kv, const char* want) {
  std::string have = gguf_type_name(kv.type);
  if (kv.type == GgufType::kArray) have = std::string("array of ") + gguf_type_name(kv.elem_type);
  return invalid_model("GGUF " + f.path() + ": key '" + std::string(kv.key) + "' has type " + have + ", expected " +
                       want + " (at offset " + std::to_string(kv.offset) + ")");
}

Status missing(const GgufFile& f, std::string_view key) {
  return invalid_model("GGUF " + f.path() + ": required key '" + std::string(key) + "' is missing");
}

// Element i of a fixed-size array, widened (the file's bytes may be unaligned).
int64_t int_element(const uint8_t* p, GgufType t, uint64_t i, bool* in_range) {
  *in_range = true;
  auto load = [&](auto tag) {
    decltype(tag) x;
    std::memcpy(&x, p + i * sizeof(x), sizeof(x));
    return x;
  };
  switch (t) {
    case GgufType::kU8: return load(uint8_t{});
    case GgufType::kI8: return load(int8_t{});
    case GgufType::kU16: return load(uint16_t{});
    case GgufType::kI16: return load(int16_t{});
    case GgufType::kU32: return load(uint32_t{});
    case GgufType::kI32: return load(int32_t{});
    case GgufType::kI64: return load(int64_t{});
    case GgufType::kU64: {
      const uint64_t x = load(uint64_t{});
      *in_range = x <= uint64_t(std::numeric_limits<int64_t>::max());
      return int64_t(x & uint64_t(std::numeric_limits<int64_t>::max()));
    }
    default: *in_range = false; return 0;
  }
}

}  // namespace

const GgufKv* GgufFile::find(std::string_view key) const {
  auto it = kv_index_.find(key);
  return it == kv_index_.end() ? nullptr : &kvs_[it->second];
}

const GgufTensor* GgufFile::find_tensor(std::string_view name) const {
  auto it = tensor_index_.find(name);
  return it == tensor_index_.end() ? nullptr : &tensors_[it->second];
}

std::string_view GgufFile::raw_value(const GgufKv& kv) const {
  // The parser checked [offset, offset + value_bytes) against the image.
  return {reinterpret_cast<const char*>(base_ + kv.offset), size_t(kv.value_bytes)};
}

uint64_t GgufFile::tensor_bytes() const {
  uint64_t total = 0;
  for (const GgufTensor& t : tensors_) total += t.bytes;  // each inside the file, no overlaps: <= size_
  return total;
}

Result<int64_t> GgufFile::get_int(std::string_view key) const {
  const GgufKv* kv = find(key);
  if (!kv) return missing(*this, key);
  if (!is_int(kv->type)) return wrong_type(*this, *kv, "an integer");
  if (kv->type == GgufType::kU64 && kv->u > uint64_t(std::numeric_limits<int64_t>::max()))
    return invalid_model("GGUF " + path_ + ": key '" + std::string(key) + "' value " + std::to_string(kv->u) +
                         " is out of range (at offset " + std::to_string(kv->offset) + ")");
  return kv->i;
}

Result<int64_t> GgufFile::get_int(std::string_view key, int64_t fallback) const {
  if (!find(key)) return fallback;
  return get_int(key);
}

Result<uint32_t> GgufFile::get_u32(std::string_view key) const {
  LOCI_ASSIGN_OR_RETURN(const int64_t v, get_int(key));
  if (v < 0 || v > int64_t(std::numeric_limits<uint32_t>::max()))
    return invalid_model("GGUF " + path_ + ": key '" + std::string(key) + "' value " + std::to_string(v) +
                         " is not a 32-bit unsigned value (at offset " + std::to_string(find(key)->offset) + ")");
  return uint32_t(v);
}

Result<uint32_t> GgufFile::get_u32(std::string_view key, uint32_t fallback) const {
  if (!find(key)) return fallback;
  return get_u32(key);
}

Result<double> GgufFile::get_float(std::string_view key) const {
  const GgufKv* kv = find(key);
  if (!kv) return missing(*this, key);
  if (kv->type != GgufType::kF32 && kv->type != GgufType::kF64 && !is_int(kv->type))
    return wrong_type(*this, *kv, "a number");
  return kv->f;
}

Result<double> GgufFile::get_float(std::string_view key, double fallback) const {
  if (!find(key)) return fallback;
  return get_float(key);
}

Result<bool> GgufFile::get_bool(std::string_view key, bool fallback) const {
  const GgufKv* kv = find(key);
  if (!kv) return fallback;
  if (kv->type != GgufType::kBool) return wrong_type(*this, *kv, "bool");
  return kv->i != 0;
}

Result<std::string_view> GgufFile::get_string(std::string_view key) const {
  const GgufKv* kv = find(key);
  if (!kv) return missing(*this, key);
  if (kv->type != GgufType::kString) return wrong_type(*this, *kv, "string");
  return kv->str;
}

Result<std::string_view> GgufFile::get_string(std::string_view key, std::string_view fallback) const {
  if (!find(key)) return fallback;
  return get_string(key);
}

Result<std::vector<std::string_view>> GgufFile::get_string_array(std::string_view key) const {
  const GgufKv* kv = find(key);
  if (!kv) return missing(*this, key);
  if (kv->type != GgufType::kArray || kv->elem_type != GgufType::kString)
    return wrong_type(*this, *kv, "array of string");
  std::vector<std::string_view> out;
  out.reserve(size_t(kv->count));
  // Already validated by the parser: element type, count, then (length, bytes) pairs.
  uint64_t pos = kv->offset + 4 + 8;
  for (uint64_t i = 0; i < kv->count; ++i) {
    uint64_t len = 0;
    std::memcpy(&len, base_ + pos, 8);
    out.emplace_back(reinterpret_cast<const char*>(base_ + pos + 8), size_t(len));
    pos += 8 + len;
  }
  return out;
}

Result<std::vector<float>> GgufFile::get_f32_array(std::string_view key) const {
  const GgufKv* kv = find(key);
  if (!kv) return missing(*this, key);
  if (kv->type != GgufType::kArray || kv->elem_type != GgufType::kF32) return wrong_type(*this, *kv, "array of f32");
  std::vector<float> out(size_t(kv->count));
  if (!out.empty()) std::memcpy(out.data(), base_ + kv->offset + 12, out.size() * sizeof(float));
  return out;
}

Result<std::vector<int32_t>> GgufFile::get_i32_array(std::string_view key) const {
  const GgufKv* kv = find(key);
  if (!kv) return missing(*this, key);
  if (kv->type != GgufType::kArray || !is_int(kv->elem_type)) return wrong_type(*this, *kv, "array of integers");
  std::vector<int32_t> out(size_t(kv->count));
  const uint8_t* p = base_ + kv->offset + 12;
  for (uint64_t i = 0; i < kv->count; ++i) {
    bool ok = false;
    const int64_t x = int_element(p, kv->elem_type, i, &ok);
    if (!ok || x < std::numeric_limits<int32_t>::min() || x > std::numeric_limits<int32_t>::max())
      return invalid_model("GGUF " + path_ + ": key '" + std::string(key) + "' element " + std::to_string(i) +
                           " does not fit in 32 bits (at offset " + std::to_string(kv->offset) + ")");
    out[size_t(i)] = int32_t(x);
  }
  return out;
}

}  // namespace loci
