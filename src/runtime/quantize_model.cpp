// The model quantizer (see loci/quantize.h): which dtype each tensor gets in
// each file type, and the conversion itself, row by row on a thread pool.
//
// The per-tensor rules restate llama.cpp's llama-quantize without an
// importance matrix, so both tools pick the same dtypes for the same model.
#include "loci/quantize.h"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <memory>
#include <string>
#include <utility>

#include "loci/gguf_writer.h"
#include "loci/quant.h"
#include "loci/threadpool.h"
#include "core/bad_alloc.h"

namespace loci {
namespace {

// GGML_QNT_VERSION: the block layouts' version, which llama.cpp stores in
// every file it quantizes.
constexpr uint32_t kQuantizationVersion = 2;

struct FileTypeEntry {
  FileType type;
  const char* name;
  DType base;  // the dtype of the matrices no rule singles out
};

constexpr FileTypeEntry kFileTypes[] = {
    {FileType::kF32, "f32", DType::F32},        {FileType::kF16, "f16", DType::F16},
    {FileType::kQ4_0, "q4_0", DType::Q4_0},     {FileType::kQ4_1, "q4_1", DType::Q4_1},
    {FileType::kQ8_0, "q8_0", DType::Q8_0},     {FileType::kQ5_0, "q5_0", DType::Q5_0},
    {FileType::kQ5_1, "q5_1", DType::Q5_1},     {FileType::kQ2_K, "q2_k", DType::Q2_K},
    {FileType::kQ3_K_S, "q3_k_s", DType::Q3_K}, {FileType::kQ3_K_M, "q3_k_m", DType::Q3_K},
    {FileType::kQ3_K_L, "q3_k_l", DType::Q3_K}, {FileType::kQ4_K_S, "q4_k_s", DType::Q4_K},
    {FileType::kQ4_K_M, "q4_k_m", DType::Q4_K}, {FileType::kQ5_K_S, "q5_k_s", DType::Q5_K},
    {FileType::kQ5_K_M, "q5_k_m", DType::Q5_K}, {FileType::kQ6_K, "q6_k", DType::Q6_K},
    {FileType::kBF16, "bf16", DType::BF16},
};

const FileTypeEntry* entry_of(FileType ft) {
  for (const FileTypeEntry& e : kFileTypes)
    if (e.type == ft) return &e;
  return nullptr;
}

bool contains(std::string_view s, std::string_view part) { return s.find(part) != std::string_view::npos; }
bool ends_with(std::string_view s, std::string_view tail) {
  return s.size() >= tail.size() && s.substr(s.size() - tail.size()) == tail;
}

// --- what kind of tensor a name is ------------------------------------------------

enum class Role { kOutput, kTokenEmbd, kAttnV, kAttnQkv, kAttnKvB, kAttnK, kAttnQ, kAttnOutput,
                  kFfnDown, kFfnGate, kFfnUp, kOther };

// Matched as llama.cpp matches them: by substring, so MoE variants
// (ffn_down_exps, ffn_gate_shexp ...) share their dense tensor's role.
Role role_of(std::string_view name) {
  if (name == "output.weight") return Role::kOutput;
  if (name == "token_embd.weight") return Role::kTokenEmbd;
  if (contains(name, "attn_v.weight")) return Role::kAttnV;
  if (contains(name, "attn_qkv.weight")) return Role::kAttnQkv;
  if (contains(name, "attn_kv_b.weight")) return Role::kAttnKvB;
  if (contains(name, "attn_k.weight")) return Role::kAttnK;
  if (contains(name, "attn_q.weight")) return Role::kAttnQ;
  if (contains(name, "attn_output.weight")) return Role::kAttnOutput;
  if (contains(name, "ffn_down")) return Role::kFfnDown;
  if (contains(name, "ffn_gate")) return Role::kFfnGate;
  if (contains(name, "ffn_up")) return Role::kFfnUp;
  return Role::kOther;
}

// Only matrices named "*weight" are quantized; norms, routers, position
// tables and a few small architecture-specific matrices keep their type.
bool is_quantizable(const TensorShape& t) {
  if (t.ndim < 2 || !ends_with(t.name, "weight")) return false;
  static constexpr std::string_view kKept[] = {
      "_norm.weight",        "ffn_gate_inp.weight",   "ssm_conv1d.weight",       "time_mix_first.weight",
      "time_mix_w1.weight",  "time_mix_w2.weight",    "time_mix_decay_w1.weight", "time_mix_decay_w2.weight",
      "time_mix_lerp_fused.weight", "attn_rel_b.weight",
  };
  for (std::string_view k : kKept)
    if (contains(t.name, k)) return false;
  return t.name != "position_embd.weight" && t.name != "token_types.weight";
}

// "blk.12.attn_v.weight" -> 12; -1 for tensors outside the blocks.
int layer_of(std::string_view name) {
  if (name.substr(0, 4) != "blk.") return -1;
  int layer = 0;
  size_t i = 4;
  if (i >= name.size() || !std::isdigit(static_cast<unsigned char>(name[i]))) return -1;
  for (; i < name.size() && std::isdigit(static_cast<unsigned char>(name[i])); ++i) {
    layer = layer * 10 + (name[i] - '0');
    if (layer > (1 << 24)) return -1;
  }
  return i < name.size() && name[i] == '.' ? layer : -1;
}

// --- the rules ------------------------------------------------------------------

// llama.cpp's "use more bits" layers: the first and last eighth, and every
// third layer in between.
bool use_more_bits(int i, int n) { return i < n / 8 || i >= 7 * n / 8 || (i - n / 8) % 3 == 2; }

struct RuleContext {
  FileType ft;
  DType base;
  const ModelLayout* layout;
  uint32_t n_gqa;
  bool is_70b;  // llama.cpp gives a 70B llama's attn_v more bits
  bool falcon;
  int n_attention_wv;
};

// Where a tensor stands among its role's tensors: its index i of n, as
// llama.cpp counts them (in block order).
struct Position {
  int i = 0;
  int n = 0;
};

DType attn_v_type(const RuleContext& c, DType t, Position p) {
  const uint32_t n_expert = c.layout->n_expert;
  switch (c.ft) {
    case FileType::kQ2_K: t = c.n_gqa >= 4 ? DType::Q4_K : DType::Q3_K; break;
    case FileType::kQ3_K_M: t = p.i < 2 ? DType::Q5_K : DType::Q4_K; break;
    case FileType::kQ3_K_L: t = DType::Q5_K; break;
    case FileType::kQ4_K_M:
    case FileType::kQ5_K_M:
      if (use_more_bits(p.i, p.n)) t = DType::Q6_K;
      break;
    case FileType::kQ4_K_S:
      if (p.i < 4) t = DType::Q5_K;
      break;
    default: break;
  }
  // In a 70B model eight heads share each attn_v, so it is small and cheap to widen.
  if (c.is_70b && (t == DType::Q3_K || t == DType::Q4_K)) t = DType::Q5_K;
  if (n_expert == 8) t = DType::Q8_0;
  return t;
}

DType ffn_down_type(const RuleContext& c, DType t, Position p) {
  switch (c.ft) {
    case FileType::kQ2_K: return DType::Q3_K;
    case FileType::kQ3_K_M:
      if (p.i < p.n / 16) return DType::Q5_K;
      return !c.falcon || use_more_bits(p.i, p.n) ? DType::Q4_K : DType::Q3_K;
    case FileType::kQ3_K_L: return c.falcon ? DType::Q4_K : DType::Q5_K;
    case FileType::kQ4_K_M:
      if (c.falcon) return p.i < p.n / 16 ? DType::Q6_K : use_more_bits(p.i, p.n) ? DType::Q5_K : DType::Q4_K;
      return use_more_bits(p.i, p.n) ? DType::Q6_K : t;
    case FileType::kQ5_K_M: return use_more_bits(p.i, p.n) ? DType::Q6_K : t;
    case FileType::kQ4_K_S: return !c.falcon && p.i < p.n / 8 ? DType::Q5_K : t;
    default: return t;
  }
}

DType attn_output_type(const RuleContext& c, DType t) {
  if (c.falcon) return c.ft == FileType::kQ3_K_L ? DType::Q4_K : t;
  if (c.layout->n_expert == 8) {
    switch (c.ft) {
      case FileType::kQ2_K:
      case FileType::kQ3_K_S:
      case FileType::kQ3_K_M:
      case FileType::kQ4_K_S:
      case FileType::kQ4_K_M: return DType::Q5_K;
      default: return t;
    }
  }
  switch (c.ft) {
    case FileType::kQ2_K: return DType::Q3_K;
    case FileType::kQ3_K_M: return DType::Q4_K;
    case FileType::kQ3_K_L: return DType::Q5_K;
    default: return t;
  }
}

DType attn_qkv_type(const RuleContext& c, DType t) {
  switch (c.ft) {
    case FileType::kQ3_K_M:
    case FileType::kQ3_K_L: return DType::Q4_K;
    case FileType::kQ4_K_M: return DType::Q5_K;
    case FileType::kQ5_K_M: return DType::Q6_K;
    default: return t;
  }
}

// The output matrix (or the tied token embedding, which is also the output)
// gets Q6_K, unless the file is Q8_0 already or the row does not fit the
// file's own block, in which case Q8_0.
DType output_type(const RuleContext& c, const TensorShape& t) {
  const size_t block = dtype_info(c.base)->block_elems;
  if (c.falcon || size_t(t.ne[0]) % block != 0) return DType::Q8_0;
  return c.base == DType::Q8_0 ? DType::Q8_0 : DType::Q6_K;
}

// The type a quantized file type gives one quantizable tensor, before the
// row-length fallback.
DType rule_type(const RuleContext& c, const TensorShape& t, Role role, Position p) {
  if (role == Role::kOutput || (role == Role::kTokenEmbd && c.layout->tied_embeddings)) return output_type(c, t);
  switch (role) {
    case Role::kAttnV: return attn_v_type(c, c.base, p);
    case Role::kAttnK: return c.layout->n_expert == 8 ? DType::Q8_0 : c.base;
    case Role::kFfnDown: return ffn_down_type(c, c.base, p);
    case Role::kAttnOutput: return attn_output_type(c, c.base);
    case Role::kAttnQkv: return attn_qkv_type(c, c.base);
    default: return c.base;  // token_embd, attn_q, ffn_gate, ffn_up: no rule without an imatrix
  }
}

bool divides(DType t, int64_t row) { return uint64_t(row) % dtype_info(t)->block_elems == 0; }

// A row the chosen block does not divide: the nearest type with 32-element
// blocks, as llama.cpp falls back (it uses IQ4_NL for Q2_K/Q3_K, which loci
// does not have; recent llama.cpp uses Q4_0 there too), else F16.
DType fallback_type(DType t, int64_t row) {
  DType f = DType::F16;
  switch (t) {
    case DType::Q2_K:
    case DType::Q3_K: f = DType::Q4_0; break;
    case DType::Q4_K: f = DType::Q5_0; break;
    case DType::Q5_K: f = DType::Q5_1; break;
    case DType::Q6_K: f = DType::Q8_0; break;
    default: break;
  }
  return divides(f, row) ? f : DType::F16;
}

struct TensorPlan {
  DType dtype = DType::F32;
  bool quantizable = false;  // false: the tensor keeps its own type (F32 when unknown)
  bool fallback = false;
};

Result<std::vector<TensorPlan>> plan_types(FileType ft, const ModelLayout& layout,
                                           const std::vector<TensorShape>& tensors, bool pure) {
  const FileTypeEntry* entry = entry_of(ft);
  if (!entry) return invalid_argument("quantize: unknown file type " + std::to_string(uint32_t(ft)));
  RuleContext c{ft, entry->base, &layout, 0, false, layout.arch == "falcon", 0};
  c.n_gqa = layout.n_head_kv ? layout.n_head / layout.n_head_kv : 0;
  c.is_70b = layout.arch == "llama" && layout.n_layer == 80 && layout.n_head != layout.n_head_kv;

  const size_t n = tensors.size();
  std::vector<TensorPlan> plan(n);
  std::vector<Role> roles(n);
  for (size_t i = 0; i < n; ++i) {
    const TensorShape& t = tensors[i];
    if (t.ndim < 1 || t.ndim > int(kMaxDims))
      return invalid_argument("quantize: tensor '" + std::string(t.name) + "' has " + std::to_string(t.ndim) + " dims");
    for (int d = 0; d < t.ndim; ++d)
      if (t.ne[d] <= 0) return invalid_argument("quantize: tensor '" + std::string(t.name) + "' has an empty dim");
    roles[i] = role_of(t.name);
    plan[i].quantizable = is_quantizable(t);
    const Role r = roles[i];
    if (r == Role::kAttnV || r == Role::kAttnQkv || r == Role::kAttnKvB) ++c.n_attention_wv;
  }

  // llama.cpp counts attn_v and the FFN matrices in block order (its tensor
  // map sorts by layer, then name), so rank them that way, whatever the file order.
  std::vector<size_t> order(n);
  for (size_t i = 0; i < n; ++i) order[i] = i;
  std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) {
    const int la = layer_of(tensors[a].name), lb = layer_of(tensors[b].name);
    return la != lb ? la < lb : tensors[a].name < tensors[b].name;
  });
  std::vector<int> rank(n, 0);
  int seen[int(Role::kOther) + 1] = {};
  for (size_t i : order)
    if (plan[i].quantizable) rank[i] = seen[int(roles[i])]++;

