// Tokenizers read from GGUF metadata (tokenizer.ggml.*): SentencePiece-style
// ("llama") and byte-level BPE ("gpt2") with the pre-tokenizers llama.cpp
// names in tokenizer.ggml.pre. Token ids equal llama.cpp's for the same text
// and flags.
//
// A Tokenizer is immutable after from_gguf(); its const methods may be called
// from several threads at once.
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
namespace detail {
struct TokenizerVocab;
}

enum class TokenizerKind : int32_t { kSpm = 1, kBpe = 2 };

// GGUF's tokenizer.ggml.token_type values.
enum class TokenType : int32_t {
  kUndefined = 0, kNormal = 1, kUnknown = 2, kControl = 3, kUserDefined = 4, kUnused = 5, kByte = 6,
};

class Tokenizer {
 public:
  // Builds from a model or vocab-only file; the tables are copied, so the
  // file may be closed afterwards. Refuses a missing or inconsistent
  // vocabulary (array lengths, token types, special token ids, malformed
  // merges or byte tokens) with kInvalidModel, and an unknown
  // tokenizer.ggml.model or tokenizer.ggml.pre with kUnsupported, naming the value.
  static Result<std::unique_ptr<Tokenizer>> from_gguf(const GgufFile& file);
  ~Tokenizer();
  Tokenizer(const Tokenizer&) = delete;
  Tokenizer& operator=(const Tokenizer&) = delete;

  TokenizerKind kind() const;
  size_t n_vocab() const;
  int32_t bos() const;  // -1 when the vocabulary has none
  int32_t eos() const;
  int32_t eot() const;  // end of turn: tokenizer.ggml.eot_token_id, else found by text ("<|eot_id|>", ...)
  int32_t unk() const;
  bool add_bos() const;  // tokenizer.ggml.add_bos_token, or the model type's default
  bool add_eos() const;
  // Encoding puts a space before the text (SPM's space prefix), so the
  // first piece after BOS starts with a space nobody wrote.
  bool adds_space_prefix() const;
  // End of generation: EOS, EOT, EOM and the tokens llama.cpp recognises by
  // text ("<|im_end|>", "<|endoftext|>", ...).
  bool is_eog(int32_t id) const;
  // The type as llama.cpp uses it: tokens recognised as end of generation by
  // their text count as kControl. kUndefined for an id outside the vocabulary.
  TokenType token_type(int32_t id) const;

  // Appends the ids of `text` to `out`. add_special adds BOS/EOS as add_bos()
  // and add_eos() say; parse_special turns control-token text such as "<s>"
  // into its id (off by default, as in llama.cpp; user-defined tokens are
  // always matched). SPM prefixes a space to the text (and to text that
  // follows a special token), as llama.cpp does.
  Status encode(std::string_view text, bool add_special, bool parse_special, std::vector<int32_t>* out) const;

  // The text bytes of one token: byte tokens become their byte, SPM's "▁" a
  // space, BPE's byte-level characters their bytes; control, user-defined and
  // unknown tokens their text as stored. Control and unknown tokens give ""
  // unless `special`; unused ones always give "". An id outside the
  // vocabulary is kOutOfRange. The view lives as long as the Tokenizer.
  Result<std::string_view> piece(int32_t id, bool special = false) const;
  // The raw vocabulary string of a token, as stored in the file.
  Result<std::string_view> token_text(int32_t id) const;

  // Appends the concatenated pieces of ids[0, n) to *out. For an SPM
  // vocabulary that adds a space prefix when encoding, one leading space is
  // dropped from the first non-empty piece, so decode(encode(text)) gives
  // back `text`. (llama.cpp's detokenizer drops it from the first token only,
  // so after a BOS its output keeps the space; it also "cleans up" spaces
  // before punctuation for most BPE vocabularies, which loci does not, as
  // that breaks the round trip.)
  Status decode(const int32_t* ids, size_t n, bool special, std::string* out) const;

  // Approximate bytes of the tables built at load.
  size_t heap_bytes() const;

 private:
  Tokenizer();
  std::unique_ptr<detail::TokenizerVocab> vocab_;
};

}  // namespace loci
