// Tokenizers read from GGUF metadata (tokenizer.ggml.*): SentencePiece-style
// ("llama") and byte-level BPE ("gpt2") with the pre-tokenizers llama.cpp
// names in tokenizer.ggml.pre. Token ids equal llama.cpp's for the same text
// and flags.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "loci/status.h"

namespace loci {

class GgufFile;

enum class TokenizerKind : int32_t { kSpm = 1, kBpe = 2 };

// GGUF's tokenizer.ggml.token_type values.
enum class TokenType : int32_t {
  kUndefined = 0, kNormal = 1, kUnknown = 2, kControl = 3, kUserDefined = 4, kUnused = 5, kByte = 6,
};

class Tokenizer {
 public:
  // Builds from a model or vocab-only file. Refuses a missing or inconsistent
  // vocabulary, an unknown tokenizer.ggml.model, and an unknown
  // tokenizer.ggml.pre, naming the value.
  static Result<std::unique_ptr<Tokenizer>> from_gguf(const GgufFile& file);
  virtual ~Tokenizer();

  TokenizerKind kind() const;
  size_t n_vocab() const;
  int32_t bos() const;  // -1 when the vocabulary has none
  int32_t eos() const;
  bool add_bos() const;  // tokenizer.ggml.add_bos_token, or the model type's default
  bool add_eos() const;
  bool is_eog(int32_t id) const;  // end of generation: EOS, EOT and similar
  TokenType token_type(int32_t id) const;

  // Appends the ids of `text` to `out`. add_special adds BOS/EOS as add_bos()
  // and add_eos() say; parse_special turns control-token text such as "<s>"
  // into its id (off by default, as in llama.cpp).
  Status encode(std::string_view text, bool add_special, bool parse_special, std::vector<int32_t>* out) const;

  // The text bytes of one token (byte tokens become their byte, "▁" a space,
  // BPE's byte-level characters their bytes). Control tokens give "" unless
  // `special`. An id outside the vocabulary is kOutOfRange.
  Result<std::string_view> piece(int32_t id, bool special = false) const;
  // The raw vocabulary string of a token, as stored in the file.
  Result<std::string_view> token_text(int32_t id) const;

  // Concatenated pieces. SPM drops the leading space of the first piece when
  // `strip_leading_space` (as llama.cpp's detokenizer does after BOS).
  Status decode(const int32_t* ids, size_t n, bool special, std::string* out) const;

 protected:
  Tokenizer() = default;
  struct Vocab;
  std::unique_ptr<Vocab> vocab_;
};

}  // namespace loci
