// The tokenizers on small hand-made vocabularies, written as in-memory GGUF
// images: merge order, byte fallback, special tokens, pieces, decoding, and
// the refusal of bad vocabularies.
#include <catch2/catch.hpp>

#include <cmath>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "loci/gguf.h"
#include "loci/tokenizer.h"
#include "runtime/tokenizer/pretokenize.h"
#include "support/gguf_writer.h"
#include "support/test_support.h"

namespace {

using loci::StatusCode;
using loci::Tokenizer;
using loci::TokenType;
using loci::test::GgufWriter;
namespace gguf_type = loci::test::gguf_type;

const std::string kSp = "\xE2\x96\x81";  // U+2581, SPM's space

// A vocabulary under construction: token texts, scores and types.
struct VocabSpec {
  std::vector<std::string> tokens;
  std::vector<float> scores;
  std::vector<int32_t> types;

  int32_t add(const std::string& text, float score = 0.0f, TokenType type = TokenType::kNormal) {
    tokens.push_back(text);
    scores.push_back(score);
    types.push_back(static_cast<int32_t>(type));
    return static_cast<int32_t>(tokens.size() - 1);
  }
};

// SPM: <unk> <s> </s>, the 256 byte tokens (id 3 + byte), then `extra`.
constexpr int32_t kByte0 = 3;

VocabSpec spm_base() {
  VocabSpec v;
  v.add("<unk>", 0, TokenType::kUnknown);
  v.add("<s>", 0, TokenType::kControl);
  v.add("</s>", 0, TokenType::kControl);
  static const char* kHex = "0123456789ABCDEF";
  for (int b = 0; b < 256; ++b) v.add(std::string("<0x") + kHex[b >> 4] + kHex[b & 15] + ">", 0, TokenType::kByte);
  return v;
}

GgufWriter spm_writer(const VocabSpec& v) {
  GgufWriter w;
  w.add_string("tokenizer.ggml.model", "llama");
  w.add_string_array("tokenizer.ggml.tokens", v.tokens);
  w.add_array("tokenizer.ggml.scores", gguf_type::kF32, v.scores);
  w.add_array("tokenizer.ggml.token_type", gguf_type::kI32, v.types);
  w.add_u32("tokenizer.ggml.bos_token_id", 1);
  w.add_u32("tokenizer.ggml.eos_token_id", 2);
  w.add_u32("tokenizer.ggml.unknown_token_id", 0);
  return w;
}

// GPT-2's byte-level character for a byte.
std::string byte_char(int b) {
  int cp = b;
  if (!((b >= 0x21 && b <= 0x7E) || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF))) {
    int n = 0;
    for (int x = 0; x < b; ++x)
      if (!((x >= 0x21 && x <= 0x7E) || (x >= 0xA1 && x <= 0xAC) || (x >= 0xAE && x <= 0xFF))) ++n;
    cp = 0x100 + n;
  }
  std::string s;
  if (cp < 0x80) {
    s.push_back(static_cast<char>(cp));
  } else {
    s.push_back(static_cast<char>(0xC0 | (cp >> 6)));
    s.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  }
  return s;
}

// Byte-level text of raw bytes.
std::string bl(const std::string& raw) {
  std::string s;
  for (const char c : raw) s += byte_char(static_cast<unsigned char>(c));
  return s;
}

// BPE: the 256 byte-level characters (id = byte), then `extra`.
VocabSpec bpe_base() {
  VocabSpec v;
  for (int b = 0; b < 256; ++b) v.add(byte_char(b));
  return v;
}

GgufWriter bpe_writer(const VocabSpec& v, const std::vector<std::string>& merges, const std::string& pre = "gpt-2") {
  GgufWriter w;
  w.add_string("tokenizer.ggml.model", "gpt2");
  w.add_string("tokenizer.ggml.pre", pre);
  w.add_string_array("tokenizer.ggml.tokens", v.tokens);
  w.add_array("tokenizer.ggml.token_type", gguf_type::kI32, v.types);
  w.add_string_array("tokenizer.ggml.merges", merges);
  return w;
}

loci::Result<std::unique_ptr<Tokenizer>> build(const GgufWriter& w) {
  const loci::test::GgufImage img = w.build();
  auto file = loci::GgufFile::parse(img.bytes.data(), img.bytes.size());
  if (!file.is_ok()) return file.status();
  return Tokenizer::from_gguf(**file);
}

