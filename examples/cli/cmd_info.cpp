// `loci info`: what a GGUF file holds (metadata, tensors, parameter count,
// file type) and what running it would cost in memory.
#include <algorithm>
#include <cinttypes>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <string>
#include <vector>

#include "args.h"
#include "commands.h"
#include "loci/gguf.h"
#include "loci/model.h"

namespace loci::cli {
namespace {

constexpr size_t kArrayPreview = 5;   // array elements shown
constexpr size_t kStringPreview = 96;  // bytes of a long string shown

struct InfoArgs {
  std::string model;
  int64_t n_ctx = 0;
  int64_t n_batch = 64;
  DType kv_type = DType::F16;
};

// llama.cpp's llama_ftype values and the names its tools print.
struct FileTypeName {
  int64_t id;
  const char* enum_name;
  const char* name;
};
constexpr FileTypeName kFileTypes[] = {
    {0, "ALL_F32", "all F32"},
    {1, "MOSTLY_F16", "F16"},
    {2, "MOSTLY_Q4_0", "Q4_0"},
    {3, "MOSTLY_Q4_1", "Q4_1"},
    {7, "MOSTLY_Q8_0", "Q8_0"},
    {8, "MOSTLY_Q5_0", "Q5_0"},
    {9, "MOSTLY_Q5_1", "Q5_1"},
    {10, "MOSTLY_Q2_K", "Q2_K - Medium"},
    {11, "MOSTLY_Q3_K_S", "Q3_K - Small"},
    {12, "MOSTLY_Q3_K_M", "Q3_K - Medium"},
    {13, "MOSTLY_Q3_K_L", "Q3_K - Large"},
    {14, "MOSTLY_Q4_K_S", "Q4_K - Small"},
    {15, "MOSTLY_Q4_K_M", "Q4_K - Medium"},
    {16, "MOSTLY_Q5_K_S", "Q5_K - Small"},
    {17, "MOSTLY_Q5_K_M", "Q5_K - Medium"},
    {18, "MOSTLY_Q6_K", "Q6_K"},
    {19, "MOSTLY_IQ2_XXS", "IQ2_XXS - 2.0625 bpw"},
    {20, "MOSTLY_IQ2_XS", "IQ2_XS - 2.3125 bpw"},
    {21, "MOSTLY_Q2_K_S", "Q2_K - Small"},
    {22, "MOSTLY_IQ3_XS", "IQ3_XS - 3.3 bpw"},
    {23, "MOSTLY_IQ3_XXS", "IQ3_XXS - 3.0625 bpw"},
    {24, "MOSTLY_IQ1_S", "IQ1_S - 1.5625 bpw"},
    {25, "MOSTLY_IQ4_NL", "IQ4_NL - 4.5 bpw"},
    {26, "MOSTLY_IQ3_S", "IQ3_S - 3.4375 bpw"},
    {27, "MOSTLY_IQ3_M", "IQ3_S mix - 3.66 bpw"},
    {28, "MOSTLY_IQ2_S", "IQ2_S - 2.5 bpw"},
    {29, "MOSTLY_IQ2_M", "IQ2_M - 2.7 bpw"},
    {30, "MOSTLY_IQ4_XS", "IQ4_XS - 4.25 bpw"},
    {31, "MOSTLY_IQ1_M", "IQ1_M - 1.75 bpw"},
    {32, "MOSTLY_BF16", "BF16"},
    {36, "MOSTLY_TQ1_0", "TQ1_0 - 1.69 bpw ternary"},
    {37, "MOSTLY_TQ2_0", "TQ2_0 - 2.06 bpw ternary"},
};

const FileTypeName* file_type(int64_t id) {
  for (const FileTypeName& f : kFileTypes)
    if (f.id == id) return &f;
  return nullptr;
}

// llama.cpp's guess for files without general.file_type: the type most
// tensors have, as the file type of that name.
int64_t guess_file_type(const GgufFile& file) {
  std::map<DType, size_t> count;
  for (const GgufTensor& t : file.tensors()) ++count[t.dtype];
  if (count.empty()) return -1;
  const auto most = std::max_element(count.begin(), count.end(),
                                     [](const auto& a, const auto& b) { return a.second < b.second; });
  switch (most->first) {
    case DType::F32: return 0;
    case DType::F16: return 1;
    case DType::BF16: return 32;
    case DType::Q4_0: return 2;
    case DType::Q4_1: return 3;
    case DType::Q5_0: return 8;
    case DType::Q5_1: return 9;
    case DType::Q8_0: return 7;
    case DType::Q2_K: return 10;
    case DType::Q3_K: return 12;
    case DType::Q4_K: return 15;
    case DType::Q5_K: return 17;
    case DType::Q6_K: return 18;
    default: return -1;
  }
}

std::string describe_file_type(const GgufFile& file) {
  const GgufKv* kv = file.find("general.file_type");
  int64_t id = -1;
  bool guessed = false;
  if (kv && kv->type != GgufType::kArray && kv->type != GgufType::kString) {
    id = kv->i;
  } else {
    id = guess_file_type(file);
    guessed = true;
  }
  if (id < 0) return "unknown";
  const FileTypeName* f = file_type(id);
  std::string s = f ? std::string(f->name) + " (" + f->enum_name + ", " + std::to_string(id) + ")"
                    : "unknown file type " + std::to_string(id);
  if (guessed) s += ", guessed: no general.file_type";
  return s;
}

std::string quoted(std::string_view s) {
  std::string out = "\"";
  const size_t n = std::min(s.size(), kStringPreview);
  for (size_t i = 0; i < n; ++i) {
    const unsigned char c = static_cast<unsigned char>(s[i]);
    if (c == '"' || c == '\\') out += std::string("\\") + char(c);
    else if (c == '\n') out += "\\n";
    else if (c == '\t') out += "\\t";
    else if (c < 0x20 || c == 0x7F) {
      char hex[8];
      std::snprintf(hex, sizeof hex, "\\x%02x", c);
      out += hex;
    } else {
      out += char(c);
    }
  }
  out += "\"";
  if (n < s.size()) out += "... (" + std::to_string(s.size()) + " bytes)";
  return out;
}

// The shortest decimal that reads back as the same float.
std::string shortest(double x, bool single) {
  char buf[40];
  for (int digits = single ? 6 : 15; digits <= (single ? 9 : 17); ++digits) {
    std::snprintf(buf, sizeof buf, "%.*g", digits, x);
    const double back = std::strtod(buf, nullptr);
    if (single ? float(back) == float(x) : back == x) break;
  }
  return buf;
}

std::string scalar_value(const GgufKv& kv) {
  switch (kv.type) {
    case GgufType::kBool: return kv.i ? "true" : "false";
    case GgufType::kU8: case GgufType::kU16: case GgufType::kU32: case GgufType::kU64:
      return std::to_string(kv.u);
    case GgufType::kI8: case GgufType::kI16: case GgufType::kI32: case GgufType::kI64:
      return std::to_string(kv.i);
    case GgufType::kF32: return shortest(kv.f, true);
    case GgufType::kF64: return shortest(kv.f, false);
    case GgufType::kString: return quoted(kv.str);
    default: return "?";
  }
}

// "[a, b, c, ...]" from the first elements, or "" when the element type has
// no getter (bool, f64).
std::string array_preview(const GgufFile& file, const GgufKv& kv) {
  std::vector<std::string> items;
  if (kv.elem_type == GgufType::kString) {
    if (auto v = file.get_string_array(kv.key))
      for (size_t i = 0; i < std::min(v->size(), kArrayPreview); ++i) items.push_back(quoted((*v)[i]));
  } else if (kv.elem_type == GgufType::kF32) {
    if (auto v = file.get_f32_array(kv.key))
      for (size_t i = 0; i < std::min(v->size(), kArrayPreview); ++i) items.push_back(shortest((*v)[i], true));
  } else if (kv.elem_type != GgufType::kBool && kv.elem_type != GgufType::kF64) {
    if (auto v = file.get_i32_array(kv.key))
      for (size_t i = 0; i < std::min(v->size(), kArrayPreview); ++i) items.push_back(std::to_string((*v)[i]));
  }
  if (items.empty()) return kv.count == 0 ? "[]" : "";
  std::string s = "[";
  for (size_t i = 0; i < items.size(); ++i) s += (i ? ", " : "") + items[i];
  return s + (items.size() < kv.count ? ", ...]" : "]");
}

std::string type_column(const GgufKv& kv) {
  if (kv.type != GgufType::kArray) return gguf_type_name(kv.type);
  return std::string("array[") + gguf_type_name(kv.elem_type) + "] x " + std::to_string(kv.count);
}

std::string shape(const GgufTensor& t) {
  std::string s = "[";
  for (int d = 0; d < t.ndim; ++d) s += (d ? ", " : "") + std::to_string(t.ne[d]);
  return s + "]";
}

std::string human_count(uint64_t n) {
  char buf[32];
  if (n < 1000) return std::to_string(n);
  if (n < 1000000) std::snprintf(buf, sizeof buf, "%.2fK", n / 1e3);
  else if (n < 1000000000) std::snprintf(buf, sizeof buf, "%.2fM", n / 1e6);
  else std::snprintf(buf, sizeof buf, "%.2fB", n / 1e9);
  return buf;
}

void print_metadata(const GgufFile& file) {
  std::printf("metadata: %zu keys\n", file.kvs().size());
  for (const GgufKv& kv : file.kvs()) {
    const std::string value = kv.type == GgufType::kArray ? array_preview(file, kv) : scalar_value(kv);
    std::printf("  %-40.*s %-20s %s\n", int(kv.key.size()), kv.key.data(), type_column(kv).c_str(), value.c_str());
  }
}

uint64_t print_tensors(const GgufFile& file) {
  std::printf("tensors: %zu\n", file.tensors().size());
  uint64_t params = 0;
  for (const GgufTensor& t : file.tensors()) {
    params += uint64_t(t.ne[0] * t.ne[1] * t.ne[2] * t.ne[3]);
    std::printf("  %-40.*s %-6s %-24s %s\n", int(t.name.size()), t.name.data(), dtype_name(t.dtype),
                shape(t).c_str(), human_bytes(t.bytes).c_str());
  }
  return params;
}

void print_estimate(const MemoryEstimate& m, const SessionOptions& o, const HParams& hp) {
  // SessionOptions' default context: the trained one, at most 4096.
  const uint32_t n_ctx = o.n_ctx ? o.n_ctx : std::min<uint32_t>(hp.n_ctx_train, 4096);
  std::printf("memory for one session (context %u, KV cache %s, batch %u):\n", n_ctx, dtype_name(o.kv_dtype),
              o.n_batch);
  std::printf("  weights (mapped)  %s\n", human_bytes(m.weights_mapped).c_str());
  std::printf("  model heap        %s\n", human_bytes(m.model_heap).c_str());
  std::printf("  KV cache          %s\n", human_bytes(m.kv_cache).c_str());
  std::printf("  scratch           %s\n", human_bytes(m.scratch).c_str());
  std::printf("  total             %s\n", human_bytes(m.total()).c_str());
}

Status info(const InfoArgs& a) {
  SessionOptions o;
  o.n_ctx = uint32_t(a.n_ctx);
  o.n_batch = uint32_t(a.n_batch);
  o.kv_dtype = a.kv_type;

  LOCI_ASSIGN_OR_RETURN(std::shared_ptr<const GgufFile> file, GgufFile::open(a.model));
  std::printf("file: %s\n", file->path().c_str());
  std::printf("GGUF version %u, %s, alignment %" PRIu64 ", tensor data %s at offset %" PRIu64 "\n", file->version(),
              human_bytes(file->file_size()).c_str(), file->alignment(), human_bytes(file->tensor_bytes()).c_str(),
              file->data_offset());
  print_metadata(*file);
  const uint64_t params = print_tensors(*file);
  std::printf("parameters: %s (%" PRIu64 ")\n", human_count(params).c_str(), params);
  std::printf("file type: %s\n", describe_file_type(*file).c_str());
  if (file->tensors().empty()) {
    std::printf("memory: none (no tensors: a vocab-only file)\n");
    return Status::ok();
  }
  std::fflush(stdout);
  LOCI_ASSIGN_OR_RETURN(std::shared_ptr<const Model> model, Model::from_gguf(file));
  const HParams& hp = model->hparams();
  std::printf("model: %s, %u layers, embedding %u, %u heads (%u KV), feed-forward %u, vocabulary %u, trained context %u\n",
              arch_name(hp.arch), hp.n_layer, hp.n_embd, hp.n_head, hp.n_head_kv, hp.n_ff, hp.n_vocab, hp.n_ctx_train);
  LOCI_ASSIGN_OR_RETURN(const MemoryEstimate m, model->estimate(o));
  print_estimate(m, o, hp);
  return Status::ok();
}

}  // namespace

int info_command(int argc, char** argv) {
  InfoArgs a;
  std::string model_flag;
  std::string kv_type = "f16";
  ArgParser p("loci info [options] MODEL",
              "Shows a GGUF file's metadata (arrays as type, length and first elements), its tensors with\n"
              "types and shapes, the parameter count, the file type, and the memory a session would need.");
  p.positional("MODEL", &a.model, "the GGUF file");
  p.text({"-m", "--model"}, &model_flag, "FILE", "the GGUF file, as a flag instead of MODEL");
  p.integer({"-c", "--ctx-size"}, &a.n_ctx, 0, UINT32_MAX, "N", "context length for the estimate (default 0: the model's, at most 4096)");
  p.integer({"-b", "--batch-size"}, &a.n_batch, 1, UINT32_MAX, "N", "tokens per forward pass for the estimate (default 64)");
  p.text({"--kv-type"}, &kv_type, "f16|f32", "KV cache element type for the estimate (default f16)");
  if (Status s = p.parse(argc, argv); !s) return report_usage_error(s, "info");
  if (p.help_requested()) {
    std::fputs(p.help().c_str(), stdout);
    return kExitOk;
  }
  if (Status s = parse_kv_type("--kv-type", kv_type, &a.kv_type); !s) return report_usage_error(s, "info");
  if (!model_flag.empty()) {
    if (!a.model.empty()) return report_usage_error(invalid_argument("give the model once: -m FILE or MODEL"), "info");
    a.model = model_flag;
  }
  if (a.model.empty()) return report_usage_error(invalid_argument("missing MODEL"), "info");
  if (Status s = info(a); !s) return report_error(s);
  return kExitOk;
}

}  // namespace loci::cli
