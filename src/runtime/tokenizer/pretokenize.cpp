// The pre-tokenizer regexes as matchers (see pretokenize.h). Each matcher
// returns the length of the regex's match starting exactly at `p` (0 if none),
// which is what a regex search tries at each position in turn.
#include "runtime/tokenizer/pretokenize.h"

#include <cstring>

#include "runtime/tokenizer/unicode.h"

namespace loci::detail {
namespace {

// One regex of a sequence.
enum class Rule {
  kGpt2,           // 's|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)
  kLlama3,         // (?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+
  kQwen2,          // the same with \p{N} taken one at a time
  kPunctRun,       // [\p{P}\$\+<=>\^~\|]+
  kPunctRunTick,   // [\p{P}\$\+<=>\^~\|`]+
  kNumberRun,      // \p{N}+
  kNumber,         // \p{N}
  kThreeDigits,    // [0-9][0-9][0-9]
  kCrLf,           // [\r\n]
  kDsLetters,      // \s?[A-Za-zµÀ-ÖØ-ö...]+   (deepseek-llm)
  kDsPunct,        // \s?[!-/:-~！-／：-～‘-‟　-。]+
  kSpacesAtEnd,    // \s+$
  kDsCjk,          // [一-龥ࠀ-一가-퟿]+
};

struct RuleList {
  const Rule* rules;
  size_t n;
};

constexpr Rule kDefaultRules[] = {Rule::kPunctRun, Rule::kGpt2, Rule::kNumberRun, Rule::kThreeDigits};
constexpr Rule kGpt2Rules[] = {Rule::kGpt2};
constexpr Rule kLlama3Rules[] = {Rule::kLlama3};
constexpr Rule kQwen2Rules[] = {Rule::kQwen2};
constexpr Rule kDeepseekRules[] = {Rule::kCrLf,        Rule::kDsLetters, Rule::kDsPunct,
                                   Rule::kSpacesAtEnd, Rule::kDsCjk,     Rule::kNumberRun};
constexpr Rule kFalconRules[] = {Rule::kPunctRunTick, Rule::kGpt2, Rule::kThreeDigits};
constexpr Rule kStarcoderRules[] = {Rule::kNumber, Rule::kGpt2};

RuleList rules_of(PreTokenizer p) {
  switch (p) {
    case PreTokenizer::kDefault: return {kDefaultRules, std::size(kDefaultRules)};
    case PreTokenizer::kGpt2: return {kGpt2Rules, std::size(kGpt2Rules)};
    case PreTokenizer::kLlama3: return {kLlama3Rules, std::size(kLlama3Rules)};
    case PreTokenizer::kQwen2: return {kQwen2Rules, std::size(kQwen2Rules)};
    case PreTokenizer::kDeepseekLlm: return {kDeepseekRules, std::size(kDeepseekRules)};
    case PreTokenizer::kFalcon: return {kFalconRules, std::size(kFalconRules)};
    case PreTokenizer::kStarcoder: return {kStarcoderRules, std::size(kStarcoderRules)};
  }
  return {kGpt2Rules, 1};
}

// The text of one piece: codepoints [begin, end) with their flags.
class Piece {
 public:
  Piece(const uint32_t* cps, const uint8_t* flags, size_t end) : cps_(cps), flags_(flags), end_(end) {}

  size_t end() const { return end_; }
  uint32_t cp(size_t i) const { return cps_[i]; }
  bool letter(size_t i) const { return i < end_ && (flags_[i] & kCpLetter); }
  bool number(size_t i) const { return i < end_ && (flags_[i] & kCpNumber); }
  bool space(size_t i) const { return i < end_ && (flags_[i] & kCpSpace); }
  // [^\s\p{L}\p{N}]
  bool other(size_t i) const { return i < end_ && !(flags_[i] & (kCpSpace | kCpLetter | kCpNumber)); }
  bool cr_or_lf(size_t i) const { return i < end_ && (cps_[i] == '\r' || cps_[i] == '\n'); }
  bool is(size_t i, char c) const { return i < end_ && cps_[i] == static_cast<uint32_t>(c); }
  bool is_lower_or_upper(size_t i, char lower) const {
    return i < end_ && (cps_[i] == static_cast<uint32_t>(lower) || cps_[i] == static_cast<uint32_t>(lower - 'a' + 'A'));
  }

  // The end of the run of positions from i that satisfy pred.
  template <typename Pred>
  size_t run(size_t i, Pred pred) const {
    while (i < end_ && pred(i)) ++i;
    return i;
  }