std::unique_ptr<Tokenizer> must_build(const GgufWriter& w) {
  auto t = build(w);
  INFO(t.status().to_string());
  REQUIRE(t.is_ok());
  return std::move(t).value();
}

std::vector<int32_t> enc(const Tokenizer& t, const std::string& text, bool add_special = false, bool parse_special = false) {
  std::vector<int32_t> ids;
  const loci::Status s = t.encode(text, add_special, parse_special, &ids);
  INFO(s.to_string());
  REQUIRE(s.is_ok());
  return ids;
}

std::string dec(const Tokenizer& t, const std::vector<int32_t>& ids, bool special = false) {
  std::string out;
  const loci::Status s = t.decode(ids.data(), ids.size(), special, &out);
  INFO(s.to_string());
  REQUIRE(s.is_ok());
  return out;
}

void require_refused(const GgufWriter& w, StatusCode code, const std::string& needle) {
  auto t = build(w);
  REQUIRE_FALSE(t.is_ok());
  INFO(t.status().to_string());
  CHECK(t.status().code() == code);
  CHECK(t.status().message().find(needle) != std::string::npos);
}

// Random valid UTF-8: a mix of ASCII, spaces, Latin, CJK and emoji codepoints.
std::string random_utf8(std::mt19937_64& g, size_t n_cps) {
  static const uint32_t kPool[][2] = {{0x20, 0x7E}, {0x20, 0x20}, {0x09, 0x0D}, {0xA0, 0x17F},
                                      {0x400, 0x4FF}, {0x4E00, 0x4FFF}, {0x1F600, 0x1F64F}, {0x3000, 0x3002}};
  std::string s;
  for (size_t i = 0; i < n_cps; ++i) {
    const auto& r = kPool[g() % std::size(kPool)];
    const uint32_t cp = r[0] + static_cast<uint32_t>(g() % (r[1] - r[0] + 1));
    if (cp < 0x80) {
      s.push_back(static_cast<char>(cp));
    } else if (cp < 0x800) {
      s.push_back(static_cast<char>(0xC0 | (cp >> 6)));
      s.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
    } else if (cp < 0x10000) {
      s.push_back(static_cast<char>(0xE0 | (cp >> 12)));
      s.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
      s.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
    } else {
      s.push_back(static_cast<char>(0xF0 | (cp >> 18)));
      s.push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3F)));
      s.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
      s.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
    }
  }
  return s;
}

std::vector<std::string> words(loci::detail::PreTokenizer p, const std::string& text) {
  std::string norm;
  std::vector<size_t> ends;
  loci::detail::pre_tokenize(p, text, &norm, &ends);
  std::vector<std::string> out;
  size_t b = 0;
  for (const size_t e : ends) {
    out.push_back(norm.substr(b, e - b));
    b = e;
  }
  return out;
}

}  // namespace

// --- SPM -----------------------------------------------------------------------

TEST_CASE("tokenizer/spm: the highest-scoring merge wins, with a leading space added", "[tokenizer]") {
  VocabSpec v = spm_base();
  const int32_t a = v.add("a", -5), b = v.add("b", -5), c = v.add("c", -5), sp = v.add(kSp, -5);
  const int32_t ab = v.add("ab", -2), bc = v.add("bc", -1), sp_a = v.add(kSp + "a", -3);
  const auto tok = must_build(spm_writer(v));
  CHECK(tok->kind() == loci::TokenizerKind::kSpm);
  CHECK(tok->n_vocab() == v.tokens.size());
  // "▁abc": bc (-1) beats ab (-2) and ▁a (-3); then ▁a merges; ▁a+bc is no token.
  CHECK(enc(*tok, "abc") == std::vector<int32_t>{sp_a, bc});
  // "▁ab": ab (-2) first, then ▁+ab is no token.
  CHECK(enc(*tok, "ab") == std::vector<int32_t>{sp, ab});
  CHECK(enc(*tok, "b a") == std::vector<int32_t>{sp, b, sp_a});
  CHECK(enc(*tok, "c") == std::vector<int32_t>{sp, c});
  CHECK(enc(*tok, "") == std::vector<int32_t>{});
  (void)a;
}

