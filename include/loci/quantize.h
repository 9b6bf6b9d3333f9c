// Model file types and the model quantizer (`loci quantize`).
//
// A file type names how a whole model is stored: one dtype for the big
// matrices (Q4_0, Q8_0, ...) or a mix (Q4_K_M: mostly Q4_K, with the tensors
// that matter most in Q6_K). The per-tensor choice follows llama.cpp's rules
// (llama-quantize without an imatrix), so a loci file and a llama.cpp file of
// the same type hold the same dtypes, and both engines load either.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "loci/dtype.h"
#include "loci/gguf.h"
#include "loci/status.h"

namespace loci {

// llama.cpp's llama_ftype values, as stored in general.file_type.
enum class FileType : uint32_t {
  kF32 = 0,
  kF16 = 1,
  kQ4_0 = 2,
  kQ4_1 = 3,
  kQ8_0 = 7,
  kQ5_0 = 8,
  kQ5_1 = 9,
  kQ2_K = 10,
  kQ3_K_S = 11,
  kQ3_K_M = 12,
  kQ3_K_L = 13,
  kQ4_K_S = 14,
  kQ4_K_M = 15,
  kQ5_K_S = 16,
  kQ5_K_M = 17,
  kQ6_K = 18,
  kBF16 = 32,
};

// "q4_k_m", "q8_0", "f16", ...; case-insensitive. As in llama-quantize, "q3_k",
// "q4_k" and "q5_k" mean the _M mixes.
std::optional<FileType> file_type_from_name(std::string_view name);
const char* file_type_name(FileType ft);  // "q4_k_m"
std::vector<FileType> file_types();       // every supported one, in enum order

// What the rules need to know about the model besides each tensor's name and shape.
struct ModelLayout {
  std::string arch;        // general.architecture
  uint32_t n_layer = 0;
  uint32_t n_head = 0;
  uint32_t n_head_kv = 0;
  uint32_t n_expert = 0;   // 0 for dense models
  bool tied_embeddings = false;  // no output.weight: token_embd is also the output matrix
};

struct TensorShape {
  std::string_view name;
  int ndim = 0;
  int64_t ne[kMaxDims] = {1, 1, 1, 1};
};

// The dtype each tensor gets in a model of type `ft`, in input order.
// Vectors (norms, biases) and the other tensors llama.cpp never quantizes
// (routers, position tables) get F32; quantize_model keeps their source type.
// The layer rules count attn_v and the FFN matrices in block order, whatever
// the order of `tensors`. A row length the chosen type's block does
// not divide falls back as llama.cpp does (e.g. Q4_K -> Q5_0, Q6_K -> Q8_0, and
// F16 where no block divides it).
Result<std::vector<DType>> choose_tensor_types(FileType ft, const ModelLayout& layout,
                                               const std::vector<TensorShape>& tensors);

struct QuantizeOptions {
  FileType type = FileType::kQ4_K_M;
  uint32_t n_threads = 0;  // 0: one per core
  // Every quantizable matrix in the type's own dtype, no mix (llama-quantize
  // --pure); rows its block does not divide still fall back.
  bool pure = false;
  // Called after each tensor: (tensors done, total, the tensor's name, its new dtype).
  std::function<void(size_t done, size_t total, std::string_view name, DType dtype)> progress;
};

struct QuantizeReport {
  uint64_t bytes_in = 0;   // tensor data read
  uint64_t bytes_out = 0;  // tensor data written
  size_t n_tensors = 0;
  size_t n_fallback = 0;   // tensors stored in a fallback type (row length not divisible)
};

// Converts a model whose matrices are F32, F16 or BF16 to `options.type`.
// Metadata is copied, general.file_type set. The output is written under a
// temporary name and renamed into place, so a failure leaves nothing behind.
// An input already quantized is refused (requantizing loses precision twice).
Result<QuantizeReport> quantize_model(const std::string& in_path, const std::string& out_path,
                                      const QuantizeOptions& options);

}  // namespace loci
