#include "support/gguf_writer.h"

#include <stdlib.h>  // mkstemp, mkdtemp
#include <unistd.h>  // close

#include <cctype>
#include <cstdio>
#include <filesystem>
#include <system_error>

#include "support/test_support.h"

namespace loci::test {
namespace {

constexpr uint64_t kDefaultAlignment = 32;
constexpr uint64_t kMaxPadAlignment = 1u << 16;  // keeps a test's absurd alignment from padding gigabytes

// An append-only byte buffer that writes counts in the layout's width.
class Out {
 public:
  explicit Out(GgufLayout layout) : wide_(layout == GgufLayout::kV2) {}

  uint64_t pos() const { return bytes.size(); }
  void u32(uint32_t v) { append(le_bytes(v)); }
  void u64(uint64_t v) { append(le_bytes(v)); }
  // Counts, lengths and dims: 64-bit, or (v1) the low 32 bits.
  void count(uint64_t n) { wide_ ? u64(n) : u32(uint32_t(n)); }
  void append(const std::vector<uint8_t>& b) { bytes.insert(bytes.end(), b.begin(), b.end()); }
  void chars(std::string_view s) { bytes.insert(bytes.end(), s.begin(), s.end()); }
  void zeros_until(uint64_t at) {
    if (at > pos()) bytes.resize(size_t(at), 0);
  }

  std::vector<uint8_t> bytes;

