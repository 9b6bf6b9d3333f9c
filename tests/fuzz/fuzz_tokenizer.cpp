// Fuzz target: the tokenizers on arbitrary bytes, with the shared real
// vocabularies (SPM and every BPE pre-tokenizer loci supports). Each input is
// encoded with and without special-token parsing, the ids are checked and
// decoded, and the input's bytes are also decoded as raw token ids, where an
// id outside the vocabulary must be an error, never a read.
//
// The vocabularies load once, from $LOCI_SHARED_DIR (else the folder baked
// in at build time, LOCI_FUZZ_SHARED_DIR).
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "fuzz_check.h"
#include "loci/gguf.h"
#include "loci/tokenizer.h"

using namespace loci;

namespace {

struct Vocab {
  std::string name;
  std::unique_ptr<Tokenizer> tok;
  bool round_trips;  // decode(encode(text)) == text for valid UTF-8 without specials
};

std::vector<Vocab>* g_vocabs = nullptr;

const char* const kFiles[] = {
    "tokenizer/ggml-vocab-llama-spm.gguf",   "tokenizer/ggml-vocab-gpt-2.gguf",
    "tokenizer/ggml-vocab-llama3-bpe.gguf",  "tokenizer/ggml-vocab-deepseek-llm.gguf",
    "tokenizer/ggml-vocab-falcon.gguf",      "tokenizer/ggml-vocab-starcoder.gguf",
    "models/stories260K.gguf",  // SPM with byte fallback, from a real model
};

std::unique_ptr<Tokenizer> load(const std::string& path) {
  auto f = GgufFile::open(path);
  if (!f) {
    std::fprintf(stderr, "fuzz_tokenizer: %s (set LOCI_SHARED_DIR)\n", f.status().to_string().c_str());
    std::abort();
  }
  auto t = Tokenizer::from_gguf(**f);
  FUZZ_CHECK(t.is_ok(), "%s: %s", path.c_str(), t.status().to_string().c_str());
  return std::move(*t);
}

bool valid_utf8(std::string_view s) {
  for (size_t i = 0; i < s.size();) {
    const uint8_t c = uint8_t(s[i]);
    size_t n = c < 0x80 ? 1 : (c >> 5) == 6 ? 2 : (c >> 4) == 14 ? 3 : (c >> 3) == 30 ? 4 : 0;
    if (n == 0 || i + n > s.size()) return false;
    uint32_t cp = n == 1 ? c : c & (0x7F >> n);
    for (size_t k = 1; k < n; ++k) {
      const uint8_t cc = uint8_t(s[i + k]);
      if ((cc >> 6) != 2) return false;
      cp = (cp << 6) | (cc & 0x3F);
    }
    const uint32_t min[] = {0, 0, 0x80, 0x800, 0x10000};
    if (cp < min[n] || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return false;
    i += n;
  }
  return true;
}

void encode_decode(const Vocab& v, std::string_view text, bool special) {
  const Tokenizer& t = *v.tok;
  std::vector<int32_t> ids;
  const Status s = t.encode(text, special, special, &ids);
  FUZZ_CHECK(s.is_ok(), "%s: encode: %s", v.name.c_str(), s.to_string().c_str());
  for (const int32_t id : ids) FUZZ_CHECK(id >= 0 && size_t(id) < t.n_vocab(), "%s: id %d", v.name.c_str(), id);
  std::string back;
  const Status d = t.decode(ids.data(), ids.size(), special, &back);
  FUZZ_CHECK(d.is_ok(), "%s: decode: %s", v.name.c_str(), d.to_string().c_str());
  // SPM writes spaces as U+2581, so a U+2581 in the text comes back as a space.
  const bool spm_space = t.kind() == TokenizerKind::kSpm && text.find("\xE2\x96\x81") != std::string_view::npos;
  if (!special && v.round_trips && !spm_space && valid_utf8(text))
    FUZZ_CHECK(back == text, "%s: decode(encode(text)) differs (%zu -> %zu bytes)", v.name.c_str(), text.size(),
               back.size());
}

// The input's bytes as int32 ids: out-of-range ids must fail the whole
// decode; the same ids folded into range must decode.
void decode_raw_ids(const Vocab& v, const uint8_t* data, size_t size) {
  const Tokenizer& t = *v.tok;
  std::vector<int32_t> ids(size / 4);
  if (!ids.empty()) std::memcpy(ids.data(), data, ids.size() * 4);
  bool all_in = true;
  for (const int32_t id : ids) {
    const bool in = id >= 0 && size_t(id) < t.n_vocab();
    all_in = all_in && in;
    FUZZ_CHECK(t.piece(id, true).is_ok() == in && t.token_text(id).is_ok() == in, "%s: id %d", v.name.c_str(), id);
    (void)t.is_eog(id);
    (void)t.token_type(id);
  }
  for (const bool special : {false, true}) {
    std::string out;
    const Status s = t.decode(ids.data(), ids.size(), special, &out);
    FUZZ_CHECK(s.is_ok() == all_in, "%s: decode of raw ids: %s", v.name.c_str(), s.to_string().c_str());
    if (!s.is_ok()) FUZZ_CHECK(s.code() == StatusCode::kOutOfRange, "%s: code", v.name.c_str());
  }
  for (int32_t& id : ids) id = int32_t(uint32_t(id) % uint32_t(t.n_vocab()));
  std::string out;
  FUZZ_CHECK(t.decode(ids.data(), ids.size(), true, &out).is_ok(), "%s: in-range ids", v.name.c_str());
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  const char* env = std::getenv("LOCI_SHARED_DIR");
  const std::string dir = env && *env ? env : LOCI_FUZZ_SHARED_DIR;
  g_vocabs = new std::vector<Vocab>();
  for (const char* file : kFiles) {
    const std::string name = file;
    // Falcon's and starcoder's vocabularies lack tokens for some bytes
    // (control characters), which encoding drops as llama.cpp does.
    const bool round_trips = name.find("falcon") == std::string::npos && name.find("starcoder") == std::string::npos;
    g_vocabs->push_back({name, load(dir + "/" + name), round_trips});
  }
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  for (const Vocab& v : *g_vocabs) {
    encode_decode(v, text, false);
    encode_decode(v, text, true);
    decode_raw_ids(v, data, size);
  }
  return 0;
}