  const bool rules = dtype_info(entry->base)->quantized;
  for (size_t i = 0; i < n; ++i) {
    const TensorShape& t = tensors[i];
    TensorPlan& p = plan[i];
    if (!p.quantizable) continue;  // dtype stays F32
    if (!rules) {
      p.dtype = entry->base;
      continue;
    }
    Position pos{rank[i], int(layout.n_layer)};
    if (roles[i] == Role::kAttnV) pos.n = c.n_attention_wv;
    const bool per_layer = roles[i] == Role::kFfnDown || roles[i] == Role::kFfnGate || roles[i] == Role::kFfnUp;
    if (per_layer && layout.n_expert > 1) {
      // Experts are not one tensor per layer: take the layer from the name.
      pos.i = layer_of(t.name);
      if (pos.i < 0 || pos.i >= int(layout.n_layer))
        return invalid_argument("quantize: tensor '" + std::string(t.name) + "' is not in a block 0.." +
                                std::to_string(layout.n_layer) + "-1");
    }
    p.dtype = pure ? c.base : rule_type(c, t, roles[i], pos);
    if (!divides(p.dtype, t.ne[0])) {
      p.dtype = fallback_type(p.dtype, t.ne[0]);
      p.fallback = true;
    }
  }
  return plan;
}

// --- the conversion ------------------------------------------------------------

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& ch : out) ch = char(std::tolower(static_cast<unsigned char>(ch)));
  return out;
}

