// Synthetic models: real architectures' shapes filled with random weights, so
// any board can be benchmarked at a real model's size without a model file,
// and two engines can be compared on one file (`loci synth -o FILE.gguf`).
//
// The weights are random but well-formed (finite, scaled like trained weights,
// about N(0, 0.02)), so every kernel runs its normal path. The vocabulary is a
// SentencePiece-style one of the shape's size: control tokens, the 256 byte
// tokens, then filler pieces. The text a synthetic model writes is noise.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "loci/gguf.h"
#include "loci/gguf_writer.h"
#include "loci/model.h"
#include "loci/quantize.h"
#include "loci/status.h"

namespace loci {

struct SynthShape {
  const char* name;         // "llama-1b"
  const char* description;  // what it copies
  Arch arch;
  uint32_t n_vocab, n_embd, n_layer, n_head, n_head_kv, n_ff, n_ctx_train;
  float rope_base, rms_eps;
  bool tied_embeddings;
};

// The built-in shapes: llama-1b (Llama-3.2-1B with a 32000 vocab), llama3.2-1b
// (its real 128256 vocab), qwen2.5-0.5b, tinyllama-1.1b and stories15m.
const std::vector<SynthShape>& synth_shapes();

struct SynthSpec {
  SynthShape shape;
  FileType type = FileType::kQ4_0;
  uint64_t seed = 1;
};

// "llama-1b:q4_0", "qwen2.5-0.5b:q4_k_m", "stories15m" (f16 when no type).
Result<SynthSpec> parse_synth_spec(std::string_view spec);
std::string synth_spec_name(const SynthSpec& spec);  // "llama-1b:q4_0"

// Describes the model's metadata and tensors in `w` and returns how to fill
// each tensor's bytes (valid while `w` lives). Filling is deterministic for a
// seed, and splits each tensor's rows over `pool` (inline when null).
Result<GgufWriter::TensorFill> describe_synth_model(const SynthSpec& spec, ThreadPool* pool, GgufWriter* w);

// The model, built in memory (about the size of its file).
Result<std::shared_ptr<const Model>> build_synth_model(const SynthSpec& spec, ThreadPool* pool);
// The same model, written as a GGUF file.
Status write_synth_model(const SynthSpec& spec, const std::string& path, ThreadPool* pool);

}  // namespace loci
