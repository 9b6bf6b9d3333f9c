// Fuzz target: the GGUF reader, from bytes to a validated model description.
// parse() must refuse or accept without touching memory outside the input;
// what it accepts must hold the invariants the rest of loci relies on (every
// tensor inside the image, no overlaps, sizes that match the shapes, strings
// inside the file), borrow() must agree with parse(), and the typed getters
// and the model description (hyperparameters, weight binding, tokenizer,
// session plan, via estimate_memory) must only ever return errors.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "fuzz_check.h"
#include "loci/gguf.h"
#include "loci/model.h"
#include "loci/tensor.h"

using namespace loci;

namespace {

bool inside(const void* p, size_t n, const GgufFile& f, const uint8_t* base) {
  const auto* b = static_cast<const uint8_t*>(p);
  return b >= base && n <= f.file_size() && size_t(b - base) <= f.file_size() - n;
}

// parse() reads a copy of the input: find that image's first byte from
// where a key or a tensor landed, and check both ways agree.
const uint8_t* image_base(const GgufFile& f) {
  const uint8_t* from_kv = nullptr;
  const uint8_t* from_tensor = nullptr;
  if (!f.kvs().empty()) {
    const GgufKv& kv = f.kvs()[0];  // key, then a 4-byte type id, then the value
    from_kv = reinterpret_cast<const uint8_t*>(kv.key.data()) + kv.key.size() + 4 - kv.offset;
  }
  if (!f.tensors().empty())
    from_tensor = static_cast<const uint8_t*>(f.tensors()[0].view.data) - f.tensors()[0].data_offset;
  FUZZ_CHECK(!from_kv || !from_tensor || from_kv == from_tensor, "keys and tensors point into different images");
  return from_kv ? from_kv : from_tensor;
}

// What every accepted file promises its users.
void check_tensors(const GgufFile& f, const uint8_t* base) {
  uint64_t total = 0;
  for (const GgufTensor& t : f.tensors()) {
    const DTypeInfo* info = dtype_info(t.dtype);
    FUZZ_CHECK(info != nullptr, "tensor with unknown dtype");
    FUZZ_CHECK(t.ndim >= 1 && t.ndim <= 4, "ndim %d", t.ndim);
    FUZZ_CHECK(!t.name.empty() && t.name.size() <= GgufLimits::kMaxTensorNameLength, "bad name length");
    FUZZ_CHECK(inside(t.name.data(), t.name.size(), f, base), "name outside the file");
    FUZZ_CHECK(t.name.find('\0') == std::string_view::npos, "a tensor name holds a NUL byte");
    uint64_t elems = 1;
    for (int d = 0; d < 4; ++d) {
      FUZZ_CHECK(t.ne[d] >= 1, "ne[%d] = %lld", d, (long long)t.ne[d]);
      FUZZ_CHECK(!__builtin_mul_overflow(elems, uint64_t(t.ne[d]), &elems), "element count overflows");
      FUZZ_CHECK(d < t.ndim || t.ne[d] == 1, "unused dim %d is %lld", d, (long long)t.ne[d]);
    }
    FUZZ_CHECK(uint64_t(t.ne[0]) % info->block_elems == 0, "partial block");
    FUZZ_CHECK(t.bytes == elems / info->block_elems * info->block_bytes, "bytes %zu do not match the shape", t.bytes);
    FUZZ_CHECK(t.data_offset >= f.data_offset() && t.data_offset % f.alignment() == 0, "bad data offset");
    FUZZ_CHECK(t.view.data == base + t.data_offset, "view does not point at the data");
    FUZZ_CHECK(inside(t.view.data, t.bytes, f, base), "tensor data outside the file");
    FUZZ_CHECK(t.view.nb[1] * size_t(t.ne[1]) * size_t(t.ne[2]) * size_t(t.ne[3]) == t.bytes, "strides disagree");
    total += t.bytes;
  }
  FUZZ_CHECK(total <= f.file_size(), "tensors (no overlaps) exceed the file");
  FUZZ_CHECK(f.tensor_bytes() == total, "tensor_bytes()");
  for (const GgufTensor& t : f.tensors()) FUZZ_CHECK(f.find_tensor(t.name) == &t, "find_tensor");
}

// Every getter on every key: errors are fine, reads outside the file are not.
void read_all_metadata(const GgufFile& f, const uint8_t* base) {
  for (const GgufKv& kv : f.kvs()) {
    FUZZ_CHECK(!kv.key.empty() && inside(kv.key.data(), kv.key.size(), f, base), "key outside the file");
    FUZZ_CHECK(f.find(kv.key) == &kv, "find");
    FUZZ_CHECK(kv.key.find('\0') == std::string_view::npos, "a key holds a NUL byte");
    if (kv.type == GgufType::kString)
      FUZZ_CHECK(kv.str.empty() || inside(kv.str.data(), kv.str.size(), f, base), "string outside the file");
    (void)f.get_int(kv.key);
    (void)f.get_u32(kv.key);
    (void)f.get_float(kv.key);
    (void)f.get_bool(kv.key, false);
    (void)f.get_string(kv.key);
    if (auto v = f.get_string_array(kv.key)) {
      FUZZ_CHECK(v->size() == kv.count, "string array length");
      for (std::string_view s : *v) FUZZ_CHECK(s.empty() || inside(s.data(), s.size(), f, base), "element outside");
    }
    if (auto v = f.get_f32_array(kv.key)) FUZZ_CHECK(v->size() == kv.count, "f32 array length");
    if (auto v = f.get_i32_array(kv.key)) FUZZ_CHECK(v->size() == kv.count, "i32 array length");
  }
}

// borrow() on an aligned, padded copy must see exactly what parse() saw.
void check_borrow_agrees(const uint8_t* data, size_t size, const GgufFile& parsed) {
  const fuzz::AlignedCopy copy(data, size, size_t(parsed.alignment()), kKernelPadding);
  FUZZ_CHECK(copy.data() != nullptr, "allocation");
  auto b = GgufFile::borrow(copy.data(), size);
  FUZZ_CHECK(b.is_ok(), "borrow refused what parse accepted: %s", b.status().to_string().c_str());
  const GgufFile& f = **b;
  FUZZ_CHECK(f.kvs().size() == parsed.kvs().size() && f.tensors().size() == parsed.tensors().size(), "counts");
  FUZZ_CHECK(f.alignment() == parsed.alignment() && f.data_offset() == parsed.data_offset(), "layout");
  for (size_t i = 0; i < f.tensors().size(); ++i)
    FUZZ_CHECK(f.tensors()[i].data_offset == parsed.tensors()[i].data_offset &&
                   f.tensors()[i].bytes == parsed.tensors()[i].bytes,
               "tensor %zu differs", i);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  auto parsed = GgufFile::parse(data, size);
  if (!parsed) {
    FUZZ_CHECK(fuzz::is_refusal(parsed.status()), "parse: %s", parsed.status().to_string().c_str());
    FUZZ_CHECK(!parsed.status().message().empty(), "empty message");
    return 0;
  }
  const GgufFile& f = **parsed;
  FUZZ_CHECK(f.file_size() == size, "file_size");
  const uint8_t* base = image_base(f);
  if (base) {
    check_tensors(f, base);
    read_all_metadata(f, base);
  }
  check_borrow_agrees(data, size, f);

  // The model description: small options so the plan stays cheap.
  SessionOptions o;
  o.n_ctx = 8;
  o.n_batch = 4;
  o.n_threads = 1;
  auto est = estimate_memory(f, o);
  if (est) {
    FUZZ_CHECK(est->weights_mapped <= size, "weights_mapped %llu > file", (unsigned long long)est->weights_mapped);
  } else {
    const StatusCode c = est.status().code();
    FUZZ_CHECK(fuzz::is_refusal(est.status()) || c == StatusCode::kOutOfRange,
               "estimate_memory: %s", est.status().to_string().c_str());
  }
  return 0;
}