Result<ModelLayout> layout_of(const GgufFile& file) {
  ModelLayout l;
  LOCI_ASSIGN_OR_RETURN(const std::string_view arch, file.get_string("general.architecture"));
  l.arch = std::string(arch);
  LOCI_ASSIGN_OR_RETURN(l.n_layer, file.get_u32(l.arch + ".block_count"));
  // Some architectures store per-layer head counts as arrays; the rules then
  // see no GQA, which only changes Q2_K's attn_v.
  const Result<uint32_t> heads = file.get_u32(l.arch + ".attention.head_count", 0);
  l.n_head = heads.is_ok() ? *heads : 0;
  const Result<uint32_t> kv_heads = file.get_u32(l.arch + ".attention.head_count_kv", l.n_head);
  l.n_head_kv = kv_heads.is_ok() ? *kv_heads : l.n_head;
  LOCI_ASSIGN_OR_RETURN(l.n_expert, file.get_u32(l.arch + ".expert_count", 0));
  l.tied_embeddings = file.find_tensor("output.weight") == nullptr;
  return l;
}

// Converts one tensor's rows [first, last) from the source into `dst`.
Status convert_rows(const GgufTensor& src, DType dst_type, size_t dst_row_bytes, int64_t first, int64_t last,
                    float* scratch, uint8_t* dst) {
  const size_t ne0 = size_t(src.ne[0]);
  const size_t src_row_bytes = src.view.row_bytes();
  const auto* in = static_cast<const uint8_t*>(src.view.data);
  const bool quantized = dtype_info(dst_type)->quantized;
  for (int64_t r = first; r < last; ++r) {
    const uint8_t* s = in + size_t(r) * src_row_bytes;
    uint8_t* d = dst + size_t(r) * dst_row_bytes;
    if (src.dtype == dst_type) {
      std::memcpy(d, s, src_row_bytes);
      continue;
    }
    LOCI_RETURN_IF_ERROR(dequantize_row(src.dtype, s, scratch, ne0));
    if (quantized) {
      // A NaN or infinity would poison a whole block's scale.
      for (size_t k = 0; k < ne0; ++k)
        if (!std::isfinite(scratch[k]))
          return invalid_model("quantize: tensor '" + std::string(src.name) + "' row " + std::to_string(r) +
                               " holds a non-finite value at column " + std::to_string(k));
    }
    LOCI_RETURN_IF_ERROR(quantize_row(dst_type, scratch, d, ne0));
  }
  return Status::ok();
}

