// Synthetic models (see loci/synth.h): the shapes, the metadata a llama.cpp
// loader expects, and random weights filled straight into each dtype's blocks
// (quantizing 1B random floats would take minutes; random codes take a second).
#include "loci/synth.h"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstddef>
#include <cstring>

#include "loci/fp16.h"
#include "loci/quant.h"
#include "loci/threadpool.h"
#include "core/bad_alloc.h"

namespace loci {
namespace {

constexpr float kWeightStd = 0.02f;  // trained LLM matrices are about this scale
constexpr int kNormalTokens = 259;   // <unk>, <s>, </s> and the 256 byte tokens come first

// --- random numbers ----------------------------------------------------------

// splitmix64: one independent stream per (seed, tensor, row), so the bytes do
// not depend on how rows are split over threads.
struct Rng {
  uint64_t s;
  Rng(uint64_t seed, uint64_t a, uint64_t b) : s(seed ^ (a * 0x9E3779B97F4A7C15ull) ^ (b * 0xC2B2AE3D27D4EB4Full)) {}
  uint64_t next() {
    uint64_t z = (s += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
  }
  // Uniform in [-a, a).
  float uniform(float a) { return (float(next() >> 40) * (1.0f / 16777216.0f) * 2.0f - 1.0f) * a; }
  void bytes(uint8_t* p, size_t n) {
    size_t i = 0;
    for (; i + 8 <= n; i += 8) {
      const uint64_t v = next();
      std::memcpy(p + i, &v, 8);
    }
    if (i < n) {
      const uint64_t v = next();
      std::memcpy(p + i, &v, n - i);
    }
  }
};

// --- quantized blocks ----------------------------------------------------------

// Where a block keeps its fp16 scale and, for the types that have one, its
// fp16 offset (min); every other byte of a block is valid whatever its value.
struct ScaleFields {
  size_t d;
  int offset;  // -1: none
};

ScaleFields scale_fields(DType t) {
  switch (t) {
    case DType::Q4_0: return {offsetof(BlockQ4_0, d), -1};
    case DType::Q4_1: return {offsetof(BlockQ4_1, d), int(offsetof(BlockQ4_1, m))};
    case DType::Q5_0: return {offsetof(BlockQ5_0, d), -1};
    case DType::Q5_1: return {offsetof(BlockQ5_1, d), int(offsetof(BlockQ5_1, m))};
    case DType::Q8_0: return {offsetof(BlockQ8_0, d), -1};
    case DType::Q2_K: return {offsetof(BlockQ2_K, d), int(offsetof(BlockQ2_K, dmin))};
    case DType::Q3_K: return {offsetof(BlockQ3_K, d), -1};
    case DType::Q4_K: return {offsetof(BlockQ4_K, d), int(offsetof(BlockQ4_K, dmin))};
    case DType::Q5_K: return {offsetof(BlockQ5_K, d), int(offsetof(BlockQ5_K, dmin))};
    case DType::Q6_K: return {offsetof(BlockQ6_K, d), -1};
    default: return {0, -1};
  }
}

void set_fp16(uint8_t* p, float v) {
  const uint16_t h = f32_to_fp16(v);
  std::memcpy(p, &h, 2);
}

// Mean and standard deviation of random blocks dequantized with the given
// scale and offset fields.
void sample_stats(DType t, const DTypeInfo& info, float d, float offset, double* mean, double* std) {
  constexpr size_t kBlocks = 64;
  std::vector<uint8_t> blocks(kBlocks * info.block_bytes);
  Rng rng(12345, uint64_t(t), 0);
  rng.bytes(blocks.data(), blocks.size());
  const ScaleFields f = scale_fields(t);
  for (size_t b = 0; b < kBlocks; ++b) {
    uint8_t* block = blocks.data() + b * info.block_bytes;
    set_fp16(block + f.d, d);
    if (f.offset >= 0) set_fp16(block + f.offset, offset);
  }
  std::vector<float> x(kBlocks * info.block_elems);
  (void)dequantize_row(t, blocks.data(), x.data(), x.size());
  double s = 0, s2 = 0;
  for (float v : x) s += v;
  *mean = s / double(x.size());
  for (float v : x) s2 += (v - *mean) * (v - *mean);
  *std = std::sqrt(s2 / double(x.size()));
}

// The scale (and offset) that make random codes look like N(0, kWeightStd)
// weights: the offset cancels the codes' mean, the scale sets the spread.
struct BlockScale {
  float d = 0, offset = 0;
};

BlockScale calibrate(DType t) {
  const DTypeInfo& info = *dtype_info(t);
  double mean_d = 0, std_d = 0, mean_off = 0, std_off = 0;
  sample_stats(t, info, 1.0f, 0.0f, &mean_d, &std_d);
  float ratio = 0;
  if (scale_fields(t).offset >= 0) {
    sample_stats(t, info, 0.0f, 1.0f, &mean_off, &std_off);
    if (mean_off != 0) ratio = float(-mean_d / mean_off);
  }
  double mean = 0, std = 0;
  sample_stats(t, info, 1.0f, ratio, &mean, &std);
  BlockScale s;
  s.d = std > 0 ? float(kWeightStd / std) : kWeightStd;
  s.offset = ratio * s.d;
  return s;
}

// --- filling one row of a tensor -------------------------------------------------

struct TensorRecipe {
  DType dtype;
  size_t row_bytes;
  size_t row_elems;
  bool is_norm;  // 1-D: norm weights near 1, biases near 0
  bool is_bias;
  BlockScale scale;
};

void fill_row(const TensorRecipe& r, Rng& rng, uint8_t* dst) {
  if (r.is_norm || r.is_bias) {
    float* y = reinterpret_cast<float*>(dst);  // 1-D tensors are F32
    for (size_t i = 0; i < r.row_elems; ++i) y[i] = (r.is_norm ? 1.0f : 0.0f) + rng.uniform(0.1f);
    return;
  }
  const float a = kWeightStd * std::sqrt(3.0f);  // uniform [-a, a) has std kWeightStd
  switch (r.dtype) {
    case DType::F32: {
      float* y = reinterpret_cast<float*>(dst);
      for (size_t i = 0; i < r.row_elems; ++i) y[i] = rng.uniform(a);
      return;
    }
    case DType::F16:
    case DType::BF16: {
      uint16_t* y = reinterpret_cast<uint16_t*>(dst);
      const bool f16 = r.dtype == DType::F16;
      for (size_t i = 0; i < r.row_elems; ++i) {
        const float v = rng.uniform(a);
        y[i] = f16 ? f32_to_fp16(v) : f32_to_bf16(v);
      }
      return;
    }
    default: {
      rng.bytes(dst, r.row_bytes);
      const DTypeInfo& info = *dtype_info(r.dtype);
      const ScaleFields f = scale_fields(r.dtype);
      for (size_t at = 0; at < r.row_bytes; at += info.block_bytes) {
        set_fp16(dst + at + f.d, r.scale.d);
        if (f.offset >= 0) set_fp16(dst + at + f.offset, r.scale.offset);
      }
      return;
    }
  }
}

// --- the model's description -------------------------------------------------------

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = char(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

void set_metadata(const SynthSpec& spec, GgufWriter* w) {
  const SynthShape& s = spec.shape;
  const std::string arch = arch_name(s.arch);
  const uint32_t head_dim = s.n_embd / s.n_head;
  w->set_string("general.architecture", arch);
  w->set_string("general.name", std::string("loci synthetic ") + s.name);
  w->set_string("general.description", std::string("random weights at the shapes of ") + s.description);
  w->set_u32("general.file_type", uint32_t(spec.type));
  w->set_u32("general.quantization_version", 2);
  w->set_u32(arch + ".vocab_size", s.n_vocab);
  w->set_u32(arch + ".context_length", s.n_ctx_train);
  w->set_u32(arch + ".embedding_length", s.n_embd);
  w->set_u32(arch + ".block_count", s.n_layer);
  w->set_u32(arch + ".feed_forward_length", s.n_ff);
  w->set_u32(arch + ".attention.head_count", s.n_head);
  w->set_u32(arch + ".attention.head_count_kv", s.n_head_kv);
  w->set_u32(arch + ".rope.dimension_count", head_dim);
  w->set_f32(arch + ".rope.freq_base", s.rope_base);
  w->set_f32(arch + ".attention.layer_norm_rms_epsilon", s.rms_eps);

  // A SentencePiece vocabulary: <unk> <s> </s>, the byte tokens, then filler
  // pieces ("▁t259" ...) whose scores fall with their id, as merges ranks do.
  std::vector<std::string> pieces;
  pieces.reserve(s.n_vocab);
  pieces.push_back("<unk>");
  pieces.push_back("<s>");
  pieces.push_back("</s>");
  char buf[32];
  for (int b = 0; b < 256; ++b) {
    std::snprintf(buf, sizeof buf, "<0x%02X>", b);
    pieces.push_back(buf);
  }
  for (uint32_t i = kNormalTokens; i < s.n_vocab; ++i) pieces.push_back("\xE2\x96\x81t" + std::to_string(i));
  std::vector<std::string_view> views(pieces.begin(), pieces.end());
  std::vector<float> scores(s.n_vocab, 0.0f);
  std::vector<int32_t> types(s.n_vocab, 1);  // normal
  types[0] = 2;                               // unknown
  types[1] = types[2] = 3;                    // control
  for (int b = 0; b < 256; ++b) types[3 + b] = 6;  // byte
  for (uint32_t i = kNormalTokens; i < s.n_vocab; ++i) scores[i] = -float(i - kNormalTokens);
  w->set_string("tokenizer.ggml.model", "llama");
  w->set_string_array("tokenizer.ggml.tokens", views);
  w->set_f32_array("tokenizer.ggml.scores", scores);
  w->set_i32_array("tokenizer.ggml.token_type", types);
  w->set_u32("tokenizer.ggml.unknown_token_id", 0);
  w->set_u32("tokenizer.ggml.bos_token_id", 1);
  w->set_u32("tokenizer.ggml.eos_token_id", 2);
  w->set_bool("tokenizer.ggml.add_bos_token", true);
}

struct TensorSpec {
  std::string name;
  int ndim;
  int64_t ne[2];
};

std::vector<TensorSpec> tensor_specs(const SynthShape& s) {
  const int64_t e = s.n_embd, hd = s.n_embd / s.n_head;
  const int64_t q = hd * s.n_head, kv = hd * s.n_head_kv;
  std::vector<TensorSpec> t;
  t.push_back({"token_embd.weight", 2, {e, s.n_vocab}});
  t.push_back({"output_norm.weight", 1, {e, 1}});
  if (!s.tied_embeddings) t.push_back({"output.weight", 2, {e, s.n_vocab}});
  for (uint32_t l = 0; l < s.n_layer; ++l) {
    const std::string b = "blk." + std::to_string(l) + ".";
    t.push_back({b + "attn_norm.weight", 1, {e, 1}});
    t.push_back({b + "attn_q.weight", 2, {e, q}});
    t.push_back({b + "attn_k.weight", 2, {e, kv}});
    t.push_back({b + "attn_v.weight", 2, {e, kv}});
    if (s.arch == Arch::kQwen2) {
      t.push_back({b + "attn_q.bias", 1, {q, 1}});
      t.push_back({b + "attn_k.bias", 1, {kv, 1}});
      t.push_back({b + "attn_v.bias", 1, {kv, 1}});
    }
    t.push_back({b + "attn_output.weight", 2, {q, e}});
    t.push_back({b + "ffn_norm.weight", 1, {e, 1}});
    t.push_back({b + "ffn_gate.weight", 2, {e, s.n_ff}});
    t.push_back({b + "ffn_up.weight", 2, {e, s.n_ff}});
    t.push_back({b + "ffn_down.weight", 2, {s.n_ff, e}});
  }
  return t;
}

bool ends_with(std::string_view s, std::string_view suffix) {
  return s.size() >= suffix.size() && s.substr(s.size() - suffix.size()) == suffix;
}

}  // namespace

const std::vector<SynthShape>& synth_shapes() {
  // Shapes from each model's published config.
  static const std::vector<SynthShape> shapes = {
      {"llama-1b", "Llama-3.2-1B with a 32000-token vocabulary", Arch::kLlama, 32000, 2048, 16, 32, 8, 8192, 131072,
       500000.0f, 1e-5f, true},
      {"llama3.2-1b", "Llama-3.2-1B", Arch::kLlama, 128256, 2048, 16, 32, 8, 8192, 131072, 500000.0f, 1e-5f, true},
      {"qwen2.5-0.5b", "Qwen2.5-0.5B", Arch::kQwen2, 151936, 896, 24, 14, 2, 4864, 32768, 1000000.0f, 1e-6f, true},
      {"tinyllama-1.1b", "TinyLlama-1.1B", Arch::kLlama, 32000, 2048, 22, 32, 4, 5632, 2048, 10000.0f, 1e-5f, false},
      {"stories15m", "llama2.c stories15M", Arch::kLlama, 32000, 288, 6, 6, 6, 768, 256, 10000.0f, 1e-5f, true},
  };
  return shapes;
}

Result<SynthSpec> parse_synth_spec(std::string_view spec) {
  const size_t colon = spec.find(':');
  const std::string shape = lower(spec.substr(0, colon));
  SynthSpec out;
  out.type = FileType::kF16;
  if (colon != std::string_view::npos) {
    const std::string_view type = spec.substr(colon + 1);
    const std::optional<FileType> ft = file_type_from_name(type);
    if (!ft) return invalid_argument("synthetic model '" + std::string(spec) + "': unknown type '" + std::string(type) + "'");
    out.type = *ft;
  }
  std::string known;
  for (const SynthShape& s : synth_shapes()) {
    if (shape == s.name) {
      out.shape = s;
      return out;
    }
    known += std::string(known.empty() ? "" : ", ") + s.name;
  }
  return invalid_argument("synthetic model '" + std::string(spec) + "': unknown shape '" + shape + "' (shapes: " +
                          known + ")");
}

std::string synth_spec_name(const SynthSpec& spec) {
  return std::string(spec.shape.name) + ":" + file_type_name(spec.type);
}

namespace {

// The body of describe_synth_model, which may throw bad_alloc.
Result<GgufWriter::TensorFill> describe(const SynthSpec& spec, ThreadPool* pool, GgufWriter* w) {
  const SynthShape& s = spec.shape;
  if (s.n_head == 0 || s.n_embd % s.n_head != 0 || s.n_head_kv == 0 || s.n_head % s.n_head_kv != 0)
    return invalid_argument(std::string("synthetic model ") + s.name + ": heads do not divide the embedding");
  set_metadata(spec, w);
  const std::vector<TensorSpec> specs = tensor_specs(s);

  ModelLayout layout;
  layout.arch = arch_name(s.arch);
  layout.n_layer = s.n_layer;
  layout.n_head = s.n_head;
  layout.n_head_kv = s.n_head_kv;
  layout.tied_embeddings = s.tied_embeddings;
  std::vector<TensorShape> shapes;
  for (const TensorSpec& t : specs) {
    TensorShape sh;
    sh.name = t.name;
    sh.ndim = t.ndim;
    sh.ne[0] = t.ne[0];
    sh.ne[1] = t.ndim > 1 ? t.ne[1] : 1;
    shapes.push_back(sh);
  }
  LOCI_ASSIGN_OR_RETURN(const std::vector<DType> types, choose_tensor_types(spec.type, layout, shapes));

  auto recipes = std::make_shared<std::vector<TensorRecipe>>();
  BlockScale scales[64] = {};  // by DType id, calibrated once per type
  for (size_t i = 0; i < specs.size(); ++i) {
    const TensorSpec& t = specs[i];
    LOCI_RETURN_IF_ERROR(w->add_tensor(t.name, types[i], t.ne, t.ndim));
    TensorRecipe r{};
    r.dtype = types[i];
    r.row_elems = size_t(t.ne[0]);
    r.row_bytes = *dtype_row_bytes(types[i], r.row_elems);
    const bool vector = t.ndim == 1 && types[i] == DType::F32;
    r.is_norm = vector && ends_with(t.name, "norm.weight");
    r.is_bias = vector && ends_with(t.name, ".bias");
    const DTypeInfo& info = *dtype_info(types[i]);
    if (info.quantized) {
      BlockScale& cached = scales[uint32_t(types[i]) % 64];
      if (cached.d == 0) cached = calibrate(types[i]);
      r.scale = cached;
    }
    recipes->push_back(r);
  }

  const uint64_t seed = spec.seed;
  const std::vector<GgufWriter::TensorDesc>* descs = &w->tensors();
  return GgufWriter::TensorFill([recipes, descs, seed, pool](size_t index, void* dst) -> Status {
    const TensorRecipe& r = (*recipes)[index];
    const GgufWriter::TensorDesc& d = (*descs)[index];
    const size_t rows = d.bytes / r.row_bytes;
    constexpr size_t kRowsPerTask = 16;
    parallel_for(pool, (rows + kRowsPerTask - 1) / kRowsPerTask, [&](size_t task) {
      const size_t end = std::min(rows, (task + 1) * kRowsPerTask);
      for (size_t row = task * kRowsPerTask; row < end; ++row) {
        Rng rng(seed, index + 1, row);
        fill_row(r, rng, static_cast<uint8_t*>(dst) + row * r.row_bytes);
      }
    });
    return Status::ok();
  });
}

}  // namespace

Result<GgufWriter::TensorFill> describe_synth_model(const SynthSpec& spec, ThreadPool* pool, GgufWriter* w) {
  return detail::bad_alloc_as_status("synthetic model", [&]() { return describe(spec, pool, w); });
}

Result<std::shared_ptr<const Model>> build_synth_model(const SynthSpec& spec, ThreadPool* pool) {
  return detail::bad_alloc_as_status("synthetic model", [&]() -> Result<std::shared_ptr<const Model>> {
    GgufWriter w;
    LOCI_ASSIGN_OR_RETURN(GgufWriter::TensorFill fill, describe_synth_model(spec, pool, &w));
    const size_t size = size_t(w.file_size());
    auto write = [&](void* dst) { return w.write_memory(dst, size, fill); };
    LOCI_ASSIGN_OR_RETURN(std::shared_ptr<const GgufFile> file, GgufFile::build(size, write));
    return Model::from_gguf(std::move(file));
  });
}

Status write_synth_model(const SynthSpec& spec, const std::string& path, ThreadPool* pool) {
  return detail::bad_alloc_as_status("synthetic model", [&]() -> Status {
    GgufWriter w;
    LOCI_ASSIGN_OR_RETURN(GgufWriter::TensorFill fill, describe_synth_model(spec, pool, &w));
    return w.write_file(path, fill);
  });
}

}  // namespace loci
