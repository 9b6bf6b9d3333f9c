// The crafted files of tests/support/cve_corpus.h, one family per class of
// GGUF loader bug llama.cpp shipped: each is refused at the right step with
// the exact code and a message naming the field, or (hostile but harmless
// data) loads, decodes and reads back byte for byte. The same files seed
// the fuzzers in tests/fuzz.
#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <limits>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "loci.h"
#include "loci/gguf.h"
#include "loci/model.h"
#include "loci/tokenizer.h"
#include "support/cve_corpus.h"
#include "support/gguf_writer.h"

using namespace loci;
using test::CveCase;
using test::CveStage;

namespace {

// A copy of `bytes` aligned and padded as borrow() and the C API's
// buffer loader require.
class AlignedImage {
 public:
  explicit AlignedImage(const std::vector<uint8_t>& bytes) : size_(bytes.size()) {
    data_ = static_cast<uint8_t*>(std::aligned_alloc(64, (bytes.size() + LOCI_BUFFER_PADDING + 63) / 64 * 64));
    if (!data_) return;
    std::copy(bytes.begin(), bytes.end(), data_);
    std::fill_n(data_ + bytes.size(), LOCI_BUFFER_PADDING, uint8_t(0));
  }
  ~AlignedImage() { std::free(data_); }
  AlignedImage(const AlignedImage&) = delete;
  AlignedImage& operator=(const AlignedImage&) = delete;
  const uint8_t* data() const { return data_; }
  size_t size() const { return size_; }

 private:
  uint8_t* data_ = nullptr;
  size_t size_ = 0;
};

void check_refusal(const Status& s, const CveCase& c) {
  INFO(s.to_string());
  CHECK(s.code() == c.code);
  for (const std::string& w : c.words) CHECK_THAT(s.message(), Catch::Contains(w));
}

std::shared_ptr<const GgufFile> parse_ok(const CveCase& c) {
  auto f = GgufFile::parse(c.bytes.data(), c.bytes.size());
  INFO(c.name << ": " << (f ? "" : f.status().to_string()));
  REQUIRE(f.is_ok());
  return *f;
}

// One token through a small session; the logits must be finite (unless the
// weights are not).
void decode_one(const std::shared_ptr<const Model>& m, bool finite = true) {
  SessionOptions o;
  o.n_ctx = 16;
  o.n_threads = 1;
  auto s = Session::create(m, o);
  REQUIRE(s.is_ok());
  const int32_t tok = m->tokenizer().bos() >= 0 ? m->tokenizer().bos() : 0;
  REQUIRE((*s)->eval(&tok, 1).is_ok());
  const float* logits = (*s)->logits();
  REQUIRE(logits != nullptr);
  if (finite)
    for (size_t i = 0; i < (*s)->n_vocab(); ++i) REQUIRE(std::isfinite(logits[i]));
}

}  // namespace

TEST_CASE("cve classes: the tiny models every crafted file derives from load, decode and round-trip text",
          "[files][gguf][cve]") {
  const std::vector<test::NamedImage> seeds = test::valid_seed_models();
  REQUIRE(seeds.size() >= 4);
  for (const test::NamedImage& s : seeds) {
    DYNAMIC_SECTION(s.name) {
      auto f = GgufFile::parse(s.bytes.data(), s.bytes.size());
      REQUIRE(f.is_ok());
      auto m = Model::from_gguf(*f);
      INFO((m ? "" : m.status().to_string()));
      REQUIRE(m.is_ok());
      decode_one(*m);
      const Tokenizer& t = (*m)->tokenizer();
      const std::string text = "ab a abc\nb";
      std::vector<int32_t> ids;
      REQUIRE(t.encode(text, false, false, &ids).is_ok());
      std::string back;
      REQUIRE(t.decode(ids.data(), ids.size(), false, &back).is_ok());
      CHECK(back == text);
    }
  }
}

TEST_CASE("cve classes: every class of the issue has crafted files, all distinct and deterministic",
          "[files][gguf][cve]") {
  const std::vector<CveCase> cases = test::cve_cases();
  std::set<std::string> classes, names;
  for (const CveCase& c : cases) {
    classes.insert(c.cve_class);
    names.insert(c.name);
  }
  const std::set<std::string> expected = {
      "dims-product-overflow", "byte-size-overflow", "huge-string-length", "huge-array-length",
      "n-dims-out-of-range", "alignment-padding-overflow", "data-offset-past-eof", "vocab-vs-token-ids",
      "tokenizer-signed-overflow", "template-injection", "found-by-fuzzing"};
  CHECK(classes == expected);
  CHECK(names.size() == cases.size());
  // The fuzz corpus is regenerated at build time: it must not drift.
  const std::vector<CveCase> again = test::cve_cases();
  REQUIRE(again.size() == cases.size());
  for (size_t i = 0; i < cases.size(); ++i) CHECK(again[i].bytes == cases[i].bytes);
}