 private:
  const uint32_t* cps_;
  const uint8_t* flags_;
  size_t end_;
};

// 's|'t|'re|'ve|'m|'ll|'d, lowercase only or (ignore_case) either case.
size_t contraction(const Piece& t, size_t p, bool ignore_case) {
  if (!t.is(p, '\'')) return 0;
  auto at = [&](size_t i, char c) { return ignore_case ? t.is_lower_or_upper(i, c) : t.is(i, c); };
  if (at(p + 1, 's') || at(p + 1, 't') || at(p + 1, 'm') || at(p + 1, 'd')) return 2;
  if ((at(p + 1, 'r') && at(p + 2, 'e')) || (at(p + 1, 'v') && at(p + 2, 'e')) || (at(p + 1, 'l') && at(p + 2, 'l')))
    return 3;
  return 0;
}

// " ?X+" for a class X that never contains the space.
template <typename Pred>
size_t optional_space_then_run(const Piece& t, size_t p, Pred in_class) {
  if (t.is(p, ' ') && in_class(p + 1)) return t.run(p + 1, in_class) - p;
  if (in_class(p)) return t.run(p, in_class) - p;
  return 0;
}

// \s+(?!\S), then (if allow_single) \s+: a whitespace run leaves its last
// character to the word that follows it.
size_t spaces_before_word(const Piece& t, size_t p, bool allow_single) {
  const size_t q = t.run(p, [&](size_t i) { return t.space(i); });
  if (q == p) return 0;
  if (q == t.end()) return q - p;
  if (q - p >= 2) return q - p - 1;
  return allow_single ? 1 : 0;
}

size_t match_gpt2(const Piece& t, size_t p) {
  if (size_t n = contraction(t, p, false)) return n;
  if (size_t n = optional_space_then_run(t, p, [&](size_t i) { return t.letter(i); })) return n;
  if (size_t n = optional_space_then_run(t, p, [&](size_t i) { return t.number(i); })) return n;
  if (size_t n = optional_space_then_run(t, p, [&](size_t i) { return t.other(i); })) return n;
  return spaces_before_word(t, p, false);
}

size_t match_llama3(const Piece& t, size_t p, size_t max_digits) {
  if (size_t n = contraction(t, p, true)) return n;
  // [^\r\n\p{L}\p{N}]?\p{L}+
  auto letter = [&](size_t i) { return t.letter(i); };
  if (t.letter(p)) return t.run(p, letter) - p;
  if (!t.cr_or_lf(p) && !t.number(p) && t.letter(p + 1)) return t.run(p + 1, letter) - p;
  // \p{N}{1,max}
  if (t.number(p)) {
    size_t q = p;
    while (q - p < max_digits && t.number(q)) ++q;
    return q - p;
  }
  // " ?[^\s\p{L}\p{N}]+[\r\n]*"
  if (size_t n = optional_space_then_run(t, p, [&](size_t i) { return t.other(i); }))
    return t.run(p + n, [&](size_t i) { return t.cr_or_lf(i); }) - p;
  // \s*[\r\n]+ : up to the last CR or LF of the whitespace run.
  const size_t q = t.run(p, [&](size_t i) { return t.space(i); });
  for (size_t i = q; i > p; --i)
    if (t.cr_or_lf(i - 1)) return i - p;
  return spaces_before_word(t, p, true);
}

bool is_punct_run_char(const Piece& t, size_t i, bool with_backtick) {
  if (i >= t.end()) return false;
  const uint32_t c = t.cp(i);
  if (codepoint_flags(c) & kCpPunct) return true;
  return c == '$' || c == '+' || c == '<' || c == '=' || c == '>' || c == '^' || c == '~' || c == '|' ||
         (with_backtick && c == '`');
}

// For the regexes written with literal codepoints rather than categories,
// llama.cpp runs std::wregex on the codepoints after replacing non-ASCII
// whitespace with U+000B, so those only ever match \s.
bool wide_space(const Piece& t, size_t i) {
  if (i >= t.end()) return false;
  const uint32_t c = t.cp(i);
  return c < 0x80 ? (c == ' ' || (c >= 0x09 && c <= 0x0D)) : t.space(i);
}

bool in_wide_class(const Piece& t, size_t i, DeepseekClass cls) {
  return i < t.end() && !(t.cp(i) >= 0x80 && t.space(i)) && in_deepseek_class(cls, t.cp(i));
}

// "\s?[class]+"
size_t wide_optional_space_then_run(const Piece& t, size_t p, DeepseekClass cls) {
  auto in = [&](size_t i) { return in_wide_class(t, i, cls); };
  if (wide_space(t, p) && in(p + 1)) return t.run(p + 1, in) - p;
  if (in(p)) return t.run(p, in) - p;
  return 0;
}

size_t match(Rule r, const Piece& t, size_t p) {
  switch (r) {
    case Rule::kGpt2: return match_gpt2(t, p);
    case Rule::kLlama3: return match_llama3(t, p, 3);
    case Rule::kQwen2: return match_llama3(t, p, 1);
    case Rule::kPunctRun:
    case Rule::kPunctRunTick: {
      const bool tick = r == Rule::kPunctRunTick;
      return t.run(p, [&](size_t i) { return is_punct_run_char(t, i, tick); }) - p;
    }
    case Rule::kNumberRun: return t.run(p, [&](size_t i) { return t.number(i); }) - p;
    case Rule::kNumber: return t.number(p) ? 1 : 0;
    case Rule::kThreeDigits: {
      auto digit = [&](size_t i) { return i < t.end() && t.cp(i) >= '0' && t.cp(i) <= '9'; };
      return digit(p) && digit(p + 1) && digit(p + 2) ? 3 : 0;
    }
    case Rule::kCrLf: return t.cr_or_lf(p) ? 1 : 0;
    case Rule::kDsLetters: return wide_optional_space_then_run(t, p, DeepseekClass::kLetters);
    case Rule::kDsPunct: return wide_optional_space_then_run(t, p, DeepseekClass::kPunct);
    case Rule::kSpacesAtEnd: {
      const size_t q = t.run(p, [&](size_t i) { return wide_space(t, i); });
      return q > p && q == t.end() ? q - p : 0;
    }
    case Rule::kDsCjk: return t.run(p, [&](size_t i) { return in_wide_class(t, i, DeepseekClass::kCjk); }) - p;
  }
  return 0;
}

// Splits each piece [begin, begin + len) of `in` by rule r: its matches and
// the unmatched stretches between them become pieces (lengths in `out`).
void split(Rule r, const uint32_t* cps, const uint8_t* flags, const std::vector<size_t>& in, std::vector<size_t>* out) {
  out->clear();
  size_t begin = 0;
  for (const size_t len : in) {
    const size_t end = begin + len;
    // Indexes stay absolute; the piece only bounds look-ahead at `end`.
    const Piece t(cps, flags, end);
    size_t gap = begin;
    for (size_t p = begin; p < end;) {
      const size_t n = match(r, t, p);
      if (n == 0) {
        ++p;
        continue;
      }
      if (gap < p) out->push_back(p - gap);
      out->push_back(n);
      p += n;
      gap = p;
    }
    if (gap < end) out->push_back(end - gap);
    begin = end;
  }
}

size_t utf8_length(uint32_t cp) { return cp < 0x80 ? 1 : cp < 0x800 ? 2 : cp < 0x10000 ? 3 : 4; }

}  // namespace

bool pre_tokenizer_from_name(std::string_view name, PreTokenizer* out) {
  struct Alias {
    const char* name;
    PreTokenizer p;
  };
  // llama.cpp's names for each splitting (only those whose other settings
  // loci also reproduces).
  static constexpr Alias kAliases[] = {
      {"default", PreTokenizer::kDefault},     {"gpt-2", PreTokenizer::kGpt2},
      {"phi-2", PreTokenizer::kGpt2},          {"llama-bpe", PreTokenizer::kLlama3},
      {"llama3", PreTokenizer::kLlama3},       {"llama-v3", PreTokenizer::kLlama3},
      {"qwen2", PreTokenizer::kQwen2},         {"deepseek-r1-qwen", PreTokenizer::kQwen2},
      {"deepseek-llm", PreTokenizer::kDeepseekLlm}, {"falcon", PreTokenizer::kFalcon},
      {"starcoder", PreTokenizer::kStarcoder},
  };
  for (const Alias& a : kAliases) {
    if (name == a.name) {
      *out = a.p;
      return true;
    }
  }
  return false;
}

const char* pre_tokenizer_name(PreTokenizer p) {
  switch (p) {
    case PreTokenizer::kDefault: return "default";
    case PreTokenizer::kGpt2: return "gpt-2";
    case PreTokenizer::kLlama3: return "llama-bpe";
    case PreTokenizer::kQwen2: return "qwen2";
    case PreTokenizer::kDeepseekLlm: return "deepseek-llm";
    case PreTokenizer::kFalcon: return "falcon";
    case PreTokenizer::kStarcoder: return "starcoder";
  }
  return "?";
}

void pre_tokenize(PreTokenizer p, std::string_view text, std::string* normalized, std::vector<size_t>* word_ends) {
  std::vector<uint32_t> cps;
  cps.reserve(text.size());
  for (size_t pos = 0; pos < text.size();) cps.push_back(decode_utf8_lenient(text, &pos));
  std::vector<uint8_t> flags(cps.size());
  for (size_t i = 0; i < cps.size(); ++i) flags[i] = codepoint_flags(cps[i]);

  std::vector<size_t> pieces, next;
  if (!cps.empty()) pieces.push_back(cps.size());
  const RuleList rules = rules_of(p);
  for (size_t k = 0; k < rules.n; ++k) {
    split(rules.rules[k], cps.data(), flags.data(), pieces, &next);
    pieces.swap(next);
  }

  normalized->clear();
  normalized->reserve(text.size());
  for (const uint32_t cp : cps) append_utf8(cp, normalized);
  word_ends->clear();
  word_ends->reserve(pieces.size());
  size_t cp_pos = 0, byte_pos = 0;
  for (const size_t len : pieces) {
    for (size_t i = 0; i < len; ++i) byte_pos += utf8_length(cps[cp_pos + i]);
    cp_pos += len;
    word_ends->push_back(byte_pos);
  }
}

}  // namespace loci::detail