// Fills one tensor, its rows split into contiguous chunks over the pool.
Status convert_tensor(const GgufTensor& src, DType dst_type, ThreadPool* pool, void* dst) {
  const int64_t rows = src.view.rows();
  const size_t ne0 = size_t(src.ne[0]);
  const size_t dst_row_bytes = *dtype_row_bytes(dst_type, ne0);
  const size_t threads = pool ? pool->threads() : 1;
  // A few chunks per thread evens out the load; tiny tensors take one.
  const int64_t min_rows = std::max<int64_t>(1, int64_t(65536 / std::max<size_t>(ne0, 1)));
  const size_t n_chunks = size_t(std::clamp<int64_t>(rows / min_rows, 1, int64_t(threads * 4)));
  std::vector<std::vector<float>> scratch(n_chunks, std::vector<float>(ne0));
  std::vector<Status> status(n_chunks);
  auto* out = static_cast<uint8_t*>(dst);
  parallel_for(pool, n_chunks, [&](size_t c) {
    const int64_t first = rows * int64_t(c) / int64_t(n_chunks);
    const int64_t last = rows * int64_t(c + 1) / int64_t(n_chunks);
    status[c] = convert_rows(src, dst_type, dst_row_bytes, first, last, scratch[c].data(), out);
  });
  for (Status& s : status)
    if (!s.is_ok()) return std::move(s);
  return Status::ok();
}

