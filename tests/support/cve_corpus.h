// Crafted GGUF files, one family per class of loader bug that llama.cpp's
// GGUF reader shipped between 2024 and 2026 (dimension and byte-size
// overflow, unchecked string and array lengths, n_dims out of range,
// alignment padding overflow, data past the end, token ids against the
// vocabulary, tokenizer integer overflow, chat-template injection), the
// defects fuzzing found in loci, and the small valid models they are edited from.
//
// Used twice: the regression tests (tests/files/test_gguf_cve_classes.cpp)
// check each file is refused with the expected code and message, and the
// fuzz corpus generator (tests/fuzz/gen_corpus.cpp) writes them as seeds.
// Everything is deterministic: the same bytes on every run and machine.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "loci/dtype.h"
#include "loci/status.h"
#include "support/gguf_writer.h"

namespace loci::test {

// A complete model small enough to fuzz (a few KiB to tens of KiB) that
// loads and evaluates: one layer, n_embd 32, two heads over one KV head.
struct TinyModelSpec {
  std::string arch = "llama";  // "llama" (SPM vocabulary) or "qwen2" (byte-level BPE, q/k/v biases)
  DType weights = DType::Q8_0;  // the matrices' type; vectors are always f32
  bool tied = false;            // no output.weight: token_embd doubles as the output matrix
  uint64_t seed = 1;            // weight values
};
GgufWriter tiny_runnable_model(const TinyModelSpec& spec);

// The step of loading that must refuse a crafted file.
enum class CveStage {
  kParse,      // GgufFile::parse / open / borrow
  kTokenizer,  // Tokenizer::from_gguf (and so Model::from_gguf)
  kModel,      // Model::from_gguf, after the tokenizer
  kLoads,      // hostile but harmless: must load, decode, and read back verbatim
};
const char* cve_stage_name(CveStage s);

struct CveCase {
  std::string name;       // file name: "<class>--<variant>.gguf"
  std::string cve_class;  // the bug class, as the issue names it
  CveStage stage = CveStage::kParse;
  StatusCode code = StatusCode::kInvalidModel;
  std::vector<std::string> words;  // substrings the message must hold: field, value, reason, offset
  std::vector<uint8_t> bytes;
  // kLoads only: a metadata string that must read back byte for byte...
  std::string verbatim_key, verbatim_value;
  // ...and a token whose text must (-1: none).
  int32_t token_id = -1;
  std::string token_text;
  bool finite_logits = true;  // kLoads: the decoded token's logits must be finite
};

// One or more files per class; every one derives from a tiny_runnable_model
// that loads, so the only defect is the crafted one.
std::vector<CveCase> cve_cases();

struct NamedImage {
  std::string name;
  std::vector<uint8_t> bytes;
};
// Valid tiny models (llama/SPM and qwen2/BPE, several weight types), the
// fuzzers' starting points.
std::vector<NamedImage> valid_seed_models();

}  // namespace loci::test
