// Unicode helpers for the tokenizers: category flags per codepoint, lenient
// UTF-8 decoding exactly as llama.cpp does it, and GPT-2's byte-level
// alphabet. Tables are generated (see gen_unicode_tables.py) and constant.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace loci::detail {

// Category flags of a codepoint (one bit per Unicode general category group,
// plus the White_Space property).
enum CodepointFlag : uint8_t {
  kCpLetter = 1,      // \p{L}
  kCpNumber = 2,      // \p{N}
  kCpPunct = 4,       // \p{P}
  kCpMark = 8,        // \p{M}
  kCpSymbol = 16,     // \p{S}
  kCpSeparator = 32,  // \p{Z}
  kCpOther = 64,      // \p{C}, unassigned included
  kCpSpace = 128,     // White_Space
};

struct CodepointRange {
  uint32_t lo, hi;  // inclusive
};

// Flags of `cp`; codepoints past U+10FFFF count as unassigned (kCpOther).
uint8_t codepoint_flags(uint32_t cp);
// The Unicode version the tables were generated from.
uint32_t unicode_tables_version();

// Decodes one codepoint at s[*pos] and advances *pos, as llama.cpp does:
// overlong forms and surrogates are accepted, and a byte that does not start
// a well-formed sequence becomes U+FFFD and is skipped alone. Sequences that
// decode past U+10FFFF also give U+FFFD (llama.cpp throws on them).
uint32_t decode_utf8_lenient(std::string_view s, size_t* pos);
// Appends the UTF-8 bytes of cp (cp <= U+10FFFF).
void append_utf8(uint32_t cp, std::string* out);
// Byte length of the UTF-8 sequence that starts with `lead`, judged by its
// high nibble only (continuation bytes count as 1), as llama.cpp's splitter does.
inline size_t utf8_len_from_lead(uint8_t lead) {
  constexpr uint8_t kLen[16] = {1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 2, 2, 3, 4};
  return kLen[lead >> 4];
}

// The character classes that deepseek-llm's pre-tokenizer spells out as
// codepoint ranges rather than categories.
enum class DeepseekClass { kLetters, kPunct, kCjk };
bool in_deepseek_class(DeepseekClass c, uint32_t cp);

// GPT-2's byte-level alphabet: each byte is shown as one printable codepoint.
uint32_t byte_to_bpe_codepoint(uint8_t b);
// The byte a byte-level codepoint stands for, or -1 if cp is not in the alphabet.
int bpe_codepoint_to_byte(uint32_t cp);

}  // namespace loci::detail