TEST_CASE("tokenizer/spm: a token with an inner space still merges across spaces", "[tokenizer]") {
  VocabSpec v = spm_base();
  const int32_t sp = v.add(kSp), a = v.add("a"), b = v.add("b");
  const int32_t a_sp = v.add("a" + kSp, -1), a_sp_b = v.add("a" + kSp + "b", 0);
  const auto tok = must_build(spm_writer(v));
  // "▁a▁b": a▁ merges first, then a▁+b.
  CHECK(enc(*tok, "a b") == std::vector<int32_t>{sp, a_sp_b});
  CHECK(dec(*tok, {sp, a_sp_b}) == "a b");
  (void)a, (void)b, (void)a_sp;
}

TEST_CASE("tokenizer/spm: bytes without a token fall back to <0xXX> tokens", "[tokenizer]") {
  VocabSpec v = spm_base();
  const int32_t sp = v.add(kSp), x = v.add("x");
  const auto tok = must_build(spm_writer(v));
  // "é" is C3 A9 and has no token of its own.
  CHECK(enc(*tok, "x\xC3\xA9") == std::vector<int32_t>{sp, x, kByte0 + 0xC3, kByte0 + 0xA9});
  // Invalid UTF-8 too: each byte of it.
  CHECK(enc(*tok, "\xFF") == std::vector<int32_t>{sp, kByte0 + 0xFF});
  // And back: byte pieces are their bytes.
  CHECK(dec(*tok, {sp, x, kByte0 + 0xC3, kByte0 + 0xA9}) == "x\xC3\xA9");
  CHECK(*tok->piece(kByte0 + 0x41) == "A");
}

TEST_CASE("tokenizer/spm: random text and bytes decode back to themselves", "[tokenizer]") {
  VocabSpec v = spm_base();
  for (const char* t : {"a", "b", "ab", "\xE4\xB8\x80"}) v.add(t, -1);
  v.add(kSp, -2);
  v.add(kSp + "a", -1.5f);
  const auto tok = must_build(spm_writer(v));
  auto g = loci::test::rng(1);
  for (int i = 0; i < 200; ++i) {
    // Random bytes carry no spaces: a stray lead byte just before an escaped
    // space would swallow part of its U+2581 into a byte-fallback symbol (in
    // llama.cpp too), and that decodes as U+2581 bytes, not as a space.
    const std::string text = i % 2 ? random_utf8(g, g() % 40) : [&] {
      std::vector<uint8_t> raw = loci::test::random_bytes(g, g() % 40);
      for (uint8_t& b : raw) b = b == ' ' ? 'x' : b;
      return std::string(raw.begin(), raw.end());
    }();
    if (text.find(kSp) != std::string::npos) continue;  // a literal U+2581 decodes as a space
    INFO("text of " << text.size() << " bytes, case " << i);
    CHECK(dec(*tok, enc(*tok, text)) == text);
    CHECK(dec(*tok, enc(*tok, text, /*add_special=*/true)) == text);
  }
}

TEST_CASE("tokenizer/spm: BOS and EOS follow add_bos and add_eos", "[tokenizer]") {
  VocabSpec v = spm_base();
  const int32_t sp = v.add(kSp);
  GgufWriter w = spm_writer(v);
  SECTION("defaults: BOS only") {
    const auto tok = must_build(w);
    CHECK(tok->add_bos());
    CHECK_FALSE(tok->add_eos());
    CHECK(enc(*tok, " ", true) == std::vector<int32_t>{1, sp, sp});
    CHECK(enc(*tok, "", true) == std::vector<int32_t>{1});
  }
  SECTION("both from metadata") {
    w.add_bool("tokenizer.ggml.add_eos_token", true);
    const auto tok = must_build(w);
    CHECK(enc(*tok, "", true) == std::vector<int32_t>{1, 2});
    CHECK(enc(*tok, "", false) == std::vector<int32_t>{});
  }
  SECTION("neither") {
    w.add_bool("tokenizer.ggml.add_bos_token", false);
    const auto tok = must_build(w);
    CHECK(enc(*tok, "", true) == std::vector<int32_t>{});
  }
}

TEST_CASE("tokenizer/spm: control tokens are parsed only with parse_special", "[tokenizer]") {
  VocabSpec v = spm_base();
  const int32_t sp = v.add(kSp), x = v.add("x"), sp_x = v.add(kSp + "x", 1);
  const auto tok = must_build(spm_writer(v));
  // Parsed: "<s>" becomes BOS and the text after it gets its own leading space.
  CHECK(enc(*tok, "x<s>x", false, true) == std::vector<int32_t>{sp_x, 1, sp_x});
  // Not parsed: "<s>" is plain text ('<', 's', '>' as bytes).
  CHECK(enc(*tok, "<s>", false, false) == std::vector<int32_t>{sp, kByte0 + '<', kByte0 + 's', kByte0 + '>'});
  (void)x;
}

