// Splitting special tokens out of the input text (see vocab.h).
#include <algorithm>

#include "runtime/tokenizer/vocab.h"

namespace loci::detail {

int32_t SpecialTextIndex::child(int32_t node, uint8_t b) const {
  if (node < 0) return root_init_ ? root_[b] : -1;
  for (const auto& [byte, next] : nodes_[size_t(node)].next)
    if (byte == b) return next;
  return -1;
}

void SpecialTextIndex::add(std::string_view text, int32_t slot) {
  if (text.empty()) return;
  if (!root_init_) {
    root_.fill(-1);
    root_init_ = true;
  }
  int32_t node = -1;
  for (const char c : text) {
    const uint8_t b = static_cast<uint8_t>(c);
    int32_t next = child(node, b);
    if (next < 0) {
      next = static_cast<int32_t>(nodes_.size());
      nodes_.emplace_back();
      if (node < 0) root_[b] = next;
      else nodes_[size_t(node)].next.emplace_back(b, next);
    }
    node = next;
  }
  nodes_[size_t(node)].slots.push_back(slot);
}

void SpecialTextIndex::find_all(std::string_view s, std::vector<uint8_t>* found) const {
  if (!root_init_) return;
  for (size_t i = 0; i < s.size(); ++i) {
    int32_t node = root_[static_cast<uint8_t>(s[i])];
    for (size_t k = i + 1; node >= 0; ++k) {
      for (const int32_t slot : nodes_[size_t(node)].slots) (*found)[size_t(slot)] = 1;
      if (k >= s.size()) break;
      node = child(node, static_cast<uint8_t>(s[k]));
    }
  }
}

size_t SpecialTextIndex::heap_bytes() const {
  size_t n = nodes_.capacity() * sizeof(Node);
  for (const Node& node : nodes_)
    n += node.next.capacity() * sizeof(node.next[0]) + node.slots.capacity() * sizeof(int32_t);
  return n;
}

namespace {

// Cuts every occurrence of `token`'s text out of the raw fragments of `in`.
void split_one(const std::string_view text, const std::string_view token_text, int32_t token,
               const std::vector<Fragment>& in, std::vector<Fragment>* out) {
  out->clear();
  for (const Fragment& f : in) {
    if (f.token >= 0) {
      out->push_back(f);
      continue;
    }
    size_t begin = f.offset;
    const size_t end = f.offset + f.length;
    while (begin < end) {
      const size_t at = text.substr(0, end).find(token_text, begin);
      if (at == std::string_view::npos) break;
      if (at > begin) out->push_back({-1, begin, at - begin});
      out->push_back({token, at, token_text.size()});
      begin = at + token_text.size();
    }
    if (begin < end) out->push_back({-1, begin, end - begin});
  }
}

bool takes_part(const TokenizerVocab& v, int32_t id, bool parse_special) {
  const TokenType t = v.types[size_t(id)];
  if (t == TokenType::kUserDefined) return true;
  return parse_special && (t == TokenType::kControl || t == TokenType::kUnknown);
}

}  // namespace

void split_special(const TokenizerVocab& v, std::string_view text, bool parse_special, std::vector<Fragment>* out) {
  out->clear();
  if (text.empty()) return;
  out->push_back({-1, 0, text.size()});
  if (v.special_ids.empty()) return;

  std::vector<uint8_t> found(v.special_ids.size(), 0);
  v.special_index.find_all(text, &found);
  std::vector<Fragment> next;
  for (size_t slot = 0; slot < v.special_ids.size(); ++slot) {
    if (!found[slot]) continue;
    const int32_t id = v.special_ids[slot];
    if (!takes_part(v, id, parse_special)) continue;
    split_one(text, v.text(id), id, *out, &next);
    out->swap(next);
  }
}

}  // namespace loci::detail