Result<QuantizeReport> quantize(const std::string& in_path, const std::string& out_path,
                                const QuantizeOptions& options) {
  const FileTypeEntry* entry = entry_of(options.type);
  if (!entry) return invalid_argument("quantize: unknown file type " + std::to_string(uint32_t(options.type)));
  LOCI_ASSIGN_OR_RETURN(const std::shared_ptr<const GgufFile> file, GgufFile::open(in_path));

  for (const GgufTensor& t : file->tensors()) {
    if (t.dtype != DType::F32 && t.dtype != DType::F16 && t.dtype != DType::BF16)
      return invalid_argument(in_path + ": tensor '" + std::string(t.name) + "' is already " + dtype_name(t.dtype) +
                              "; quantize from the F32, F16 or BF16 model (requantizing loses precision twice)");
  }
  LOCI_ASSIGN_OR_RETURN(const ModelLayout layout, layout_of(*file));
  std::vector<TensorShape> shapes;
  shapes.reserve(file->tensors().size());
  for (const GgufTensor& t : file->tensors()) {
    TensorShape s;
    s.name = t.name;
    s.ndim = t.ndim;
    std::copy(t.ne, t.ne + kMaxDims, s.ne);
    shapes.push_back(s);
  }
  LOCI_ASSIGN_OR_RETURN(const std::vector<TensorPlan> plan, plan_types(options.type, layout, shapes, options.pure));

  GgufWriter w(file->alignment());
  for (const GgufKv& kv : file->kvs()) w.copy_kv(*file, kv);
  // As llama.cpp does: both keys go last, quantization version first.
  w.remove("general.quantization_version");
  w.remove("general.file_type");
  w.set_u32("general.quantization_version", kQuantizationVersion);
  w.set_u32("general.file_type", uint32_t(options.type));

  QuantizeReport report;
  std::vector<DType> types(plan.size());
  for (size_t i = 0; i < plan.size(); ++i) {
    const GgufTensor& t = file->tensors()[i];
    // Tensors no rule quantizes keep their type, as in llama.cpp.
    types[i] = plan[i].quantizable ? plan[i].dtype : t.dtype;
    LOCI_RETURN_IF_ERROR(w.add_tensor(t.name, types[i], t.ne, t.ndim));
    report.bytes_in += t.bytes;
    report.bytes_out += w.tensors().back().bytes;
    report.n_fallback += plan[i].fallback ? 1 : 0;
  }
  report.n_tensors = plan.size();

  LOCI_ASSIGN_OR_RETURN(std::unique_ptr<ThreadPool> pool, ThreadPool::create(options.n_threads));
  const size_t total = plan.size();
  // No exception may cross the writer: it must get the error to remove its temporary file.
  auto fill = [&](size_t i, void* dst) -> Status {
    return detail::bad_alloc_as_status("quantize_model", [&]() -> Status {
      const GgufTensor& t = file->tensors()[i];
      LOCI_RETURN_IF_ERROR(convert_tensor(t, types[i], pool.get(), dst));
      if (options.progress) options.progress(i + 1, total, t.name, types[i]);
      return Status::ok();
    });
  };
  LOCI_RETURN_IF_ERROR(w.write_file(out_path, fill));
  return report;
}

}  // namespace