TEST_CASE("tokenizer: control and unknown pieces appear only with `special`", "[tokenizer]") {
  VocabSpec v = spm_base();
  const int32_t sp_x = v.add(kSp + "x"), unused = v.add("<unused0>", 0, TokenType::kUnused);
  const int32_t user = v.add("<tool>", 0, TokenType::kUserDefined);
  const auto tok = must_build(spm_writer(v));
  CHECK(*tok->piece(1, false) == "");
  CHECK(*tok->piece(1, true) == "<s>");
  CHECK(*tok->piece(0, false) == "");
  CHECK(*tok->piece(0, true) == "<unk>");
  CHECK(*tok->piece(sp_x) == " x");
  CHECK(*tok->piece(unused, true) == "");
  CHECK(*tok->piece(user, false) == "<tool>");
  CHECK(*tok->token_text(sp_x) == kSp + "x");
  CHECK(tok->token_type(1) == TokenType::kControl);
  CHECK(tok->token_type(-1) == TokenType::kUndefined);

  // decode drops the space the encoder added, from the first piece with text.
  CHECK(dec(*tok, {1, sp_x, sp_x, 2}, false) == "x x");
  CHECK(dec(*tok, {1, sp_x, 2}, true) == "<s> x</s>");
  CHECK(dec(*tok, {}, true) == "");

  const auto bad = tok->piece(static_cast<int32_t>(v.tokens.size()));
  REQUIRE_FALSE(bad.is_ok());
  CHECK(bad.status().code() == StatusCode::kOutOfRange);
  std::string out;
  const int32_t ids[] = {sp_x, -3};
  CHECK(tok->decode(ids, 2, false, &out).code() == StatusCode::kOutOfRange);
}

TEST_CASE("tokenizer: end of generation covers EOS, EOT and the known end-of-turn texts", "[tokenizer]") {
  VocabSpec v = spm_base();
  const int32_t im_end = v.add("<|im_end|>");  // normal type in the file: treated as control, as llama.cpp does
  const int32_t plain = v.add("x");
  const auto tok = must_build(spm_writer(v));
  CHECK(tok->is_eog(2));
  CHECK(tok->is_eog(im_end));
  CHECK(tok->token_type(im_end) == TokenType::kControl);
  CHECK(tok->eot() == im_end);
  CHECK_FALSE(tok->is_eog(1));
  CHECK_FALSE(tok->is_eog(plain));
  CHECK_FALSE(tok->is_eog(-1));
  CHECK_FALSE(tok->is_eog(static_cast<int32_t>(v.tokens.size())));
}

// --- BPE -----------------------------------------------------------------------

TEST_CASE("tokenizer/bpe: merges apply lowest rank first, within pre-tokenized words", "[tokenizer]") {
  VocabSpec v = bpe_base();
  const int32_t he = v.add("he"), ll = v.add("ll"), hell = v.add("hell"), hello = v.add("hello");
  const int32_t gw = v.add(bl(" w")), gwo = v.add(bl(" wo"));
  const std::vector<std::string> merges = {"l l", "h e", "he ll", "hell o", bl(" ") + " w", bl(" w") + " o"};
  const auto tok = must_build(bpe_writer(v, merges));
  CHECK(tok->kind() == loci::TokenizerKind::kBpe);
  CHECK(enc(*tok, "hello") == std::vector<int32_t>{hello});
  // " world": the word starts with its space; "Ġwo" then r, l, d single bytes.
  CHECK(enc(*tok, "hello world") == std::vector<int32_t>{hello, gwo, 'r', 'l', 'd'});
  // Words never merge across their boundary: "hel" + "lo" would be "hello".
  CHECK(enc(*tok, "hel'lo") == std::vector<int32_t>{he, 'l', '\'', 'l', 'o'});
  CHECK(enc(*tok, "hell") == std::vector<int32_t>{hell});
  CHECK(enc(*tok, "xll") == std::vector<int32_t>{'x', ll});
  CHECK(*tok->piece(gw) == " w");
  CHECK(dec(*tok, enc(*tok, "hello world")) == "hello world");
}