namespace {

// A refused file: the step, code and words, through parse, borrow, open and the C API.
void check_refused(const CveCase& c) {
  if (c.stage == CveStage::kParse) {
    auto parsed = GgufFile::parse(c.bytes.data(), c.bytes.size());
    REQUIRE_FALSE(parsed.is_ok());
    check_refusal(parsed.status(), c);
    // In place, and from a file: the same code and field, offsets included.
    const AlignedImage img(c.bytes);
    REQUIRE(img.data());
    auto borrowed = GgufFile::borrow(img.data(), img.size());
    REQUIRE_FALSE(borrowed.is_ok());
    check_refusal(borrowed.status(), c);
    const test::TempFile file(c.bytes, c.name);
    REQUIRE(file.ok());
    auto opened = GgufFile::open(file.path());
    REQUIRE_FALSE(opened.is_ok());
    check_refusal(opened.status(), c);
    CHECK_THAT(opened.status().message(), Catch::Contains(file.path()));
  } else {
    const std::shared_ptr<const GgufFile> f = parse_ok(c);
    auto tok = Tokenizer::from_gguf(*f);
    if (c.stage == CveStage::kTokenizer) {
      REQUIRE_FALSE(tok.is_ok());
      check_refusal(tok.status(), c);
    } else {
      REQUIRE(tok.is_ok());
    }
    auto m = Model::from_gguf(f);
    REQUIRE_FALSE(m.is_ok());
    check_refusal(m.status(), c);
  }
  // The C API reports the same refusal as LOCI_ERR_INVALID_MODEL.
  const AlignedImage img(c.bytes);
  loci_model* cm = nullptr;
  CHECK(loci_model_load_from_buffer(img.data(), img.size(), nullptr, &cm) == LOCI_ERR_INVALID_MODEL);
  CHECK(cm == nullptr);
  CHECK_THAT(std::string(loci_last_error()), Catch::Contains(c.words.front()));
}

void check_verbatim(const CveCase& c, const GgufFile& f, const loci_model* cm) {
  // A chat template is a string like any other: no engine renders it
  // ("{{ 7 * 7 }}" stays as written), NULs and bad UTF-8 included.
  auto v = f.get_string(c.verbatim_key);
  REQUIRE(v.is_ok());
  const bool same_value = *v == c.verbatim_value;  // a bool: a failure must not print 1 MiB
  CHECK(same_value);
  std::vector<char> buf(c.verbatim_value.size() + 1, '\x7f');
  size_t len = 0;
  REQUIRE(loci_model_meta_string(cm, c.verbatim_key.c_str(), buf.data(), buf.size(), &len) == LOCI_OK);
  CHECK(len == c.verbatim_value.size());
  const bool same_copy = std::string(buf.data(), len) == c.verbatim_value;
  CHECK(same_copy);
  CHECK(buf[len] == '\0');
  // One byte short is refused, reporting the length needed.
  CHECK(loci_model_meta_string(cm, c.verbatim_key.c_str(), buf.data(), len, &len) == LOCI_ERR_BUFFER_TOO_SMALL);
  CHECK(len == c.verbatim_value.size());
}

void check_long_token(const CveCase& c, const Tokenizer& t, const loci_model* cm) {
  // Compared as bools: a failure must not print 70000 bytes.
  const bool same_text = t.token_text(c.token_id).value() == c.token_text;
  const bool same_piece = t.piece(c.token_id).value() == c.token_text;
  CHECK(same_text);
  CHECK(same_piece);
  std::string text;
  REQUIRE(t.decode(&c.token_id, 1, false, &text).is_ok());
  const bool decoded = text == c.token_text;
  CHECK(decoded);
  // Through the C API: too small a buffer reports the full length.
  char small[16];
  size_t len = 0;
  CHECK(loci_token_piece(cm, c.token_id, 0, small, sizeof small, &len) == LOCI_ERR_BUFFER_TOO_SMALL);
  CHECK(len == c.token_text.size());
  // Encoding finds the long (user-defined) token inside other text.
  std::vector<int32_t> ids;
  REQUIRE(t.encode("ab" + c.token_text + "ab", false, false, &ids).is_ok());
  CHECK(std::count(ids.begin(), ids.end(), c.token_id) == 1);
  text.clear();
  REQUIRE(t.decode(ids.data(), ids.size(), false, &text).is_ok());
  // (SPM puts its space prefix before text that follows a special token.)
  const bool round_trip = text == "ab" + c.token_text + " ab";
  CHECK(round_trip);
}

// A hostile but harmless file: loads, decodes one token, reads back verbatim.
void check_loads(const CveCase& c) {
  const std::shared_ptr<const GgufFile> f = parse_ok(c);
  auto m = Model::from_gguf(f);
  INFO((m ? "" : m.status().to_string()));
  REQUIRE(m.is_ok());
  decode_one(*m, c.finite_logits);
  const AlignedImage img(c.bytes);
  loci_model* cm = nullptr;
  REQUIRE(loci_model_load_from_buffer(img.data(), img.size(), nullptr, &cm) == LOCI_OK);
  if (!c.verbatim_key.empty()) check_verbatim(c, *f, cm);
  if (c.token_id >= 0) check_long_token(c, (*m)->tokenizer(), cm);
  loci_model_free(cm);
}


}  // namespace