 private:
  bool wide_;
};

uint64_t round_up(uint64_t x, uint64_t a) { return (x + a - 1) / a * a; }

void write_value(Out& o, const GgufValue& v) {
  if (v.raw) {
    o.append(*v.raw);
    return;
  }
  if (v.type == gguf_type::kString) {
    o.count(v.length.value_or(v.bytes.size()));
    o.append(v.bytes);
    return;
  }
  if (v.type == gguf_type::kArray) {
    o.u32(v.elem_type);
    o.count(v.length.value_or(v.items.size()));
    for (const std::vector<uint8_t>& item : v.items) {
      if (v.elem_type == gguf_type::kString) o.count(item.size());
      o.append(item);
    }
    return;
  }
  o.append(v.bytes);  // scalars, and whatever bytes a test gave an unknown type id
}

GgufValue scalar(uint32_t type, std::vector<uint8_t> bytes) {
  GgufValue v;
  v.type = type;
  v.bytes = std::move(bytes);
  return v;
}

std::filesystem::path temp_dir() {
  std::error_code ec;
  std::filesystem::path p = std::filesystem::temp_directory_path(ec);
  return ec ? std::filesystem::path("/tmp") : p;
}

// "loci-<tag>-XXXXXX" in the temp dir, with anything but [A-Za-z0-9._-] in the tag replaced.
std::string temp_template(std::string_view tag) {
  std::string clean;
  for (char c : tag) clean += (std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '_' || c == '-') ? c : '_';
  return (temp_dir() / ("loci-" + clean + "-XXXXXX")).string();
}

}  // namespace

GgufWriter GgufWriter::tiny_model(std::mt19937_64& g) {
  GgufWriter w;
  w.add_string("general.architecture", "llama");
  w.add_string("general.name", "tiny");
  w.add_u32("llama.context_length", 64);
  w.add_f32("llama.attention.layer_norm_rms_epsilon", 1e-5f);
  w.add_string_array("tokenizer.ggml.tokens", {"<unk>", "<s>", "</s>", "a"});
  w.add_tensor("token_embd.weight", DType::F32, {8, 4}, random_bytes(g, 8 * 4 * 4));
  w.add_tensor("output_norm.weight", DType::F32, {8}, random_bytes(g, 8 * 4));
  w.add_tensor("blk.0.ffn_down.weight", DType::Q8_0, {64, 3}, random_bytes(g, 2 * sizeof(BlockQ8_0) * 3));
  return w;
}

void GgufWriter::make_v1() {
  version = 1;
  layout = GgufLayout::kV1;
}

GgufWriterKv& GgufWriter::add_u8(std::string key, uint8_t v) { return add_value(std::move(key), scalar(gguf_type::kU8, le_bytes(v))); }
GgufWriterKv& GgufWriter::add_i8(std::string key, int8_t v) { return add_value(std::move(key), scalar(gguf_type::kI8, le_bytes(v))); }
GgufWriterKv& GgufWriter::add_u16(std::string key, uint16_t v) { return add_value(std::move(key), scalar(gguf_type::kU16, le_bytes(v))); }
GgufWriterKv& GgufWriter::add_i16(std::string key, int16_t v) { return add_value(std::move(key), scalar(gguf_type::kI16, le_bytes(v))); }
GgufWriterKv& GgufWriter::add_u32(std::string key, uint32_t v) { return add_value(std::move(key), scalar(gguf_type::kU32, le_bytes(v))); }
GgufWriterKv& GgufWriter::add_i32(std::string key, int32_t v) { return add_value(std::move(key), scalar(gguf_type::kI32, le_bytes(v))); }
GgufWriterKv& GgufWriter::add_u64(std::string key, uint64_t v) { return add_value(std::move(key), scalar(gguf_type::kU64, le_bytes(v))); }
GgufWriterKv& GgufWriter::add_i64(std::string key, int64_t v) { return add_value(std::move(key), scalar(gguf_type::kI64, le_bytes(v))); }
GgufWriterKv& GgufWriter::add_f32(std::string key, float v) { return add_value(std::move(key), scalar(gguf_type::kF32, le_bytes(v))); }
GgufWriterKv& GgufWriter::add_f64(std::string key, double v) { return add_value(std::move(key), scalar(gguf_type::kF64, le_bytes(v))); }
GgufWriterKv& GgufWriter::add_bool(std::string key, bool v) {
  return add_value(std::move(key), scalar(gguf_type::kBool, {uint8_t(v ? 1 : 0)}));
}

GgufWriterKv& GgufWriter::add_string(std::string key, std::string_view v) {
  return add_value(std::move(key), scalar(gguf_type::kString, std::vector<uint8_t>(v.begin(), v.end())));
}

GgufWriterKv& GgufWriter::add_string_array(std::string key, const std::vector<std::string>& v) {
  GgufValue val;
  val.type = gguf_type::kArray;
  val.elem_type = gguf_type::kString;
  for (const std::string& s : v) val.items.emplace_back(s.begin(), s.end());
  return add_value(std::move(key), std::move(val));
}

GgufWriterKv& GgufWriter::add_value(std::string key, GgufValue v) {
  kvs.push_back(GgufWriterKv{std::move(key), std::move(v), std::nullopt});
  return kvs.back();
}

GgufWriterTensor& GgufWriter::add_tensor(std::string name, DType dtype, std::vector<uint64_t> dims,
                                         std::vector<uint8_t> data) {
  if (data.empty()) {
    uint64_t rows = 1;
    for (size_t d = 1; d < dims.size(); ++d) rows *= dims[d];
    const std::optional<size_t> row = dtype_row_bytes(dtype, dims.empty() ? 1 : size_t(dims[0]));
    if (row) data.assign(size_t(*row * rows), 0);
  }
  GgufWriterTensor t;
  t.name = std::move(name);
  t.dims = std::move(dims);
  t.dtype = uint32_t(dtype);
  t.data = std::move(data);
  tensors.push_back(std::move(t));
  return tensors.back();
}

GgufWriterKv* GgufWriter::kv(std::string_view key) {
  for (GgufWriterKv& kv : kvs)
    if (kv.key == key) return &kv;
  return nullptr;
}

uint64_t GgufWriter::data_alignment() const {
  if (pad_alignment) return *pad_alignment ? *pad_alignment : 1;
  for (const GgufWriterKv& kv : kvs) {
    if (kv.key != "general.alignment" || kv.value.raw) continue;
    const uint32_t t = kv.value.type;
    if (t != gguf_type::kU8 && t != gguf_type::kU16 && t != gguf_type::kU32 && t != gguf_type::kU64) break;
    uint64_t a = 0;
    for (size_t i = 0; i < kv.value.bytes.size() && i < 8; ++i) a |= uint64_t(kv.value.bytes[i]) << (8 * i);
    if (a >= 1 && a <= kMaxPadAlignment) return a;
    break;
  }
  return kDefaultAlignment;
}

GgufImage GgufWriter::build() const {
  GgufImage img;
  Out o(layout);
  o.u32(magic);
  o.u32(version);
  img.n_tensors_offset = o.pos();
  o.count(n_tensors.value_or(tensors.size()));
  img.n_kv_offset = o.pos();
  o.count(n_kv.value_or(kvs.size()));

  for (const GgufWriterKv& kv : kvs) {
    img.kv_offsets.push_back(o.pos());
    o.count(kv.key_length.value_or(kv.key.size()));
    o.chars(kv.key);
    o.u32(kv.value.type);
    img.kv_value_offsets.push_back(o.pos());
    write_value(o, kv.value);
  }

  // Place the data first, so the infos can carry the true offsets.
  const uint64_t a = data_alignment();
  std::vector<uint64_t> placed;
  uint64_t at = 0;
  for (const GgufWriterTensor& t : tensors) {
    at = round_up(at, a);
    placed.push_back(at);
    at += t.data.size();
  }

  for (size_t i = 0; i < tensors.size(); ++i) {
    const GgufWriterTensor& t = tensors[i];
    img.tensor_info_offsets.push_back(o.pos());
    o.count(t.name_length.value_or(t.name.size()));
    o.chars(t.name);
    o.u32(t.n_dims.value_or(uint32_t(t.dims.size())));
    for (uint64_t d : t.dims) o.count(d);
    img.tensor_dtype_offsets.push_back(o.pos());
    o.u32(t.dtype);
    img.tensor_offset_offsets.push_back(o.pos());
    o.u64(t.offset.value_or(placed[i]));  // 64-bit in every version
  }

  img.data_offset = round_up(o.pos(), a);
  o.zeros_until(img.data_offset);
  for (size_t i = 0; i < tensors.size(); ++i) {
    img.tensor_data.push_back(img.data_offset + placed[i]);
    o.zeros_until(img.tensor_data.back());
    o.append(tensors[i].data);
  }
  img.data_end = o.pos();
  if (pad_tail && !tensors.empty()) o.zeros_until(round_up(o.pos(), a));
  img.bytes = std::move(o.bytes);
  return img;
}

bool write_file(const std::string& path, const std::vector<uint8_t>& bytes) {
  FILE* f = std::fopen(path.c_str(), "wb");
  if (!f) return false;
  const bool wrote = bytes.empty() || std::fwrite(bytes.data(), 1, bytes.size(), f) == bytes.size();
  return std::fclose(f) == 0 && wrote;
}

TempFile::TempFile(const std::vector<uint8_t>& bytes, std::string_view tag) {
  std::string name = temp_template(tag);
  const int fd = mkstemp(name.data());
  if (fd < 0) return;
  close(fd);
  path_ = name;
  ok_ = write_file(path_, bytes);
}

TempFile::~TempFile() {
  if (!path_.empty()) std::remove(path_.c_str());
}

TempDir::TempDir(std::string_view tag) {
  std::string name = temp_template(tag);
  if (mkdtemp(name.data())) path_ = name;
}

TempDir::~TempDir() {
  std::error_code ec;
  if (!path_.empty()) std::filesystem::remove_all(path_, ec);
}

std::string TempDir::write(const std::string& name, const std::vector<uint8_t>& bytes) const {
  if (path_.empty()) return "";
  const std::string p = (std::filesystem::path(path_) / name).string();
  return write_file(p, bytes) ? p : "";
}

}  // namespace loci::test
