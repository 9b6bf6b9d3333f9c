#include "support/cve_corpus.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <random>
#include <string_view>

#include "loci/quant.h"

namespace loci::test {
namespace {

constexpr uint64_t kU64Max = std::numeric_limits<uint64_t>::max();
constexpr uint32_t kEmbd = 32, kFf = 64, kHeadDim = 16;  // two query heads, one KV head

// --- the tiny models ---------------------------------------------------------

struct Token {
  std::string text;
  int32_t type;  // GGUF token_type
};

// SPM: specials, byte tokens, pieces with "▁" (U+2581), an end-of-turn token
// found by its text, a user-defined and an unused token.
const std::vector<Token>& spm_tokens() {
  static const std::vector<Token> t = {
      {"<unk>", 2},  {"<s>", 3},    {"</s>", 3},           {"<0x0A>", 6},  {"<0x41>", 6},    {"<0xE2>", 6},
      {"\xE2\x96\x81", 1}, {"a", 1}, {"b", 1},             {"c", 1},       {"\xE2\x96\x81" "a", 1},
      {"ab", 1},     {"\xE2\x96\x81" "ab", 1}, {"<|im_end|>", 3}, {"<tool>", 4}, {"<unused0>", 5},
  };
  return t;
}

// Byte-level BPE: "Ġ" (U+0120) is the space, "Ċ" (U+010A) the newline.
const std::vector<Token>& bpe_tokens() {
  static const std::vector<Token> t = {
      {"a", 1},  {"b", 1},  {"c", 1},  {"\xC4\xA0", 1}, {"ab", 1}, {"\xC4\xA0" "a", 1}, {"\xC4\xA0" "ab", 1},
      {"\xC4\x8A", 1}, {"!", 1}, {"abc", 1}, {"<|endoftext|>", 3}, {"<|im_start|>", 3}, {"<|im_end|>", 3},
      {"<tool>", 4}, {"x", 1}, {"y", 1},
  };
  return t;
}
const std::vector<std::string> kBpeMerges = {"a b", "\xC4\xA0 a", "\xC4\xA0" "a b", "ab c"};

std::vector<std::string> texts(const std::vector<Token>& v) {
  std::vector<std::string> out;
  for (const Token& t : v) out.push_back(t.text);
  return out;
}
std::vector<int32_t> types(const std::vector<Token>& v) {
  std::vector<int32_t> out;
  for (const Token& t : v) out.push_back(t.type);
  return out;
}

// `n` values in [lo, hi) stored as `dtype`.
std::vector<uint8_t> weights(std::mt19937_64& g, DType dtype, size_t n, float lo, float hi) {
  std::uniform_real_distribution<float> d(lo, hi);
  std::vector<float> x(n);
  for (float& v : x) v = d(g);
  std::vector<uint8_t> out(*dtype_row_bytes(dtype, n));
  (void)quantize_row(dtype, x.data(), out.data(), n);  // n is whole blocks: cannot fail
  return out;
}

void add_spm_vocab(GgufWriter& w) {
  const std::vector<Token>& t = spm_tokens();
  std::vector<float> scores;
  for (size_t i = 0; i < t.size(); ++i) scores.push_back(-float(i));
  w.add_string("tokenizer.ggml.model", "llama");
  w.add_string_array("tokenizer.ggml.tokens", texts(t));
  w.add_array("tokenizer.ggml.scores", gguf_type::kF32, scores);
  w.add_array("tokenizer.ggml.token_type", gguf_type::kI32, types(t));
  w.add_u32("tokenizer.ggml.bos_token_id", 1);
  w.add_u32("tokenizer.ggml.eos_token_id", 2);
  w.add_u32("tokenizer.ggml.unknown_token_id", 0);
  w.add_bool("tokenizer.ggml.add_bos_token", true);
}

void add_bpe_vocab(GgufWriter& w) {
  const std::vector<Token>& t = bpe_tokens();
  w.add_string("tokenizer.ggml.model", "gpt2");
  w.add_string("tokenizer.ggml.pre", "qwen2");
  w.add_string_array("tokenizer.ggml.tokens", texts(t));
  w.add_array("tokenizer.ggml.token_type", gguf_type::kI32, types(t));
  w.add_string_array("tokenizer.ggml.merges", kBpeMerges);
  w.add_u32("tokenizer.ggml.bos_token_id", 10);
  w.add_u32("tokenizer.ggml.eos_token_id", 10);
  w.add_bool("tokenizer.ggml.add_bos_token", false);
}

}  // namespace

GgufWriter tiny_runnable_model(const TinyModelSpec& spec) {
  std::mt19937_64 g(spec.seed);
  const bool qwen = spec.arch == "qwen2";
  const std::string a = spec.arch;
  const uint64_t n_vocab = qwen ? bpe_tokens().size() : spm_tokens().size();
  GgufWriter w;
  w.add_string("general.architecture", a);
  w.add_string("general.name", "tiny-" + a);
  w.add_u32(a + ".context_length", 64);
  w.add_u32(a + ".embedding_length", kEmbd);
  w.add_u32(a + ".block_count", 1);
  w.add_u32(a + ".feed_forward_length", kFf);
  w.add_u32(a + ".attention.head_count", kEmbd / kHeadDim);
  w.add_u32(a + ".attention.head_count_kv", 1);
  w.add_f32(a + ".attention.layer_norm_rms_epsilon", 1e-5f);
  w.add_u32(a + ".rope.dimension_count", kHeadDim);
  w.add_f32(a + ".rope.freq_base", 10000.0f);
  if (qwen) add_bpe_vocab(w);
  else add_spm_vocab(w);
  w.add_string("tokenizer.chat_template", "{% for m in messages %}{{ m['content'] }}{% endfor %}");

  const DType m = spec.weights;
  auto vec = [&](const std::string& name, uint64_t n, float lo, float hi) {
    w.add_tensor(name, DType::F32, {n}, weights(g, DType::F32, n, lo, hi));
  };
  auto mat = [&](const std::string& name, uint64_t cols, uint64_t rows, DType t) {
    w.add_tensor(name, t, {cols, rows}, weights(g, t, cols * rows, -0.3f, 0.3f));
  };
  mat("token_embd.weight", kEmbd, n_vocab, m);
  vec("output_norm.weight", kEmbd, 0.9f, 1.1f);
  if (!spec.tied) mat("output.weight", kEmbd, n_vocab, m);
  vec("blk.0.attn_norm.weight", kEmbd, 0.9f, 1.1f);
  mat("blk.0.attn_q.weight", kEmbd, kEmbd, m);
  mat("blk.0.attn_k.weight", kEmbd, kHeadDim, m);
  mat("blk.0.attn_v.weight", kEmbd, kHeadDim, m);
  if (qwen) {
    vec("blk.0.attn_q.bias", kEmbd, -0.1f, 0.1f);
    vec("blk.0.attn_k.bias", kHeadDim, -0.1f, 0.1f);
    vec("blk.0.attn_v.bias", kHeadDim, -0.1f, 0.1f);
  }
  mat("blk.0.attn_output.weight", kEmbd, kEmbd, m);
  vec("blk.0.ffn_norm.weight", kEmbd, 0.9f, 1.1f);
  mat("blk.0.ffn_gate.weight", kEmbd, kFf, m);
  mat("blk.0.ffn_up.weight", kEmbd, kFf, m);
  mat("blk.0.ffn_down.weight", kFf, kEmbd, m);
  return w;
}

const char* cve_stage_name(CveStage s) {
  switch (s) {
    case CveStage::kParse: return "parse";
    case CveStage::kTokenizer: return "tokenizer";
    case CveStage::kModel: return "model";
    case CveStage::kLoads: return "loads";
  }
  return "?";
}

namespace {

// --- editing helpers -----------------------------------------------------------

std::string at(uint64_t offset) { return "(at offset " + std::to_string(offset) + ")"; }
std::string q(std::string_view s) { return "'" + std::string(s) + "'"; }

size_t kv_index(const GgufWriter& w, std::string_view key) {
  for (size_t i = 0; i < w.kvs.size(); ++i)
    if (w.kvs[i].key == key) return i;
  return w.kvs.size();  // callers only ask for keys the tiny models have
}

size_t tensor_index(const GgufWriter& w, std::string_view name) {
  for (size_t i = 0; i < w.tensors.size(); ++i)
    if (w.tensors[i].name == name) return i;
  return w.tensors.size();
}

// Replaces a pair's value with a scalar of another type.
template <typename T>
void set_scalar(GgufWriter& w, std::string_view key, uint32_t type, T v) {
  GgufValue& val = w.kvs[kv_index(w, key)].value;
  val = GgufValue();
  val.type = type;
  val.bytes = le_bytes(v);
}

void set_strings(GgufWriter& w, std::string_view key, const std::vector<std::string>& v) {
  GgufValue& val = w.kvs[kv_index(w, key)].value;
  val = GgufValue();
  val.type = gguf_type::kArray;
  val.elem_type = gguf_type::kString;
  for (const std::string& s : v) val.items.emplace_back(s.begin(), s.end());
}

template <typename T>
void set_array(GgufWriter& w, std::string_view key, uint32_t elem_type, const std::vector<T>& v) {
  GgufValue& val = w.kvs[kv_index(w, key)].value;
  val = GgufValue();
  val.type = gguf_type::kArray;
  val.elem_type = elem_type;
  for (const T& x : v) val.items.push_back(le_bytes(x));
}

// File offset of dimension d of tensor i (after its name and n_dims).
uint64_t dim_offset(const GgufWriter& w, const GgufImage& img, size_t i, size_t d) {
  return img.tensor_info_offsets[i] + 8 + w.tensors[i].name.size() + 4 + 8 * d;
}

// Builds the cases of one class from edits of a base model.
class Family {
 public:
  Family(std::string cve_class, std::vector<CveCase>* out) : class_(std::move(cve_class)), out_(out) {}

