// The tables a Tokenizer builds at load, shared by the SPM and BPE encoders,
// the special-token splitter and the detokenizer. Immutable after load.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "loci/status.h"
#include "loci/tokenizer.h"
#include "runtime/tokenizer/pretokenize.h"

namespace loci::detail {

// A BPE merge of two adjacent tokens: its rank (lower merges first) and the
// token the pair becomes (-1 if the merged text is not itself a token).
struct BpeMerge {
  int32_t rank = 0;
  int32_t result = -1;
};

// Merges by (left id, right id): an open-addressing table, built once, so a
// lookup is one or two probes in a flat array.
class MergeTable {
 public:
  static uint64_t key(int32_t left, int32_t right) { return (uint64_t(uint32_t(left)) << 32) | uint32_t(right); }
  void reserve(size_t n);
  // Adds a merge unless the pair is already there (the first rank wins).
  void insert(uint64_t key, BpeMerge m);
  const BpeMerge* find(uint64_t key) const;
  size_t size() const { return size_; }
  size_t heap_bytes() const { return slots_.capacity() * sizeof(Slot); }

 private:
  static constexpr uint64_t kEmpty = ~uint64_t(0);  // ids are below 2^31, so no real key
  struct Slot {
    uint64_t key = kEmpty;
    BpeMerge merge;
  };
  size_t home(uint64_t key) const { return size_t((key * 0x9E3779B97F4A7C15ull) >> shift_); }
  std::vector<Slot> slots_;
  size_t size_ = 0;
  unsigned shift_ = 63;
};

// Finds every special token whose text occurs anywhere in a string, so the
// splitter scans only for those. A byte trie over the special texts.
class SpecialTextIndex {
 public:
  void add(std::string_view text, int32_t slot);
  // Sets found[slot] = 1 for each added text that occurs in `s`.
  void find_all(std::string_view s, std::vector<uint8_t>* found) const;
  size_t heap_bytes() const;

 private:
  struct Node {
    std::vector<int32_t> slots;  // the texts ending here (duplicates share a node)
    std::vector<std::pair<uint8_t, int32_t>> next;
  };
  int32_t child(int32_t node, uint8_t b) const;
  std::array<int32_t, 256> root_{};
  bool root_init_ = false;
  std::vector<Node> nodes_;
};

struct TokenizerVocab {
  TokenizerKind kind = TokenizerKind::kSpm;
  PreTokenizer pre = PreTokenizer::kDefault;

  // Token texts as stored (an empty one renamed "[EMPTY_<id>]" as llama.cpp
  // does) and pieces as piece(id, special=true) gives them, in blobs.
  std::string text_blob, piece_blob;
  std::vector<uint32_t> text_end, piece_end;  // end offset of token i
  std::vector<float> scores;                  // SPM merge priority
  std::vector<TokenType> types;               // after llama.cpp's end-of-generation fix-ups
  std::vector<uint8_t> eog;                   // 1 if the token ends generation
  std::unordered_map<std::string_view, int32_t> text_to_id;  // last id wins for duplicate texts

  // BPE.
  MergeTable merges;
  std::array<int32_t, 256> bpe_byte_token{};      // token of each byte's byte-level character
  bool ignore_merges = false;                     // a word that is a whole token is kept whole
  std::string raw_blob;                           // ignore_merges: raw bytes of tokens...
  std::unordered_map<std::string_view, int32_t> raw_to_id;  // ...and their ids

  // SPM.
  std::array<int32_t, 256> spm_byte_token{};  // "<0xXX>" (else the one-byte token) for each byte
  bool add_space_prefix = true;
  bool spm_split_at_spaces = false;  // no token has U+2581 after its leading run of them

  // Control, user-defined and unknown tokens, longest text first: the order
  // in which they are split out of the input.
  std::vector<int32_t> special_ids;
  SpecialTextIndex special_index;  // slots are indexes into special_ids

  int32_t bos = -1, eos = -1, eot = -1, eom = -1, unk = -1, sep = -1, pad = -1, mask = -1;
  bool add_bos = false, add_eos = false;

  size_t n() const { return types.size(); }
  std::string_view text(int32_t id) const {
    const uint32_t b = id == 0 ? 0 : text_end[size_t(id) - 1];
    return std::string_view(text_blob).substr(b, text_end[size_t(id)] - b);
  }
  std::string_view piece(int32_t id) const {
    const uint32_t b = id == 0 ? 0 : piece_end[size_t(id) - 1];
    return std::string_view(piece_blob).substr(b, piece_end[size_t(id)] - b);
  }
  int32_t find(std::string_view s) const {
    const auto it = text_to_id.find(s);
    return it == text_to_id.end() ? -1 : it->second;
  }
};

// A stretch of the input: raw text, or a special token split out of it.
struct Fragment {
  int32_t token = -1;  // -1 for raw text
  size_t offset = 0, length = 0;
};

// Splits `text` around the special tokens, llama.cpp's way: each special
// token in turn (longest first) is cut out of every raw stretch left. Control
// and unknown tokens take part only with parse_special; user-defined ones always.
void split_special(const TokenizerVocab& v, std::string_view text, bool parse_special, std::vector<Fragment>* out);

// Appends the SPM ids of `text` (spaces already escaped as U+2581).
Status spm_encode(const TokenizerVocab& v, std::string_view text, std::vector<int32_t>* out);
// Appends the BPE ids of one raw stretch of text.
void bpe_encode(const TokenizerVocab& v, std::string_view text, std::vector<int32_t>* out);

// Builds the vocabulary from GGUF metadata, validating all of it.
Status load_vocab(const GgufFile& file, TokenizerVocab* v);

}  // namespace loci::detail