TEST_CASE("tokenizer/bpe: random text decodes back to itself", "[tokenizer]") {
  VocabSpec v = bpe_base();
  v.add("ab");
  v.add(bl(" a"));
  const auto tok = must_build(bpe_writer(v, {"a b", bl(" ") + " a"}));
  auto g = loci::test::rng(2);
  for (int i = 0; i < 200; ++i) {
    const std::string text = random_utf8(g, g() % 60);
    INFO("case " << i);
    CHECK(dec(*tok, enc(*tok, text)) == text);
  }
}

TEST_CASE("tokenizer/bpe: user-defined tokens always split, control tokens only with parse_special", "[tokenizer]") {
  VocabSpec v = bpe_base();
  const int32_t eot = v.add("<|endoftext|>", 0, TokenType::kControl);
  const int32_t user = v.add("<tool>", 0, TokenType::kUserDefined);
  const auto tok = must_build(bpe_writer(v, {}));
  CHECK(enc(*tok, "a<tool>b") == std::vector<int32_t>{'a', user, 'b'});
  CHECK(enc(*tok, "a<|endoftext|>", false, true) == std::vector<int32_t>{'a', eot});
  const std::vector<int32_t> plain = enc(*tok, "<|endoftext|>", false, false);
  CHECK(plain.size() == std::string("<|endoftext|>").size());
  CHECK(dec(*tok, plain) == "<|endoftext|>");
  CHECK(tok->is_eog(eot));
}

TEST_CASE("tokenizer/bpe: llama3 keeps a word that is a whole token whole", "[tokenizer]") {
  VocabSpec v = bpe_base();
  const int32_t ab = v.add("ab"), abc = v.add("abc");
  // No merge makes "abc", but it is a token; llama-bpe ignores the merges then.
  const auto llama3 = must_build(bpe_writer(v, {"a b"}, "llama-bpe"));
  CHECK(enc(*llama3, "abc") == std::vector<int32_t>{abc});
  CHECK(llama3->add_bos());  // llama-bpe's default
  const auto gpt2 = must_build(bpe_writer(v, {"a b"}, "gpt-2"));
  CHECK(enc(*gpt2, "abc") == std::vector<int32_t>{ab, 'c'});
  CHECK_FALSE(gpt2->add_bos());
}

TEST_CASE("tokenizer: the same tokenizer encodes from two threads at once", "[tokenizer]") {
  VocabSpec v = bpe_base();
  v.add("ab");
  const auto tok = must_build(bpe_writer(v, {"a b"}));
  auto g = loci::test::rng(3);
  const std::string text = random_utf8(g, 2000);
  const std::vector<int32_t> expected = enc(*tok, text);
  std::vector<int32_t> r1, r2;
  std::thread t1([&] { (void)tok->encode(text, false, false, &r1); });
  std::thread t2([&] { (void)tok->encode(text, false, false, &r2); });
  t1.join();
  t2.join();
  CHECK(r1 == expected);
  CHECK(r2 == expected);
}

// --- pre-tokenizers (expected words worked out by hand from each regex) --------

TEST_CASE("tokenizer/pre: the regex sequences split as the regexes say", "[tokenizer]") {
  using loci::detail::PreTokenizer;
  using V = std::vector<std::string>;
  // gpt-2: a space run leaves its last space to the next word.
  CHECK(words(PreTokenizer::kGpt2, "Hello  world's 123!!") == V{"Hello", " ", " world", "'s", " 123", "!!"});
  CHECK(words(PreTokenizer::kGpt2, "a \n b ") == V{"a", " \n", " b", " "});
  // llama3: digits in threes, case-insensitive contractions, newlines kept apart.
  CHECK(words(PreTokenizer::kLlama3, "12345 I'M ok\n\n x") == V{"123", "45", " I", "'M", " ok", "\n\n", " x"});
  CHECK(words(PreTokenizer::kLlama3, "(hello)") == V{"(hello", ")"});
  // qwen2: the same, one digit at a time.
  CHECK(words(PreTokenizer::kQwen2, "x1234") == V{"x", "1", "2", "3", "4"});
  // starcoder: every digit alone first, then gpt-2.
  CHECK(words(PreTokenizer::kStarcoder, "ab 12") == V{"ab", " ", "1", "2"});
  // falcon: punctuation runs first, then gpt-2, then three-digit groups.
  CHECK(words(PreTokenizer::kFalcon, "a+=b 12345") == V{"a", "+=", "b", " ", "123", "45"});
  CHECK(words(PreTokenizer::kFalcon, "12345") == V{"123", "45"});
  // deepseek-llm: Latin/Greek/Cyrillic letter runs, CJK runs, digits.
  CHECK(words(PreTokenizer::kDeepseekLlm, "ab 一二 3") == V{"ab", " ", "一二", " ", "3"});
  // Invalid UTF-8 becomes U+FFFD, as in llama.cpp.
  CHECK(words(PreTokenizer::kGpt2, "a\xFF") == V{"a", "\xEF\xBF\xBD"});
  CHECK(words(PreTokenizer::kGpt2, "") == V{});
}

