// The public Tokenizer: encoding (special-token split, then SPM or BPE on
// each raw stretch), pieces and decoding. All tables are built at load.
#include "loci/tokenizer.h"

#include <cstdint>
#include <new>
#include <string>

#include "core/bad_alloc.h"
#include "loci/gguf.h"
#include "runtime/tokenizer/vocab.h"

namespace loci {
namespace {

constexpr std::string_view kEscapedSpace = "\xE2\x96\x81";  // U+2581

// SPM sees spaces as U+2581.
std::string escape_spaces(std::string_view s, bool add_prefix) {
  std::string out;
  out.reserve(s.size() + s.size() / 4 + 3);
  if (add_prefix) out += kEscapedSpace;
  for (const char c : s) {
    if (c == ' ') out += kEscapedSpace;
    else out.push_back(c);
  }
  return out;
}

}  // namespace

Tokenizer::Tokenizer() = default;
Tokenizer::~Tokenizer() = default;

Result<std::unique_ptr<Tokenizer>> Tokenizer::from_gguf(const GgufFile& file) {
  return detail::bad_alloc_as_status("tokenizer load", [&]() -> Result<std::unique_ptr<Tokenizer>> {
    std::unique_ptr<Tokenizer> t(new (std::nothrow) Tokenizer());
    if (!t) return out_of_memory("tokenizer: out of memory");
    t->vocab_.reset(new (std::nothrow) detail::TokenizerVocab());
    if (!t->vocab_) return out_of_memory("tokenizer: out of memory");
    LOCI_RETURN_IF_ERROR(detail::load_vocab(file, t->vocab_.get()));
    return t;
  });
}

TokenizerKind Tokenizer::kind() const { return vocab_->kind; }
size_t Tokenizer::n_vocab() const { return vocab_->n(); }
int32_t Tokenizer::bos() const { return vocab_->bos; }
int32_t Tokenizer::eos() const { return vocab_->eos; }
int32_t Tokenizer::eot() const { return vocab_->eot; }
int32_t Tokenizer::unk() const { return vocab_->unk; }
bool Tokenizer::add_bos() const { return vocab_->add_bos; }
bool Tokenizer::add_eos() const { return vocab_->add_eos; }

bool Tokenizer::is_eog(int32_t id) const { return id >= 0 && size_t(id) < vocab_->n() && vocab_->eog[size_t(id)]; }

TokenType Tokenizer::token_type(int32_t id) const {
  return id >= 0 && size_t(id) < vocab_->n() ? vocab_->types[size_t(id)] : TokenType::kUndefined;
}

Status Tokenizer::encode(std::string_view text, bool add_special, bool parse_special, std::vector<int32_t>* out) const {
  return detail::bad_alloc_as_status("tokenizer encode", [&]() -> Status {
    if (out == nullptr) return invalid_argument("tokenizer: encode needs an output vector");
    // The merge tables index symbols with int32 (llama.cpp's tokenizer overflow).
    if (text.size() > size_t(INT32_MAX))
      return invalid_argument("tokenizer: text of " + std::to_string(text.size()) + " bytes exceeds the limit of " +
                              std::to_string(INT32_MAX));
    const detail::TokenizerVocab& v = *vocab_;
    std::vector<detail::Fragment> fragments;
    detail::split_special(v, text, parse_special, &fragments);

    if (add_special && v.add_bos) out->push_back(v.bos);
    bool after_special = true;  // SPM: the text start counts as following a special token
    for (const detail::Fragment& f : fragments) {
      if (f.token >= 0) {
        out->push_back(f.token);
        after_special = true;
        continue;
      }
      const std::string_view raw = text.substr(f.offset, f.length);
      if (v.kind == TokenizerKind::kSpm) {
        LOCI_RETURN_IF_ERROR(detail::spm_encode(v, escape_spaces(raw, v.add_space_prefix && after_special), out));
      } else {
        detail::bpe_encode(v, raw, out);
      }
      after_special = false;
    }
    if (add_special && v.add_eos) out->push_back(v.eos);
    return Status::ok();
  });
}

Result<std::string_view> Tokenizer::piece(int32_t id, bool special) const {
  if (id < 0 || size_t(id) >= vocab_->n())
    return out_of_range("tokenizer: token id " + std::to_string(id) + " is outside the vocabulary of " +
                        std::to_string(vocab_->n()));
  const TokenType t = vocab_->types[size_t(id)];
  if (!special && (t == TokenType::kControl || t == TokenType::kUnknown)) return std::string_view();
  return vocab_->piece(id);
}

Result<std::string_view> Tokenizer::token_text(int32_t id) const {
  if (id < 0 || size_t(id) >= vocab_->n())
    return out_of_range("tokenizer: token id " + std::to_string(id) + " is outside the vocabulary of " +
                        std::to_string(vocab_->n()));
  return vocab_->text(id);
}

bool Tokenizer::adds_space_prefix() const { return vocab_->kind == TokenizerKind::kSpm && vocab_->add_space_prefix; }

Status Tokenizer::decode(const int32_t* ids, size_t n, bool special, std::string* out) const {
  return detail::bad_alloc_as_status("tokenizer decode", [&]() -> Status {
    if (out == nullptr || (ids == nullptr && n > 0)) return invalid_argument("tokenizer: decode needs ids and an output");
    bool strip = adds_space_prefix();
    for (size_t i = 0; i < n; ++i) {
      LOCI_ASSIGN_OR_RETURN(std::string_view p, piece(ids[i], special));
      if (strip && !p.empty()) {
        if (p.front() == ' ') p.remove_prefix(1);
        strip = false;
      }
      out->append(p.data(), p.size());
    }
    return Status::ok();
  });
}

size_t Tokenizer::heap_bytes() const {
  const detail::TokenizerVocab& v = *vocab_;
  // Hash maps: a node (key, value, next pointer, cached hash) per entry plus a bucket pointer.
  auto map_bytes = [](size_t entries, size_t kv) { return entries * (kv + 2 * sizeof(void*)) + entries * sizeof(void*); };
  return sizeof(v) + v.text_blob.capacity() + v.piece_blob.capacity() + v.raw_blob.capacity() +
         (v.text_end.capacity() + v.piece_end.capacity()) * sizeof(uint32_t) + v.scores.capacity() * sizeof(float) +
         v.types.capacity() * sizeof(TokenType) + v.eog.capacity() + v.special_ids.capacity() * sizeof(int32_t) +
         map_bytes(v.text_to_id.size(), sizeof(std::string_view) + sizeof(int32_t)) +
         map_bytes(v.raw_to_id.size(), sizeof(std::string_view) + sizeof(int32_t)) +
         v.merges.heap_bytes() + v.special_index.heap_bytes();
}

}  // namespace loci
