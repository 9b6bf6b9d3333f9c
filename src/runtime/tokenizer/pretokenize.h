// BPE pre-tokenizers: split text into words before merging, as the regex
// sequences llama.cpp names in tokenizer.ggml.pre do. Each regex is a
// hand-written matcher with the regex's leftmost-first semantics; the
// sequence is applied as llama.cpp applies it (each regex splits every piece
// the previous ones left, keeping the unmatched text between matches as
// pieces too).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace loci::detail {

enum class PreTokenizer {
  kDefault,      // "default"
  kGpt2,         // "gpt-2"
  kLlama3,       // "llama-bpe"
  kQwen2,        // "qwen2"
  kDeepseekLlm,  // "deepseek-llm"
  kFalcon,       // "falcon"
  kStarcoder,    // "starcoder"
};

// Maps a tokenizer.ggml.pre value (and llama.cpp's aliases for the same
// splitting) to its pre-tokenizer; false if loci does not know the name.
bool pre_tokenizer_from_name(std::string_view name, PreTokenizer* out);
const char* pre_tokenizer_name(PreTokenizer p);

// Splits `text` into words. The text is first decoded leniently (see
// decode_utf8_lenient) and re-encoded into *normalized, which equals `text`
// when that is valid UTF-8; word i is normalized[word_ends[i-1], word_ends[i]).
void pre_tokenize(PreTokenizer p, std::string_view text, std::string* normalized, std::vector<size_t>* word_ends);

}  // namespace loci::detail