std::optional<FileType> file_type_from_name(std::string_view name) {
  const std::string n = lower(name);
  // llama-quantize's short names for the medium mixes.
  if (n == "q3_k") return FileType::kQ3_K_M;
  if (n == "q4_k") return FileType::kQ4_K_M;
  if (n == "q5_k") return FileType::kQ5_K_M;
  for (const FileTypeEntry& e : kFileTypes)
    if (n == e.name) return e.type;
  return std::nullopt;
}

const char* file_type_name(FileType ft) {
  const FileTypeEntry* e = entry_of(ft);
  return e ? e->name : "unknown";
}

std::vector<FileType> file_types() {
  std::vector<FileType> out;
  for (const FileTypeEntry& e : kFileTypes) out.push_back(e.type);
  std::sort(out.begin(), out.end());
  return out;
}

Result<std::vector<DType>> choose_tensor_types(FileType ft, const ModelLayout& layout,
                                               const std::vector<TensorShape>& tensors) {
  return detail::bad_alloc_as_status("choose_tensor_types", [&]() -> Result<std::vector<DType>> {
    LOCI_ASSIGN_OR_RETURN(const std::vector<TensorPlan> plan, plan_types(ft, layout, tensors, false));
    std::vector<DType> out(plan.size());
    for (size_t i = 0; i < plan.size(); ++i) out[i] = plan[i].dtype;
    return out;
  });
}

Result<QuantizeReport> quantize_model(const std::string& in_path, const std::string& out_path,
                                      const QuantizeOptions& options) {
  return detail::bad_alloc_as_status("quantize_model", [&]() { return quantize(in_path, out_path, options); });
}

}  // namespace loci
