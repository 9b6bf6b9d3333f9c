// Building and validating the vocabulary tables from GGUF metadata.
#include <algorithm>
#include <cmath>
#include <string>

#include "loci/gguf.h"
#include "runtime/tokenizer/unicode.h"
#include "runtime/tokenizer/vocab.h"

namespace loci::detail {
namespace {

constexpr std::string_view kEscapedSpace = "\xE2\x96\x81";  // U+2581, SPM's stand-in for ' '

std::string quoted(std::string_view s) { return "'" + std::string(s) + "'"; }

// --- special tokens found by their text, as llama.cpp finds them ---------

struct TextList {
  std::initializer_list<std::string_view> texts;
  bool contains(std::string_view s) const { return std::find(texts.begin(), texts.end(), s) != texts.end(); }
};

const TextList kEotTexts{{"<|eot_id|>", "<|im_end|>", "<|end|>", "<end_of_turn>", "<|endoftext|>", "<|end_of_text|>",
                          "<EOT>", "_<EOT>", "<\xEF\xBD\x9C" "end\xE2\x96\x81" "of\xE2\x96\x81" "sentence\xEF\xBD\x9C>",
                          "<end_of_utterance>"}};
const TextList kEomTexts{{"<|eom_id|>"}};
const TextList kFimPadTexts{{"<|fim_pad|>", "<fim-pad>", "<fim_pad>", "<PAD>"}};
const TextList kFimRepTexts{{"<|fim_repo|>", "<|repo_name|>", "<fim-repo>", "<REPO>", "<reponame>"}};
const TextList kFimSepTexts{{"<|file_sep|>"}};
const TextList kEogTexts{{"<|eot_id|>", "<|im_end|>", "<|end|>", "<|return|>", "<|call|>", "<end_of_turn>",
                          "<|endoftext|>", "<|eom_id|>", "<EOT>", "_<EOT>", "<|end_of_text|>", "<end_of_utterance>"}};
// Other tokens llama.cpp also forces to control type by their text (FIM).
const TextList kFimOtherTexts{{"<|fim_prefix|>", "<fim-prefix>", "<fim_prefix>",
                               "<\xEF\xBD\x9C" "fim\xE2\x96\x81" "begin\xEF\xBD\x9C>", "<PRE>", "\xE2\x96\x81<PRE>",
                               "<|code_prefix|>", "<|fim_suffix|>", "<fim-suffix>", "<fim_suffix>",
                               "<\xEF\xBD\x9C" "fim\xE2\x96\x81" "hole\xEF\xBD\x9C>", "<SUF>", "\xE2\x96\x81<SUF>",
                               "<|code_suffix|>", "<|fim_middle|>", "<fim-middle>", "<fim_middle>",
                               "<\xEF\xBD\x9C" "fim\xE2\x96\x81" "end\xEF\xBD\x9C>", "<MID>", "\xE2\x96\x81<MID>",
                               "<|code_middle|>"}};

// The lowest id whose text is in `list`, or -1.
int32_t find_by_text(const TokenizerVocab& v, const TextList& list) {
  for (size_t id = 0; id < v.n(); ++id)
    if (list.contains(v.text(static_cast<int32_t>(id)))) return static_cast<int32_t>(id);
  return -1;
}

// --- reading ---------------------------------------------------------------

Status read_kind(const GgufFile& f, TokenizerVocab* v) {
  if (!f.find("tokenizer.ggml.model")) return invalid_model("tokenizer: no tokenizer.ggml.model in " + f.path());
  LOCI_ASSIGN_OR_RETURN(const std::string_view model, f.get_string("tokenizer.ggml.model"));
  if (model == "llama") v->kind = TokenizerKind::kSpm;
  else if (model == "gpt2") v->kind = TokenizerKind::kBpe;
  else return unsupported("tokenizer: tokenizer.ggml.model " + quoted(model) + " is not supported (only 'llama' and 'gpt2')");
  if (v->kind == TokenizerKind::kBpe) {
    LOCI_ASSIGN_OR_RETURN(const std::string_view pre, f.get_string("tokenizer.ggml.pre", "default"));
    if (!pre_tokenizer_from_name(pre, &v->pre))
      return unsupported("tokenizer: pre-tokenizer tokenizer.ggml.pre = " + quoted(pre) + " is not supported");
    v->ignore_merges = v->pre == PreTokenizer::kLlama3;
  }
  return Status::ok();
}

Status read_tokens(const GgufFile& f, TokenizerVocab* v) {
  if (!f.find("tokenizer.ggml.tokens")) return invalid_model("tokenizer: no tokenizer.ggml.tokens in " + f.path());
  LOCI_ASSIGN_OR_RETURN(const std::vector<std::string_view> tokens, f.get_string_array("tokenizer.ggml.tokens"));
  if (tokens.empty()) return invalid_model("tokenizer: tokenizer.ggml.tokens is empty");
  if (tokens.size() > size_t(INT32_MAX)) return invalid_model("tokenizer: too many tokens");
  const size_t n = tokens.size();
  v->text_end.resize(n);
  for (size_t i = 0; i < n; ++i) {
    if (tokens[i].empty()) v->text_blob += "[EMPTY_" + std::to_string(i) + "]";
    else v->text_blob += tokens[i];
    if (v->text_blob.size() > UINT32_MAX) return invalid_model("tokenizer: the token texts exceed 4 GiB");
    v->text_end[i] = static_cast<uint32_t>(v->text_blob.size());
  }
  v->text_to_id.reserve(n);
  for (size_t i = 0; i < n; ++i) v->text_to_id[v->text(static_cast<int32_t>(i))] = static_cast<int32_t>(i);

  v->scores.assign(n, 0.0f);
  if (f.find("tokenizer.ggml.scores")) {
    LOCI_ASSIGN_OR_RETURN(v->scores, f.get_f32_array("tokenizer.ggml.scores"));
    if (v->scores.size() != n)
      return invalid_model("tokenizer: tokenizer.ggml.scores has " + std::to_string(v->scores.size()) +
                           " entries for " + std::to_string(n) + " tokens");
    for (size_t i = 0; i < n; ++i)
      if (std::isnan(v->scores[i])) return invalid_model("tokenizer: the score of token " + std::to_string(i) + " is NaN");
  }

  v->types.assign(n, TokenType::kNormal);
  if (f.find("tokenizer.ggml.token_type")) {
    LOCI_ASSIGN_OR_RETURN(const std::vector<int32_t> types, f.get_i32_array("tokenizer.ggml.token_type"));
    if (types.size() != n)
      return invalid_model("tokenizer: tokenizer.ggml.token_type has " + std::to_string(types.size()) +
                           " entries for " + std::to_string(n) + " tokens");
    for (size_t i = 0; i < n; ++i) {
      if (types[i] < 0 || types[i] > static_cast<int32_t>(TokenType::kByte))
        return invalid_model("tokenizer: token " + std::to_string(i) + " has unknown type " + std::to_string(types[i]));
      v->types[i] = static_cast<TokenType>(types[i]);
    }
  }
  return Status::ok();
}

// An id key: absent keeps *id; -1 (or its u32 form) means "none"; any
// other value must name a token.
Status read_id(const GgufFile& f, std::string_view key, size_t n, int32_t* id) {
  if (!f.find(key)) return Status::ok();
  LOCI_ASSIGN_OR_RETURN(const int64_t value, f.get_int(key));
  if (value == -1 || value == int64_t(UINT32_MAX)) {
    *id = -1;
    return Status::ok();
  }
  if (value < 0 || uint64_t(value) >= n)
    return invalid_model("tokenizer: " + std::string(key) + " = " + std::to_string(value) +
                         " is not a token id (the vocabulary has " + std::to_string(n) + " tokens)");
  *id = static_cast<int32_t>(value);
  return Status::ok();
}

struct SpecialIds {
  int32_t fim_pad = -1, fim_rep = -1, fim_sep = -1;
};

Status read_specials(const GgufFile& f, TokenizerVocab* v, SpecialIds* s) {
  const size_t n = v->n();
  // llama.cpp's defaults when a key is absent.
  auto def = [n](int32_t id) { return size_t(id) < n ? id : -1; };
  if (v->kind == TokenizerKind::kSpm) {
    v->bos = def(1), v->eos = def(2), v->unk = def(0);
    v->add_bos = true;
  } else {
    v->bos = def(11), v->eos = def(11);
    v->add_bos = v->pre == PreTokenizer::kLlama3;
  }
  const struct {
    const char* key;
    int32_t* id;
  } keys[] = {
      {"tokenizer.ggml.bos_token_id", &v->bos},       {"tokenizer.ggml.eos_token_id", &v->eos},
      {"tokenizer.ggml.eot_token_id", &v->eot},       {"tokenizer.ggml.eom_token_id", &v->eom},
      {"tokenizer.ggml.unknown_token_id", &v->unk},   {"tokenizer.ggml.seperator_token_id", &v->sep},
      {"tokenizer.ggml.padding_token_id", &v->pad},   {"tokenizer.ggml.mask_token_id", &v->mask},
      {"tokenizer.ggml.fim_pad_token_id", &s->fim_pad}, {"tokenizer.ggml.fim_rep_token_id", &s->fim_rep},
      {"tokenizer.ggml.fim_sep_token_id", &s->fim_sep},
  };
  for (const auto& k : keys) LOCI_RETURN_IF_ERROR(read_id(f, k.key, n, k.id));

  LOCI_ASSIGN_OR_RETURN(v->add_bos, f.get_bool("tokenizer.ggml.add_bos_token", v->add_bos));
  LOCI_ASSIGN_OR_RETURN(v->add_eos, f.get_bool("tokenizer.ggml.add_eos_token", false));
  LOCI_ASSIGN_OR_RETURN(v->add_space_prefix,
                        f.get_bool("tokenizer.ggml.add_space_prefix", v->kind == TokenizerKind::kSpm));
  if (v->add_bos && v->bos < 0) return invalid_model("tokenizer: add_bos_token is set but there is no BOS token");
  if (v->add_eos && v->eos < 0) return invalid_model("tokenizer: add_eos_token is set but there is no EOS token");
  return Status::ok();
}

// Finds end-of-turn and FIM tokens by text where no key names them, marks the
// end-of-generation set, and (as llama.cpp does) turns any of those tokens
// that is not control type into control.
void mark_end_of_generation(TokenizerVocab* v, SpecialIds* s) {
  if (v->eot < 0) v->eot = find_by_text(*v, kEotTexts);
  if (v->eom < 0) v->eom = find_by_text(*v, kEomTexts);
  if (s->fim_pad < 0) s->fim_pad = find_by_text(*v, kFimPadTexts);
  if (s->fim_rep < 0) s->fim_rep = find_by_text(*v, kFimRepTexts);
  if (s->fim_sep < 0) s->fim_sep = find_by_text(*v, kFimSepTexts);

  v->eog.assign(v->n(), 0);
  for (const int32_t id : {v->eos, v->eot, v->eom, s->fim_pad, s->fim_rep, s->fim_sep})
    if (id >= 0) v->eog[size_t(id)] = 1;
  for (size_t id = 0; id < v->n(); ++id) {
    const std::string_view t = v->text(static_cast<int32_t>(id));
    if (kEogTexts.contains(t)) v->eog[id] = 1;
    const bool looks_special = kEogTexts.contains(t) || kEotTexts.contains(t) || kEomTexts.contains(t) ||
                               kFimPadTexts.contains(t) || kFimRepTexts.contains(t) || kFimSepTexts.contains(t) ||
                               kFimOtherTexts.contains(t);
    if (looks_special) v->types[id] = TokenType::kControl;
  }
}

// --- BPE ---------------------------------------------------------------------

Status read_merges(const GgufFile& f, TokenizerVocab* v) {
  if (!f.find("tokenizer.ggml.merges")) return invalid_model("tokenizer: a gpt2 vocabulary needs tokenizer.ggml.merges");
  LOCI_ASSIGN_OR_RETURN(const std::vector<std::string_view> merges, f.get_string_array("tokenizer.ggml.merges"));
  if (merges.size() > size_t(INT32_MAX)) return invalid_model("tokenizer: too many merges");
  v->merges.reserve(merges.size());
  std::string joined;
  for (size_t i = 0; i < merges.size(); ++i) {
    const std::string_view m = merges[i];
    const size_t sp = m.size() > 1 ? m.find(' ', 1) : std::string_view::npos;
    if (sp == std::string_view::npos)
      return invalid_model("tokenizer: merge " + std::to_string(i) + " " + quoted(m) + " is not two tokens separated by a space");
    const std::string_view a = m.substr(0, sp), b = m.substr(sp + 1);
    const int32_t ia = v->find(a), ib = v->find(b);
    if (ia < 0 || ib < 0)
      return invalid_model("tokenizer: merge " + std::to_string(i) + " " + quoted(m) + " names " +
                           quoted(ia < 0 ? a : b) + ", which is not a token");
    joined.assign(a);
    joined += b;
    v->merges.insert(MergeTable::key(ia, ib), BpeMerge{static_cast<int32_t>(i), v->find(joined)});  // the first rank wins
  }
  return Status::ok();
}

// The raw bytes a byte-level token text stands for; false if it has a
// character outside the byte-level alphabet.
bool byte_level_to_raw(std::string_view text, std::string* raw) {
  raw->clear();
  for (size_t pos = 0; pos < text.size();) {
    const int b = bpe_codepoint_to_byte(decode_utf8_lenient(text, &pos));
    if (b < 0) return false;
    raw->push_back(static_cast<char>(b));
  }
  return true;
}

void build_bpe_tables(TokenizerVocab* v) {
  for (int b = 0; b < 256; ++b) {
    std::string ch;
    append_utf8(byte_to_bpe_codepoint(static_cast<uint8_t>(b)), &ch);
    v->bpe_byte_token[size_t(b)] = v->find(ch);
  }
  if (!v->ignore_merges) return;
  // Whole-word lookups compare raw bytes; collect them first so the views
  // into raw_blob stay valid.
  std::vector<uint32_t> ends(v->n(), 0);
  std::vector<uint8_t> ok(v->n(), 0);
  std::string raw;
  for (size_t id = 0; id < v->n(); ++id) {
    ok[id] = byte_level_to_raw(v->text(static_cast<int32_t>(id)), &raw);
    if (ok[id]) v->raw_blob += raw;
    ends[id] = static_cast<uint32_t>(v->raw_blob.size());
  }
  v->raw_to_id.reserve(v->n());
  for (size_t id = 0; id < v->n(); ++id) {
    if (!ok[id]) continue;
    const uint32_t b = id == 0 ? 0 : ends[id - 1];
    v->raw_to_id[std::string_view(v->raw_blob).substr(b, ends[id] - b)] = static_cast<int32_t>(id);
  }
}

// --- SPM -------------------------------------------------------------------

int hex_digit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  return -1;
}

// "<0xXX>" -> the byte, else -1.
int parse_byte_token(std::string_view t) {
  if (t.size() != 6 || t.substr(0, 3) != "<0x" || t[5] != '>') return -1;
  const int hi = hex_digit(t[3]), lo = hex_digit(t[4]);
  return hi < 0 || lo < 0 ? -1 : hi * 16 + lo;
}

Status build_spm_tables(TokenizerVocab* v) {
  for (size_t id = 0; id < v->n(); ++id)
    if (v->types[id] == TokenType::kByte && parse_byte_token(v->text(static_cast<int32_t>(id))) < 0)
      return invalid_model("tokenizer: byte token " + std::to_string(id) + " " +
                           quoted(v->text(static_cast<int32_t>(id))) + " is not of the form <0xXX>");
  static const char* kHex = "0123456789ABCDEF";
  for (int b = 0; b < 256; ++b) {
    const char name[6] = {'<', '0', 'x', kHex[b >> 4], kHex[b & 15], '>'};
    int32_t id = v->find(std::string_view(name, 6));
    if (id < 0) {
      const char c = static_cast<char>(b);
      id = v->find(std::string_view(&c, 1));
    }
    v->spm_byte_token[size_t(b)] = id;
  }
  v->spm_split_at_spaces = true;
  for (size_t id = 0; id < v->n() && v->spm_split_at_spaces; ++id) {
    std::string_view t = v->text(static_cast<int32_t>(id));
    while (t.substr(0, kEscapedSpace.size()) == kEscapedSpace) t.remove_prefix(kEscapedSpace.size());
    v->spm_split_at_spaces = t.find(kEscapedSpace) == std::string_view::npos;
  }
  return Status::ok();
}

// --- pieces and special tokens -----------------------------------------------

// llama.cpp's marker for a character outside the byte-level alphabet repeats
// the whole token text, so n such characters make a piece of ~n^2 bytes. A
// real vocabulary has none; a piece past this bound is a hostile file.
size_t max_marked_piece_bytes(size_t text_bytes) { return 1024 + 2 * text_bytes; }

Status append_piece(const TokenizerVocab& v, int32_t id, std::string* out) {
  const size_t start = out->size();
  const std::string_view text = v.text(id);
  switch (v.types[size_t(id)]) {
    case TokenType::kControl:
    case TokenType::kUnknown:
    case TokenType::kUserDefined: *out += text; return Status::ok();
    case TokenType::kNormal:
      if (v.kind == TokenizerKind::kSpm) {
        for (size_t i = 0; i < text.size();) {
          if (text.compare(i, kEscapedSpace.size(), kEscapedSpace) == 0) {
            out->push_back(' ');
            i += kEscapedSpace.size();
          } else {
            out->push_back(text[i++]);
          }
        }
      } else {
        for (size_t pos = 0; pos < text.size();) {
          const size_t at = pos;
          const uint32_t cp = decode_utf8_lenient(text, &pos);
          const int b = bpe_codepoint_to_byte(cp);
          if (b >= 0) {
            out->push_back(static_cast<char>(b));
            continue;
          }
          if (out->size() - start + 13 + 2 * (pos - at) + text.size() > max_marked_piece_bytes(text.size()))
            return invalid_model("tokenizer: token " + std::to_string(id) +
                                 " has too many characters outside the byte-level alphabet (its piece would exceed " +
                                 std::to_string(max_marked_piece_bytes(text.size())) + " bytes)");
          static const char* kHex = "0123456789abcdef";
          *out += "[UNK_BYTE_0x";
          for (const char c : text.substr(at, pos - at)) {
            out->push_back(kHex[static_cast<uint8_t>(c) >> 4]);
            out->push_back(kHex[static_cast<uint8_t>(c) & 15]);
          }
          *out += text;
          *out += "]";
        }
      }
      return Status::ok();
    case TokenType::kByte:
      if (v.kind == TokenizerKind::kSpm) out->push_back(static_cast<char>(parse_byte_token(text)));
      return Status::ok();
    case TokenType::kUndefined:
    case TokenType::kUnused: return Status::ok();
  }
  return Status::ok();
}

Status build_pieces(TokenizerVocab* v) {
  v->piece_end.resize(v->n());
  for (size_t id = 0; id < v->n(); ++id) {
    LOCI_RETURN_IF_ERROR(append_piece(*v, static_cast<int32_t>(id), &v->piece_blob));
    if (v->piece_blob.size() > UINT32_MAX) return invalid_model("tokenizer: the token pieces exceed 4 GiB");
    v->piece_end[id] = static_cast<uint32_t>(v->piece_blob.size());
  }
  return Status::ok();
}

void build_special_index(TokenizerVocab* v) {
  for (size_t id = 0; id < v->n(); ++id) {
    const TokenType t = v->types[id];
    if (t == TokenType::kControl || t == TokenType::kUserDefined || t == TokenType::kUnknown)
      v->special_ids.push_back(static_cast<int32_t>(id));
  }
  std::stable_sort(v->special_ids.begin(), v->special_ids.end(),
                   [&](int32_t a, int32_t b) { return v->text(a).size() > v->text(b).size(); });
  for (size_t slot = 0; slot < v->special_ids.size(); ++slot)
    v->special_index.add(v->text(v->special_ids[slot]), static_cast<int32_t>(slot));
}

}  // namespace

Status load_vocab(const GgufFile& f, TokenizerVocab* v) {
  LOCI_RETURN_IF_ERROR(read_kind(f, v));
  LOCI_RETURN_IF_ERROR(read_tokens(f, v));
  SpecialIds fim;
  LOCI_RETURN_IF_ERROR(read_specials(f, v, &fim));
  mark_end_of_generation(v, &fim);
  if (v->kind == TokenizerKind::kBpe) {
    LOCI_RETURN_IF_ERROR(read_merges(f, v));
    build_bpe_tables(v);
  } else {
    LOCI_RETURN_IF_ERROR(build_spm_tables(v));
  }
  LOCI_RETURN_IF_ERROR(build_pieces(v));
  build_special_index(v);
  return Status::ok();
}

}  // namespace loci::detail