  CveCase& add(const std::string& variant, CveStage stage, StatusCode code, std::vector<uint8_t> bytes,
               std::vector<std::string> words) {
    CveCase c;
    c.name = class_ + "--" + variant + ".gguf";
    c.cve_class = class_;
    c.stage = stage;
    c.code = code;
    c.words = std::move(words);
    c.bytes = std::move(bytes);
    out_->push_back(std::move(c));
    return out_->back();
  }
  CveCase& parse(const std::string& variant, std::vector<uint8_t> bytes, std::vector<std::string> words) {
    return add(variant, CveStage::kParse, StatusCode::kInvalidModel, std::move(bytes), std::move(words));
  }
  CveCase& tokenizer(const std::string& variant, std::vector<uint8_t> bytes, std::vector<std::string> words) {
    return add(variant, CveStage::kTokenizer, StatusCode::kInvalidModel, std::move(bytes), std::move(words));
  }
  CveCase& loads(const std::string& variant, std::vector<uint8_t> bytes) {
    return add(variant, CveStage::kLoads, StatusCode::kOk, std::move(bytes), {});
  }

 private:
  std::string class_;
  std::vector<CveCase>* out_;
};

GgufWriter llama_base() { return tiny_runnable_model({"llama", DType::Q8_0, false, 1}); }
GgufWriter qwen_base() { return tiny_runnable_model({"qwen2", DType::F16, false, 2}); }

// --- the classes ---------------------------------------------------------------

// ne[0] * ne[1] * ... past 2^63: llama.cpp once multiplied dims unchecked
// and sized buffers from the wrapped product.
void dims_product_overflow(std::vector<CveCase>* out) {
  Family f("dims-product-overflow", out);
  const std::string up = "blk.0.ffn_up.weight";
  {
    GgufWriter w = llama_base();
    const size_t i = tensor_index(w, up);
    w.tensors[i].dims = {uint64_t(1) << 32, uint64_t(1) << 32};
    const GgufImage img = w.build();
    f.parse("2d-2^64", img.bytes, {q(up), "the product of its dimensions overflows", at(dim_offset(w, img, i, 1))});
  }
  {
    GgufWriter w = llama_base();
    const size_t i = tensor_index(w, up);
    w.tensors[i].dims = {32, uint64_t(1) << 20, uint64_t(1) << 20, uint64_t(1) << 20};
    const GgufImage img = w.build();
    f.parse("4d-2^65", img.bytes, {q(up), "the product of its dimensions overflows", at(dim_offset(w, img, i, 3))});
  }
  {
    GgufWriter w = llama_base();
    const size_t i = tensor_index(w, up);
    w.tensors[i].dims = {uint64_t(1) << 63, 1};
    const GgufImage img = w.build();
    f.parse("dim-above-int64-max", img.bytes,
            {q(up), "dimension 0 is 9223372036854775808 (too large)", at(dim_offset(w, img, i, 0))});
  }
  {
    GgufWriter w = llama_base();
    const size_t i = tensor_index(w, up);
    w.tensors[i].dims = {32, 0};
    const GgufImage img = w.build();
    f.parse("zero-dim", img.bytes, {q(up), "dimension 1 is 0 (empty tensor)", at(dim_offset(w, img, i, 1))});
  }
}

// Element size x element count past 2^64: a wrapped byte size of 0 or 4
// would "fit" in any file.
void byte_size_overflow(std::vector<CveCase>* out) {
  Family f("byte-size-overflow", out);
  const std::string norm = "output_norm.weight";
  {
    GgufWriter w = llama_base();
    const size_t i = tensor_index(w, norm);
    w.tensors[i].dims = {(uint64_t(1) << 62) + 1};  // 4 * (2^62 + 1) = 2^64 + 4
    const GgufImage img = w.build();
    f.parse("f32-wraps-to-4", img.bytes, {q(norm), "its data size is larger than the file", at(img.tensor_info_offsets[i])});
  }
  {
    GgufWriter w = llama_base();
    const size_t i = tensor_index(w, norm);
    w.tensors[i].dims = {uint64_t(1) << 61, 2};  // a row of 2^63 bytes, twice
    const GgufImage img = w.build();
    f.parse("f32-rows-wrap-to-0", img.bytes, {q(norm), "its data size is larger than the file", at(img.tensor_info_offsets[i])});
  }
  {
    GgufWriter w = llama_base();
    const std::string up = "blk.0.ffn_up.weight";
    const size_t i = tensor_index(w, up);
    w.tensors[i].dims = {uint64_t(1) << 32, uint64_t(1) << 28};  // q8_0: 2^60 elements, ~2^60 bytes
    const GgufImage img = w.build();
    f.parse("q8_0-larger-than-file", img.bytes, {q(up), "its data size is larger than the file", at(img.tensor_info_offsets[i])});
  }
}

// Raw metadata for a string array whose element `bad` claims `len` bytes.
std::vector<uint8_t> string_array_with_length(const std::vector<std::string>& items, size_t bad, uint64_t len) {
  std::vector<uint8_t> raw = le_bytes(gguf_type::kString);
  const std::vector<uint8_t> n = le_bytes(uint64_t(items.size()));
  raw.insert(raw.end(), n.begin(), n.end());
  for (size_t i = 0; i < items.size(); ++i) {
    const std::vector<uint8_t> l = le_bytes(i == bad ? len : uint64_t(items[i].size()));
    raw.insert(raw.end(), l.begin(), l.end());
    raw.insert(raw.end(), items[i].begin(), items[i].end());
  }
  return raw;
}

void huge_string_length(std::vector<CveCase>* out) {
  Family f("huge-string-length", out);
  const std::string key = "general.name";
  for (const auto& [variant, len] : {std::pair<const char*, uint64_t>{"u64-max", kU64Max},
                                     {"wraps-the-cursor", kU64Max - 7}}) {
    GgufWriter w = llama_base();
    const size_t k = kv_index(w, key);
    w.kvs[k].value.length = len;
    const GgufImage img = w.build();
    f.parse(variant, img.bytes,
            {"key 'general.name': string length " + std::to_string(len) + " exceeds the limit of 16777216",
             at(img.kv_value_offsets[k])});
  }
  {
    GgufWriter w = llama_base();
    const size_t k = kv_index(w, key);
    w.kvs[k].value.length = uint64_t(1) << 24;  // at the limit, but the file is far shorter
    const GgufImage img = w.build();
    f.parse("at-limit-truncated", img.bytes,
            {"key 'general.name': string needs 16777216 bytes but the file ends after", "truncated",
             at(img.kv_value_offsets[k] + 8)});
  }
  {
    GgufWriter w = llama_base();
    w.kvs[0].key_length = uint64_t(1) << 40;
    const GgufImage img = w.build();
    f.parse("key", img.bytes,
            {"key of metadata pair 0 length 1099511627776 exceeds the limit of 65536", at(img.kv_offsets[0])});
  }
  {
    GgufWriter w = llama_base();
    w.tensors[0].name_length = kU64Max;
    const GgufImage img = w.build();
    f.parse("tensor-name", img.bytes,
            {"name of tensor 0 length 18446744073709551615 exceeds the limit of 256", at(img.tensor_info_offsets[0])});
  }
  {
    GgufWriter w = llama_base();
    const std::string tokens = "tokenizer.ggml.tokens";
    const size_t k = kv_index(w, tokens);
    const std::vector<std::string> items = texts(spm_tokens());
    w.kvs[k].value.raw = string_array_with_length(items, 3, kU64Max);
    const GgufImage img = w.build();
    uint64_t off = img.kv_value_offsets[k] + 4 + 8;
    for (size_t i = 0; i < 3; ++i) off += 8 + items[i].size();
    f.parse("array-element", img.bytes,
            {"key 'tokenizer.ggml.tokens': string 3 length 18446744073709551615 exceeds the limit", at(off)});
  }
}

void huge_array_length(std::vector<CveCase>* out) {
  Family f("huge-array-length", out);
  {
    GgufWriter w = llama_base();
    const size_t k = kv_index(w, "tokenizer.ggml.tokens");
    w.kvs[k].value.length = uint64_t(1) << 63;
    const GgufImage img = w.build();
    f.parse("tokens-2^63", img.bytes,
            {"key 'tokenizer.ggml.tokens': array length 9223372036854775808 exceeds the limit of 16777216",
             at(img.kv_value_offsets[k] + 4)});
  }
  {
    GgufWriter w = llama_base();
    const size_t k = kv_index(w, "tokenizer.ggml.scores");
    w.kvs[k].value.length = uint64_t(1) << 24;
    const GgufImage img = w.build();
    f.parse("scores-at-limit-truncated", img.bytes,
            {"key 'tokenizer.ggml.scores': array of 16777216 f32 needs 67108864 bytes but the file ends after",
             "truncated"});
  }
  {
    GgufWriter w = llama_base();
    GgufWriterKv& kv = w.add_array("general.tags.u64", gguf_type::kU64, std::vector<uint64_t>{1, 2, 3});
    kv.value.length = uint64_t(1) << 61;  // x 8 bytes = 2^64: a wrapped size of 0
    const GgufImage img = w.build();
    f.parse("u64-count-times-8-wraps", img.bytes,
            {"key 'general.tags.u64': array length 2305843009213693952 exceeds the limit",
             at(img.kv_value_offsets.back() + 4)});
  }
  {
    GgufWriter w = llama_base();
    GgufValue v;
    v.type = gguf_type::kArray;
    v.elem_type = gguf_type::kArray;
    v.length = uint64_t(1) << 20;
    w.add_value("general.nested", v);
    const GgufImage img = w.build();
    f.parse("nested-arrays", img.bytes,
            {"key 'general.nested': arrays of arrays are not supported", at(img.kv_value_offsets.back())});
  }
  {
    GgufWriter w = llama_base();
    w.n_tensors = uint64_t(1) << 61;
    const GgufImage img = w.build();
    f.parse("tensor-count", img.bytes,
            {"tensor count 2305843009213693952 exceeds the limit of 65536", at(img.n_tensors_offset)});
  }
  {
    GgufWriter w = llama_base();
    w.n_kv = kU64Max;
    const GgufImage img = w.build();
    f.parse("metadata-count", img.bytes,
            {"metadata count 18446744073709551615 exceeds the limit of 65536", at(img.n_kv_offset)});
  }
}

// n_dims indexes a fixed ne[4]: anything above 4 wrote past it.
void n_dims_out_of_range(std::vector<CveCase>* out) {
  Family f("n-dims-out-of-range", out);
  const std::string gate = "blk.0.ffn_gate.weight";
  auto nd_offset = [&](const GgufWriter& w, const GgufImage& img, size_t i) {
    return img.tensor_info_offsets[i] + 8 + w.tensors[i].name.size();
  };
  {
    GgufWriter w = llama_base();
    const size_t i = tensor_index(w, gate);
    w.tensors[i].dims = {32, 64, 1, 1, 1};
    const GgufImage img = w.build();
    f.parse("5", img.bytes, {q(gate), "n_dims 5 is not between 1 and 4", at(nd_offset(w, img, i))});
  }
  {
    GgufWriter w = llama_base();
    const size_t i = tensor_index(w, gate);
    w.tensors[i].n_dims = 0xFFFFFFFFu;
    const GgufImage img = w.build();
    f.parse("u32-max", img.bytes, {q(gate), "n_dims 4294967295 is not between 1 and 4", at(nd_offset(w, img, i))});
  }
  {
    GgufWriter w = llama_base();
    const size_t i = tensor_index(w, gate);
    w.tensors[i].n_dims = 0;
    const GgufImage img = w.build();
    f.parse("0", img.bytes, {q(gate), "n_dims 0 is not between 1 and 4", at(nd_offset(w, img, i))});
  }
}

// general.alignment is used to round offsets up: 0, a non-power of two or a
// value near 2^64 made the padding arithmetic wrap.
void alignment_padding_overflow(std::vector<CveCase>* out) {
  Family f("alignment-padding-overflow", out);
  const std::string bad = " is not a power of two up to 65536";
  for (const auto& [variant, value] : {std::pair<const char*, uint64_t>{"zero", 0},
                                       {"not-a-power-of-two", 48},
                                       {"2^63", uint64_t(1) << 63},
                                       {"u64-max", kU64Max}}) {
    GgufWriter w = llama_base();
    w.add_u64("general.alignment", value);
    const GgufImage img = w.build();
    f.parse(variant, img.bytes, {"general.alignment " + std::to_string(value) + bad, at(img.kv_value_offsets.back())});
  }
  {
    GgufWriter w = llama_base();
    w.add_i32("general.alignment", -32);
    const GgufImage img = w.build();
    f.parse("signed", img.bytes,
            {"general.alignment has type i32, expected an unsigned integer", at(img.kv_value_offsets.back())});
  }
  const std::string down = "blk.0.ffn_down.weight";
  {
    GgufWriter w = llama_base();
    const size_t i = tensor_index(w, down);
    w.tensors[i].offset = kU64Max - 31;  // aligned, and offset + size wraps past 2^64
    const GgufImage img = w.build();
    f.parse("offset-plus-size-wraps", img.bytes,
            {q(down), "data [18446744073709551584, +", "runs past the end of the file", at(img.tensor_info_offsets[i])});
  }
  {
    GgufWriter w = llama_base();
    const size_t i = tensor_index(w, down);
    w.tensors[i].offset = kU64Max;  // rounding it up to the alignment wraps to 0
    const GgufImage img = w.build();
    f.parse("offset-rounding-wraps", img.bytes,
            {q(down), "data offset 18446744073709551615 is not a multiple of the alignment 32",
             at(img.tensor_offset_offsets[i])});
  }
}

void data_offset_past_eof(std::vector<CveCase>* out) {
  Family f("data-offset-past-eof", out);
  const std::string down = "blk.0.ffn_down.weight";
  {
    GgufWriter w = llama_base();
    const size_t i = tensor_index(w, down);
    const GgufImage base = w.build();
    w.tensors[i].offset = base.bytes.size() - base.data_offset + 1024;  // aligned, past the end
    const GgufImage img = w.build();
    f.parse("offset", img.bytes, {q(down), "runs past the end of the file", at(img.tensor_info_offsets[i])});
  }
  {
    GgufWriter w = llama_base();
    w.pad_tail = false;
    const size_t i = tensor_index(w, down);
    GgufImage img = w.build();
    img.bytes.resize(size_t(img.tensor_data[i] + 10));  // the last tensor's data is cut short
    f.parse("truncated-data", img.bytes, {q(down), "runs past the end of the file", at(img.tensor_info_offsets[i])});
  }
  {
    GgufWriter w = llama_base();
    w.tensors[1].offset = 64;  // inside token_embd.weight's data
    const GgufImage img = w.build();
    f.parse("overlap", img.bytes,
            {"tensors 'token_embd.weight' and 'output_norm.weight' overlap", at(img.tensor_info_offsets[1])});
  }
  {
    // A file that ends right after the tensor infos, at an unaligned spot:
    // the data section would start past its end.
    // A long description keeps the file larger than every tensor, so only
    // the start of the data section is wrong.
    GgufWriter w = llama_base();
    GgufWriterKv& pad = w.add_string("general.description", std::string(4096, '.'));
    GgufImage img = w.build();
    while ((img.tensor_offset_offsets.back() + 8) % 32 == 0) {
      pad.value.bytes.push_back('!');
      img = w.build();
    }
    const uint64_t end = img.tensor_offset_offsets.back() + 8;
    img.bytes.resize(size_t(end));
    f.parse("data-section-start", img.bytes, {"the tensor data section starts past the end of the file", at(end)});
  }
}

// Token ids from metadata index the vocabulary: each must be checked against it.
void vocab_vs_token_ids(std::vector<CveCase>* out) {
  Family f("vocab-vs-token-ids", out);
  const std::string n = std::to_string(spm_tokens().size());
  const std::string vocab = " is not a token id (the vocabulary has " + n + " tokens)";
  {
    GgufWriter w = llama_base();
    set_scalar(w, "tokenizer.ggml.bos_token_id", gguf_type::kU32, uint32_t(spm_tokens().size()));
    f.tokenizer("bos-equals-n-vocab", w.build().bytes, {"tokenizer.ggml.bos_token_id = " + n + vocab});
  }
  {
    GgufWriter w = llama_base();
    set_scalar(w, "tokenizer.ggml.eos_token_id", gguf_type::kI32, int32_t(-2));
    f.tokenizer("eos-negative", w.build().bytes, {"tokenizer.ggml.eos_token_id = -2" + vocab});
  }
  {
    GgufWriter w = llama_base();
    set_scalar(w, "tokenizer.ggml.unknown_token_id", gguf_type::kU64, uint64_t(1) << 40);
    f.tokenizer("unk-u64", w.build().bytes, {"tokenizer.ggml.unknown_token_id = 1099511627776" + vocab});
  }
  {
    GgufWriter w = llama_base();
    w.add_u32("tokenizer.ggml.eot_token_id", 1u << 31);
    f.tokenizer("eot-u32-above-int32", w.build().bytes, {"tokenizer.ggml.eot_token_id = 2147483648" + vocab});
  }
  {
    GgufWriter w = qwen_base();
    std::vector<std::string> merges = kBpeMerges;
    merges.push_back("a zz");
    set_strings(w, "tokenizer.ggml.merges", merges);
    f.tokenizer("merge-names-a-missing-token", w.build().bytes,
                {"merge " + std::to_string(kBpeMerges.size()) + " 'a zz' names 'zz', which is not a token"});
  }
  {
    GgufWriter w = qwen_base();
    set_strings(w, "tokenizer.ggml.merges", {"a b", "abc"});
    f.tokenizer("merge-without-space", w.build().bytes, {"merge 1 'abc' is not two tokens separated by a space"});
  }
  {
    GgufWriter w = llama_base();
    std::vector<int32_t> t = types(spm_tokens());
    t.pop_back();
    set_array(w, "tokenizer.ggml.token_type", gguf_type::kI32, t);
    f.tokenizer("token-type-short", w.build().bytes,
                {"tokenizer.ggml.token_type has " + std::to_string(t.size()) + " entries for " + n + " tokens"});
  }
  {
    GgufWriter w = llama_base();
    std::vector<float> s(spm_tokens().size() + 1, 0.0f);
    set_array(w, "tokenizer.ggml.scores", gguf_type::kF32, s);
    f.tokenizer("scores-long", w.build().bytes,
                {"tokenizer.ggml.scores has " + std::to_string(s.size()) + " entries for " + n + " tokens"});
  }
  {
    GgufWriter w = llama_base();
    std::vector<int32_t> t = types(spm_tokens());
    t[5] = 99;
    set_array(w, "tokenizer.ggml.token_type", gguf_type::kI32, t);
    f.tokenizer("token-type-unknown", w.build().bytes, {"token 5 has unknown type 99"});
  }
  {
    GgufWriter w = llama_base();
    std::vector<std::string> tokens = texts(spm_tokens());
    tokens[3] = "<0xZZ>";  // a byte token (type 6) that names no byte
    set_strings(w, "tokenizer.ggml.tokens", tokens);
    f.tokenizer("byte-token-malformed", w.build().bytes, {"byte token 3 '<0xZZ>' is not of the form <0xXX>"});
  }
  {
    // One token more than token_embd.weight has rows.
    GgufWriter w = llama_base();
    std::vector<Token> t = spm_tokens();
    t.push_back({"d", 1});
    std::vector<float> scores(t.size(), 0.0f);
    set_strings(w, "tokenizer.ggml.tokens", texts(t));
    set_array(w, "tokenizer.ggml.scores", gguf_type::kF32, scores);
    set_array(w, "tokenizer.ggml.token_type", gguf_type::kI32, types(t));
    f.add("n-vocab-vs-embedding-rows", CveStage::kModel, StatusCode::kInvalidModel, w.build().bytes,
          {"the vocabulary has " + std::to_string(t.size()) + " tokens but token_embd.weight has " + n + " rows"});
  }
}

// Lengths and ids near the int32 edges, and a very long token: llama.cpp
// once copied a token's text into a buffer sized by a signed length.
void tokenizer_signed_overflow(std::vector<CveCase>* out) {
  Family f("tokenizer-signed-overflow", out);
  const std::string n = std::to_string(spm_tokens().size());
  {
    GgufWriter w = llama_base();
    std::vector<int32_t> t = types(spm_tokens());
    t[5] = std::numeric_limits<int32_t>::min();
    set_array(w, "tokenizer.ggml.token_type", gguf_type::kI32, t);
    f.tokenizer("type-int32-min", w.build().bytes, {"token 5 has unknown type -2147483648"});
  }
  {
    GgufWriter w = llama_base();
    std::vector<uint64_t> t;
    for (int32_t x : types(spm_tokens())) t.push_back(uint64_t(x));
    t[5] = (uint64_t(1) << 32) + 1;  // 1 once truncated to 32 bits
    set_array(w, "tokenizer.ggml.token_type", gguf_type::kU64, t);
    f.tokenizer("type-u64-truncates", w.build().bytes,
                {"key 'tokenizer.ggml.token_type' element 5 does not fit in 32 bits"});
  }
  {
    GgufWriter w = llama_base();
    set_scalar(w, "tokenizer.ggml.bos_token_id", gguf_type::kI32, std::numeric_limits<int32_t>::max());
    f.tokenizer("bos-int32-max", w.build().bytes,
                {"tokenizer.ggml.bos_token_id = 2147483647 is not a token id (the vocabulary has " + n + " tokens)"});
  }
  {
    GgufWriter w = llama_base();
    std::vector<float> s(spm_tokens().size(), 0.0f);
    s[4] = std::numeric_limits<float>::quiet_NaN();
    set_array(w, "tokenizer.ggml.scores", gguf_type::kF32, s);
    f.tokenizer("score-nan", w.build().bytes, {"the score of token 4 is NaN"});
  }
  {
    // Extreme but valid scores: loads and encodes.
    GgufWriter w = llama_base();
    std::vector<float> s(spm_tokens().size(), 0.0f);
    s[6] = std::numeric_limits<float>::infinity();
    s[7] = -std::numeric_limits<float>::infinity();
    s[10] = std::numeric_limits<float>::max();
    s[11] = -std::numeric_limits<float>::max();
    set_array(w, "tokenizer.ggml.scores", gguf_type::kF32, s);
    f.loads("scores-infinite", w.build().bytes);
  }
  {
    // A user-defined token of 70000 bytes: longer than any 16-bit length,
    // matched whole when encoding and read back whole.
    GgufWriter w = llama_base();
    std::vector<std::string> tokens = texts(spm_tokens());
    std::vector<int32_t> t = types(spm_tokens());
    std::string long_token(70000, 'x');
    for (size_t i = 0; i < long_token.size(); i += 7) long_token[i] = 'y';
    tokens[9] = long_token;
    t[9] = 4;
    set_strings(w, "tokenizer.ggml.tokens", tokens);
    set_array(w, "tokenizer.ggml.token_type", gguf_type::kI32, t);
    CveCase& c = f.loads("token-of-70000-bytes", w.build().bytes);
    c.token_id = 9;
    c.token_text = long_token;
  }
}

// tokenizer.chat_template is data: loci has no template engine, so a
// template is never run, only handed back byte for byte.
void template_injection(std::vector<CveCase>* out) {
  Family f("template-injection", out);
  const std::string key = "tokenizer.chat_template";
  {
    GgufWriter w = llama_base();
    std::string tpl =
        "{% for m in messages %}{{ m['content'] }}{% endfor %}{{ 7 * 7 }}"
        "{{ ''.__class__.__mro__[1].__subclasses__() }}{{ cycler.__init__.__globals__.os.popen('id').read() }}"
        "{% for i in range(999999999) %}{{ i }}{% endfor %}\x1b]0;title\x07";
    tpl += std::string("\0after-nul\xff\xfe", 12);
    w.kvs[kv_index(w, key)].value.bytes.assign(tpl.begin(), tpl.end());
    CveCase& c = f.loads("jinja-payload", w.build().bytes);
    c.verbatim_key = key;
    c.verbatim_value = tpl;
  }
  {
    GgufWriter w = llama_base();
    std::string tpl;
    while (tpl.size() < (1u << 20)) tpl += "{{ {{ {% if %}";
    w.kvs[kv_index(w, key)].value.bytes.assign(tpl.begin(), tpl.end());
    CveCase& c = f.loads("1-mib", w.build().bytes);
    c.verbatim_key = key;
    c.verbatim_value = tpl;
  }
  {
    GgufWriter w = llama_base();
    const size_t k = kv_index(w, key);
    w.kvs[k].value.length = (uint64_t(1) << 24) + 1;
    const GgufImage img = w.build();
    f.parse("over-the-string-limit", img.bytes,
            {"key 'tokenizer.chat_template': string length 16777217 exceeds the limit of 16777216",
             at(img.kv_value_offsets[k])});
  }
  {
    // A template of the wrong type is never read, so it cannot fail the load.
    GgufWriter w = llama_base();
    set_array(w, key, gguf_type::kU32, std::vector<uint32_t>{0xdeadbeef, 7});
    f.loads("wrong-type", w.build().bytes);
  }
}

// Defects the fuzzers and review found in loci itself (tests/fuzz/regressions/README.md).
void found_by_fuzzing(std::vector<CveCase>* out) {
  Family f("found-by-fuzzing", out);
  {
    // A key with a NUL byte: the C API would list it cut at the NUL, under a
    // name that finds nothing (or another key). GGUF keys are ASCII.
    GgufWriter w = llama_base();
    w.add_u32(std::string("tokenizer.ggml.eot\0shadow", 25), 3);
    const GgufImage img = w.build();
    f.parse("nul-in-key", img.bytes, {"key of metadata pair " + std::to_string(w.kvs.size() - 1) +
                                          " contains a NUL byte", at(img.kv_offsets.back())});
  }
  {
    // The same for a tensor name (the CLI prints names with %.*s).
    GgufWriter w = llama_base();
    w.tensors[0].name += std::string("\0x", 2);
    const GgufImage img = w.build();
    f.parse("nul-in-tensor-name", img.bytes, {"name of tensor 0 contains a NUL byte", at(img.tensor_info_offsets[0])});
  }
  {
    // NaN weights make NaN activations, and quantizing those for the matmul
    // converted NaN to int8 (undefined behaviour; UBSan reported it).
    GgufWriter w = tiny_runnable_model({"llama", DType::Q8_0, false, 1});
    GgufWriterTensor& norm = w.tensors[tensor_index(w, "blk.0.attn_norm.weight")];
    const std::vector<uint8_t> nan = le_bytes(std::numeric_limits<float>::quiet_NaN());
    for (size_t i = 0; i < norm.data.size(); i += 4) std::copy(nan.begin(), nan.end(), norm.data.begin() + ptrdiff_t(i));
    CveCase& c = f.loads("nan-weights", w.build().bytes);
    c.finite_logits = false;
  }
  {
    // A byte-level BPE token of 4000 characters outside the byte-level
    // alphabet: each one appends "[UNK_BYTE_0x..<whole text>]" to the piece,
    // so 12 KB of text made a 48 MB piece (a 1 MB token: 300 GB).
    GgufWriter w = qwen_base();
    std::vector<std::string> tokens = texts(bpe_tokens());
    std::string wide;
    for (int i = 0; i < 4000; ++i) wide += "\xE2\x96\x81";  // U+2581, not a byte-level character
    tokens[14] = wide;                                    // "x", a normal token
    set_strings(w, "tokenizer.ggml.tokens", tokens);
    f.tokenizer("bpe-unk-byte-piece-quadratic", w.build().bytes,
                {"token 14 has too many characters outside the byte-level alphabet", "would exceed 25024 bytes"});
  }
}

}  // namespace

std::vector<CveCase> cve_cases() {
  std::vector<CveCase> out;
  dims_product_overflow(&out);
  byte_size_overflow(&out);
  huge_string_length(&out);
  huge_array_length(&out);
  n_dims_out_of_range(&out);
  alignment_padding_overflow(&out);
  data_offset_past_eof(&out);
  vocab_vs_token_ids(&out);
  tokenizer_signed_overflow(&out);
  template_injection(&out);
  found_by_fuzzing(&out);
  return out;
}

std::vector<NamedImage> valid_seed_models() {
  std::vector<NamedImage> out;
  const struct {
    const char* name;
    TinyModelSpec spec;
  } specs[] = {
      {"tiny-llama-q8_0.gguf", {"llama", DType::Q8_0, false, 1}},
      {"tiny-llama-f32-tied.gguf", {"llama", DType::F32, true, 3}},
      {"tiny-llama-q4_0.gguf", {"llama", DType::Q4_0, false, 4}},
      {"tiny-qwen2-f16.gguf", {"qwen2", DType::F16, false, 2}},
      {"tiny-qwen2-q8_0-tied.gguf", {"qwen2", DType::Q8_0, true, 5}},
  };
  for (const auto& s : specs) out.push_back({s.name, tiny_runnable_model(s.spec).build().bytes});
  return out;
}

}  // namespace loci::test
