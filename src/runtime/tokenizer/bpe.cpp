// Byte-level BPE as llama.cpp does it: pre-tokenize into words, then within
// each word start from single bytes and keep applying the lowest-ranked merge
// (leftmost on a tie). Symbols carry token ids, so merges are looked up by id
// pair; that equals looking them up by text because every merge names tokens
// that exist (checked at load).
#include <queue>

#include "runtime/tokenizer/unicode.h"
#include "runtime/tokenizer/vocab.h"

namespace loci::detail {

void MergeTable::reserve(size_t n) {
  size_t cap = 16;
  unsigned bits = 4;
  while (3 * cap < 4 * n) {  // load factor at most 3/4
    cap *= 2;
    ++bits;
  }
  slots_.assign(cap, Slot());
  shift_ = 64 - bits;
  size_ = 0;
}

void MergeTable::insert(uint64_t key, BpeMerge m) {
  if (4 * (size_ + 1) > 3 * slots_.size()) {
    // Grow: re-insert everything into a table twice the size.
    std::vector<Slot> old = std::move(slots_);
    reserve(old.size());
    for (const Slot& s : old)
      if (s.key != kEmpty) insert(s.key, s.merge);
  }
  const size_t mask = slots_.size() - 1;
  for (size_t i = home(key);; i = (i + 1) & mask) {
    if (slots_[i].key == key) return;
    if (slots_[i].key == kEmpty) {
      slots_[i] = {key, m};
      ++size_;
      return;
    }
  }
}

const BpeMerge* MergeTable::find(uint64_t key) const {
  if (slots_.empty()) return nullptr;
  const size_t mask = slots_.size() - 1;
  for (size_t i = home(key);; i = (i + 1) & mask) {
    if (slots_[i].key == key) return &slots_[i].merge;
    if (slots_[i].key == kEmpty) return nullptr;
  }
}

namespace {

struct Symbol {
  int32_t id;  // token of the text so far, -1 if it is not a token
  size_t n;    // bytes; 0 once merged into its left neighbour
  int32_t prev, next;
};

struct Bigram {
  int32_t rank;
  int32_t left, right;
  int32_t left_id, right_id;  // to spot a pair that changed since
};

// Lowest rank first; on a tie, the leftmost pair.
struct BigramOrder {
  bool operator()(const Bigram& a, const Bigram& b) const {
    return a.rank > b.rank || (a.rank == b.rank && a.left > b.left);
  }
};

class WordEncoder {
 public:
  explicit WordEncoder(const TokenizerVocab& v) : v_(v), queue_(BigramOrder(), std::vector<Bigram>()) {}

  void encode(std::string_view word, std::vector<int32_t>* out) {
    if (v_.ignore_merges) {
      const auto it = v_.raw_to_id.find(word);
      if (it != v_.raw_to_id.end()) {
        out->push_back(it->second);
        return;
      }
    }
    syms_.clear();
    for (size_t i = 0; i < word.size(); ++i) {
      const int32_t k = static_cast<int32_t>(i);
      syms_.push_back({v_.bpe_byte_token[static_cast<uint8_t>(word[i])], 1, k - 1,
                       i + 1 == word.size() ? -1 : k + 1});
    }
    for (size_t i = 1; i < syms_.size(); ++i) add_bigram(static_cast<int32_t>(i - 1), static_cast<int32_t>(i));
    while (!queue_.empty()) {
      const Bigram b = queue_.top();
      queue_.pop();
      Symbol& l = syms_[size_t(b.left)];
      Symbol& r = syms_[size_t(b.right)];
      if (l.n == 0 || r.n == 0 || l.id != b.left_id || r.id != b.right_id) continue;  // stale
      l.id = v_.merges.find(MergeTable::key(b.left_id, b.right_id))->result;
      l.n += r.n;
      r.n = 0;
      l.next = r.next;
      if (r.next >= 0) syms_[size_t(r.next)].prev = b.left;
      add_bigram(l.prev, b.left);
      add_bigram(b.left, l.next);
    }
    size_t start = 0;
    for (const Symbol& s : syms_) {
      if (s.n == 0) continue;
      if (s.id >= 0) out->push_back(s.id);
      else emit_unknown(word.substr(start, s.n), out);
      start += s.n;
    }
  }

 private:
  void add_bigram(int32_t left, int32_t right) {
    if (left < 0 || right < 0) return;
    const int32_t a = syms_[size_t(left)].id, b = syms_[size_t(right)].id;
    if (a < 0 || b < 0) return;
    const BpeMerge* m = v_.merges.find(MergeTable::key(a, b));
    if (m == nullptr) return;
    queue_.push({m->rank, left, right, a, b});
  }

  // A symbol that is not a token: llama.cpp looks up each byte of its
  // byte-level text as a one-byte token and drops those that are not.
  void emit_unknown(std::string_view raw, std::vector<int32_t>* out) {
    std::string chars;
    for (const char c : raw) append_utf8(byte_to_bpe_codepoint(static_cast<uint8_t>(c)), &chars);
    for (const char c : chars) {
      const int32_t id = v_.find(std::string_view(&c, 1));
      if (id >= 0) out->push_back(id);
    }
  }

  const TokenizerVocab& v_;
  std::vector<Symbol> syms_;
  std::priority_queue<Bigram, std::vector<Bigram>, BigramOrder> queue_;
};

}  // namespace

void bpe_encode(const TokenizerVocab& v, std::string_view text, std::vector<int32_t>* out) {
  std::string normalized;
  std::vector<size_t> word_ends;
  pre_tokenize(v.pre, text, &normalized, &word_ends);
  WordEncoder enc(v);
  size_t begin = 0;
  for (const size_t end : word_ends) {
    enc.encode(std::string_view(normalized).substr(begin, end - begin), out);
    begin = end;
  }
}

}  // namespace loci::detail