TEST_CASE("cve classes: each crafted file is refused at its step with the exact code and a message naming the field",
          "[files][gguf][cve]") {
  for (const CveCase& c : test::cve_cases()) {
    if (c.stage == CveStage::kLoads) continue;
    DYNAMIC_SECTION(c.name << " (" << test::cve_stage_name(c.stage) << ")") { check_refused(c); }
  }
}

TEST_CASE("cve classes: hostile but harmless files load, decode, and hand their data back untouched",
          "[files][gguf][cve]") {
  size_t n_loads = 0;
  for (const CveCase& c : test::cve_cases()) {
    if (c.stage != CveStage::kLoads) continue;
    ++n_loads;
    DYNAMIC_SECTION(c.name) { check_loads(c); }
  }
  CHECK(n_loads >= 4);
}

TEST_CASE("cve classes: a hostile chat template changes nothing the model does", "[files][gguf][cve]") {
  // The same model with and without the payload template: same tokens, same logits.
  const std::vector<CveCase> cases = test::cve_cases();
  const auto it = std::find_if(cases.begin(), cases.end(),
                               [](const CveCase& c) { return c.name == "template-injection--jinja-payload.gguf"; });
  REQUIRE(it != cases.end());
  const std::vector<uint8_t> plain = test::tiny_runnable_model({"llama", DType::Q8_0, false, 1}).build().bytes;
  std::vector<std::vector<float>> logits;
  std::vector<std::vector<int32_t>> ids;
  for (const std::vector<uint8_t>* bytes : {&plain, &it->bytes}) {
    auto f = GgufFile::parse(bytes->data(), bytes->size());
    REQUIRE(f.is_ok());
    auto m = Model::from_gguf(*f);
    REQUIRE(m.is_ok());
    std::vector<int32_t> t;
    REQUIRE((*m)->tokenizer().encode("ab {{ 7 * 7 }} a", true, true, &t).is_ok());
    SessionOptions o;
    o.n_ctx = 32;
    o.n_threads = 1;
    auto s = Session::create(*m, o);
    REQUIRE(s.is_ok());
    REQUIRE((*s)->eval(t.data(), t.size()).is_ok());
    logits.emplace_back((*s)->logits(), (*s)->logits() + (*s)->n_vocab());
    ids.push_back(t);
  }
  CHECK(ids[0] == ids[1]);
  CHECK(logits[0] == logits[1]);
}

TEST_CASE("cve classes: token ids outside the vocabulary are errors everywhere, never reads", "[files][gguf][cve]") {
  const std::vector<uint8_t> bytes = test::tiny_runnable_model({"llama", DType::Q8_0, false, 1}).build().bytes;
  auto f = GgufFile::parse(bytes.data(), bytes.size());
  REQUIRE(f.is_ok());
  auto m = Model::from_gguf(*f);
  REQUIRE(m.is_ok());
  const Tokenizer& t = (*m)->tokenizer();
  const int32_t n = int32_t(t.n_vocab());
  SessionOptions o;
  o.n_ctx = 16;
  o.n_threads = 1;
  auto s = Session::create(*m, o);
  REQUIRE(s.is_ok());
  const AlignedImage img(bytes);
  loci_model* cm = nullptr;
  REQUIRE(loci_model_load_from_buffer(img.data(), img.size(), nullptr, &cm) == LOCI_OK);
  for (const int32_t bad : {std::numeric_limits<int32_t>::min(), -1, n, n + 1, std::numeric_limits<int32_t>::max()}) {
    INFO("token " << bad);
    CHECK(t.piece(bad).status().code() == StatusCode::kOutOfRange);
    CHECK(t.token_text(bad).status().code() == StatusCode::kOutOfRange);
    CHECK(t.token_type(bad) == TokenType::kUndefined);
    CHECK_FALSE(t.is_eog(bad));
    const int32_t ids[] = {1, bad};
    std::string out;
    CHECK(t.decode(ids, 2, true, &out).code() == StatusCode::kOutOfRange);
    CHECK((*s)->eval(ids, 2).code() == StatusCode::kOutOfRange);
    CHECK((*s)->logits() == nullptr);
    CHECK((*s)->position() == 0);
    char text[64];
    size_t len = 0;
    CHECK(loci_detokenize(cm, ids, 2, 0, text, sizeof text, &len) == LOCI_ERR_OUT_OF_RANGE);
    CHECK(loci_token_piece(cm, bad, 0, text, sizeof text, &len) == LOCI_ERR_OUT_OF_RANGE);
  }
  loci_model_free(cm);
}