// --- refusals ------------------------------------------------------------------

TEST_CASE("tokenizer: unknown models and pre-tokenizers are refused by name", "[tokenizer]") {
  VocabSpec v = bpe_base();
  require_refused(bpe_writer(v, {}, "my-new-pre"), StatusCode::kUnsupported, "'my-new-pre'");
  GgufWriter w = spm_writer(spm_base());
  w.kv("tokenizer.ggml.model")->value.bytes = {'b', 'e', 'r', 't'};
  require_refused(w, StatusCode::kUnsupported, "'bert'");
  GgufWriter none = spm_writer(spm_base());
  none.kvs.erase(none.kvs.begin());
  require_refused(none, StatusCode::kInvalidModel, "tokenizer.ggml.model");
}

TEST_CASE("tokenizer: inconsistent vocabularies are refused", "[tokenizer]") {
  SECTION("special token id out of range") {
    VocabSpec v = spm_base();
    GgufWriter w = spm_writer(v);
    w.add_u32("tokenizer.ggml.eot_token_id", static_cast<uint32_t>(v.tokens.size()));
    require_refused(w, StatusCode::kInvalidModel, "tokenizer.ggml.eot_token_id");
  }
  SECTION("an id of -1 (as u32) means none") {
    GgufWriter w = spm_writer(spm_base());
    w.add_u32("tokenizer.ggml.padding_token_id", 0xFFFFFFFFu);
    CHECK(build(w).is_ok());
  }
  SECTION("scores length mismatch") {
    VocabSpec v = spm_base();
    v.scores.pop_back();
    require_refused(spm_writer(v), StatusCode::kInvalidModel, "tokenizer.ggml.scores");
  }
  SECTION("token types length mismatch and unknown type") {
    VocabSpec v = spm_base();
    v.types.push_back(1);
    require_refused(spm_writer(v), StatusCode::kInvalidModel, "tokenizer.ggml.token_type");
    VocabSpec u = spm_base();
    u.types[5] = 9;
    require_refused(spm_writer(u), StatusCode::kInvalidModel, "unknown type 9");
  }
  SECTION("NaN score") {
    VocabSpec v = spm_base();
    v.scores[4] = std::nanf("");
    require_refused(spm_writer(v), StatusCode::kInvalidModel, "NaN");
  }
  SECTION("malformed byte token") {
    VocabSpec v = spm_base();
    v.add("<0xZZ>", 0, TokenType::kByte);
    require_refused(spm_writer(v), StatusCode::kInvalidModel, "<0xZZ>");
  }
  SECTION("no tokens") {
    VocabSpec v;
    GgufWriter w;
    w.add_string("tokenizer.ggml.model", "llama");
    require_refused(w, StatusCode::kInvalidModel, "tokenizer.ggml.tokens");
    w.add_string_array("tokenizer.ggml.tokens", {});
    require_refused(w, StatusCode::kInvalidModel, "empty");
  }
  SECTION("BOS asked for but absent") {
    VocabSpec v = spm_base();
    GgufWriter w = spm_writer(v);
    w.kv("tokenizer.ggml.bos_token_id")->value.bytes = loci::test::le_bytes(uint32_t(0xFFFFFFFFu));
    require_refused(w, StatusCode::kInvalidModel, "BOS");
  }
  SECTION("merges naming missing tokens, or without a separator") {
    VocabSpec v = bpe_base();
    require_refused(bpe_writer(v, {"a b", "zz q"}), StatusCode::kInvalidModel, "merge 1 'zz q'");
    require_refused(bpe_writer(v, {"ab"}), StatusCode::kInvalidModel, "merge 0 'ab'");
    GgufWriter w = bpe_writer(v, {});
    w.kvs.pop_back();  // no merges at all
    require_refused(w, StatusCode::kInvalidModel, "tokenizer.ggml.merges");
  }
}
