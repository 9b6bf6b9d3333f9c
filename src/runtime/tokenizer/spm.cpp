// SentencePiece-style encoding as llama.cpp does it: start from UTF-8
// characters and keep merging the adjacent pair whose concatenation is the
// highest-scoring token; what never becomes a token falls back to byte tokens.
#include <algorithm>

#include "runtime/tokenizer/unicode.h"
#include "runtime/tokenizer/vocab.h"

namespace loci::detail {
namespace {

constexpr std::string_view kEscapedSpace = "\xE2\x96\x81";  // U+2581

struct Symbol {
  int32_t prev, next;  // neighbours in the chain, -1 at the ends
  size_t start, n;     // bytes of the text; n == 0 once merged into its left neighbour
};

struct Bigram {
  int32_t left, right;
  float score;
  size_t size;  // bytes of the merged text, to spot a pair that changed since
};

// Highest score first; on a tie, the leftmost pair.
struct BigramOrder {
  bool operator()(const Bigram& a, const Bigram& b) const {
    return a.score < b.score || (a.score == b.score && a.left > b.left);
  }
};

Status emit_bytes(const TokenizerVocab& v, std::string_view bytes, std::vector<int32_t>* out) {
  for (const char c : bytes) {
    const uint8_t b = static_cast<uint8_t>(c);
    int32_t id = v.spm_byte_token[b];
    if (id < 0) id = v.unk;
    if (id < 0)
      return invalid_argument("tokenizer: the vocabulary has no token for byte 0x" + std::to_string(b) +
                              " and no unknown token");
    out->push_back(id);
  }
  return Status::ok();
}

// Merges within the chain that starts at `first` and emits its tokens.
Status encode_chain(const TokenizerVocab& v, std::string_view text, std::vector<Symbol>* syms_io, int32_t first,
                    std::vector<Bigram>* heap, std::vector<int32_t>* out) {
  std::vector<Symbol>& syms = *syms_io;
  const BigramOrder order;
  heap->clear();
  auto push = [&](int32_t left, int32_t right) {
    if (left < 0 || right < 0) return;
    const Symbol& l = syms[size_t(left)];
    const size_t size = l.n + syms[size_t(right)].n;
    const int32_t id = v.find(text.substr(l.start, size));
    if (id < 0) return;
    heap->push_back({left, right, v.scores[size_t(id)], size});
    std::push_heap(heap->begin(), heap->end(), order);
  };
  for (int32_t i = first; syms[size_t(i)].next >= 0; i = syms[size_t(i)].next) push(i, syms[size_t(i)].next);

  while (!heap->empty()) {
    std::pop_heap(heap->begin(), heap->end(), order);
    const Bigram b = heap->back();
    heap->pop_back();
    Symbol& l = syms[size_t(b.left)];
    Symbol& r = syms[size_t(b.right)];
    if (l.n == 0 || r.n == 0 || l.n + r.n != b.size) continue;  // stale
    l.n += r.n;
    r.n = 0;
    l.next = r.next;
    if (r.next >= 0) syms[size_t(r.next)].prev = b.left;
    push(l.prev, b.left);
    push(b.left, l.next);
  }

  for (int32_t i = first; i != -1; i = syms[size_t(i)].next) {
    const Symbol& s = syms[size_t(i)];
    const std::string_view piece = text.substr(s.start, s.n);
    const int32_t id = v.find(piece);
    if (id >= 0) out->push_back(id);
    else LOCI_RETURN_IF_ERROR(emit_bytes(v, piece, out));
  }
  return Status::ok();
}

bool is_escaped_space(std::string_view text, const Symbol& s) {
  return s.n == kEscapedSpace.size() && text.compare(s.start, s.n, kEscapedSpace) == 0;
}

}  // namespace

Status spm_encode(const TokenizerVocab& v, std::string_view text, std::vector<int32_t>* out) {
  if (text.empty()) return Status::ok();
  std::vector<Symbol> syms;
  syms.reserve(text.size());
  for (size_t off = 0; off < text.size();) {
    const size_t n = std::min(utf8_len_from_lead(static_cast<uint8_t>(text[off])), text.size() - off);
    const int32_t i = static_cast<int32_t>(syms.size());
    syms.push_back({i - 1, off + n == text.size() ? -1 : i + 1, off, n});
    off += n;
  }
  // Where no token has U+2581 after its leading run, no merge can join a
  // symbol to a following escaped space (unless that symbol is one too), so
  // the text splits there into independent chains: the same result, with
  // small heaps instead of one as large as the text.
  std::vector<int32_t> firsts = {0};
  if (v.spm_split_at_spaces) {
    for (size_t i = 1; i < syms.size(); ++i) {
      if (is_escaped_space(text, syms[i]) && !is_escaped_space(text, syms[i - 1])) {
        syms[i - 1].next = -1;
        syms[i].prev = -1;
        firsts.push_back(static_cast<int32_t>(i));
      }
    }
  }
  std::vector<Bigram> heap;
  for (const int32_t first : firsts) LOCI_RETURN_IF_ERROR(encode_chain(v, text, &syms, first, &heap, out));
  return Status::ok();
}

}  // namespace loci::detail
