// The tokenizers against llama.cpp's own test vectors (every vocab-only file
// in shared/tokenizer) and against the prompts and generations of the golden
// files llama.cpp wrote for the shared models.
#include <catch2/catch.hpp>

#include <cstdio>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "loci/gguf.h"
#include "loci/tokenizer.h"
#include "runtime/tokenizer/unicode.h"
#include "support/test_support.h"

namespace {

using loci::GgufFile;
using loci::Tokenizer;

std::string read_file(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  std::ostringstream s;
  s << f.rdbuf();
  return s.str();
}

std::unique_ptr<Tokenizer> load_tokenizer(const std::string& path) {
  auto file = GgufFile::open(path);
  INFO(path << ": " << file.status().to_string());
  REQUIRE(file.is_ok());
  auto tok = Tokenizer::from_gguf(**file);
  INFO(path << ": " << tok.status().to_string());
  REQUIRE(tok.is_ok());
  return std::move(tok).value();
}

// The inputs of a .inp file: each is the text before a line reading exactly
// "__ggml_vocab_test__", without the newline that ends the line before it.
std::vector<std::string> split_inputs(const std::string& s) {
  std::vector<std::string> out;
  std::vector<std::string> lines;
  size_t begin = 0;
  while (begin < s.size()) {
    size_t end = s.find('\n', begin);
    if (end == std::string::npos) end = s.size();
    const std::string line = s.substr(begin, end - begin);
    begin = end + 1;
    if (line != "__ggml_vocab_test__") {
      lines.push_back(line);
      continue;
    }
    std::string input;
    for (size_t i = 0; i < lines.size(); ++i) input += (i ? "\n" : "") + lines[i];
    out.push_back(input);
    lines.clear();
  }
  return out;
}

std::vector<std::vector<int32_t>> read_ids(const std::string& s) {
  std::vector<std::vector<int32_t>> out;
  std::istringstream lines(s);
  std::string line;
  while (std::getline(lines, line)) {
    std::istringstream ids(line);
    std::vector<int32_t> v;
    int64_t id = 0;
    while (ids >> id) v.push_back(static_cast<int32_t>(id));
    out.push_back(v);
  }
  return out;
}

std::string show_ids(const std::vector<int32_t>& ids) {
  std::string s;
  for (const int32_t id : ids) s += (s.empty() ? "" : " ") + std::to_string(id);
  return s;
}

std::string show_text(const std::string& t) {
  std::string s;
  for (const char c : t) {
    const unsigned char b = static_cast<unsigned char>(c);
    if (b == '\n') s += "\\n";
    else if (b == '\t') s += "\\t";
    else if (b < 0x20) {
      char hex[8];
      std::snprintf(hex, sizeof hex, "\\x%02x", b);
      s += hex;
    } else {
      s += c;
    }
  }
  return "'" + s + "'";
}

const char* const kVocabs[] = {
    "ggml-vocab-llama-spm.gguf", "ggml-vocab-gpt-2.gguf",     "ggml-vocab-deepseek-llm.gguf",
    "ggml-vocab-falcon.gguf",    "ggml-vocab-starcoder.gguf", "ggml-vocab-llama3-bpe.gguf",
};

// --- a tiny reader for the few golden-file fields used here ----------------

// The text after `"key":` (whitespace skipped), or npos.
size_t find_value(const std::string& json, const std::string& key) {
  const size_t k = json.find("\"" + key + "\"");
  if (k == std::string::npos) return k;
  size_t p = json.find(':', k);
  if (p == std::string::npos) return p;
  ++p;
  while (p < json.size() && (json[p] == ' ' || json[p] == '\n')) ++p;
  return p;
}

// A JSON string starting at json[*p] == '"'; advances *p past it.
std::string parse_string(const std::string& json, size_t* p) {
  std::string out;
  size_t i = *p + 1;
  auto hex4 = [&](size_t at) { return static_cast<uint32_t>(std::stoul(json.substr(at, 4), nullptr, 16)); };
  while (i < json.size() && json[i] != '"') {
    if (json[i] != '\\') {
      out.push_back(json[i++]);
      continue;
    }
    const char e = json[i + 1];
    i += 2;
    switch (e) {
      case 'n': out.push_back('\n'); break;
      case 't': out.push_back('\t'); break;
      case 'r': out.push_back('\r'); break;
      case 'b': out.push_back('\b'); break;
      case 'f': out.push_back('\f'); break;
      case 'u': {
        uint32_t cp = hex4(i);
        i += 4;
        if (cp >= 0xD800 && cp < 0xDC00 && json.compare(i, 2, "\\u") == 0) {
          cp = 0x10000 + ((cp - 0xD800) << 10) + (hex4(i + 2) - 0xDC00);
          i += 6;
        }
        loci::detail::append_utf8(cp, &out);
        break;
      }
      default: out.push_back(e); break;  // \" \\ \/
    }
  }
  *p = i + 1;
  return out;
}

std::string json_string(const std::string& json, const std::string& key) {
  size_t p = find_value(json, key);
  if (p == std::string::npos || json[p] != '"') return "";
  return parse_string(json, &p);
}

std::vector<int32_t> json_ids(const std::string& json, const std::string& key) {
  std::vector<int32_t> out;
  const size_t p = find_value(json, key);
  if (p == std::string::npos || json[p] != '[') return out;
  const size_t end = json.find(']', p);
  std::istringstream s(json.substr(p + 1, end - p - 1));
  std::string item;
  while (std::getline(s, item, ',')) out.push_back(static_cast<int32_t>(std::stol(item)));
  return out;
}

std::vector<std::string> json_strings(const std::string& json, const std::string& key) {
  std::vector<std::string> out;
  size_t p = find_value(json, key);
  if (p == std::string::npos || json[p] != '[') return out;
  ++p;
  while (p < json.size() && json[p] != ']') {
    if (json[p] == '"') out.push_back(parse_string(json, &p));
    else ++p;
  }
  return out;
}

std::string from_hex(const std::string& hex) {
  std::string out;
  for (size_t i = 0; i + 1 < hex.size(); i += 2) out.push_back(static_cast<char>(std::stoi(hex.substr(i, 2), nullptr, 16)));
  return out;
}

}  // namespace

TEST_CASE("tokenizer: llama.cpp's vectors give the same ids and decode back", "[tokenizer][files]") {
  const std::string dir = loci::test::shared_dir() + "/tokenizer/";
  for (const char* name : kVocabs) {
    const std::string path = dir + name;
    if (!loci::test::file_exists(path)) FAIL("missing " << path);
    const std::unique_ptr<Tokenizer> tok = load_tokenizer(path);
    const std::vector<std::string> inputs = split_inputs(read_file(path + ".inp"));
    const std::vector<std::vector<int32_t>> expected = read_ids(read_file(path + ".out"));
    INFO(name);
    REQUIRE(inputs.size() >= 40);
    REQUIRE(inputs.size() == expected.size());
    size_t mismatches = 0, round_trip_failures = 0;
    for (size_t i = 0; i < inputs.size(); ++i) {
      std::vector<int32_t> ids;
      REQUIRE(tok->encode(inputs[i], /*add_special=*/false, /*parse_special=*/false, &ids).is_ok());
      if (ids != expected[i]) {
        ++mismatches;
        UNSCOPED_INFO(name << " vector " << i << " " << show_text(inputs[i]) << ": got [" << show_ids(ids)
                           << "], llama.cpp [" << show_ids(expected[i]) << "]");
      }
      std::string text;
      REQUIRE(tok->decode(ids.data(), ids.size(), /*special=*/false, &text).is_ok());
      if (text != inputs[i]) {
        ++round_trip_failures;
        UNSCOPED_INFO(name << " vector " << i << " decodes to " << show_text(text) << ", not " << show_text(inputs[i]));
      }
    }
    CHECK(mismatches == 0);
    CHECK(round_trip_failures == 0);
  }
}

TEST_CASE("tokenizer: golden prompts, prompt pieces and generated text match llama.cpp", "[tokenizer][files]") {
  const std::string models = loci::test::shared_dir() + "/models/";
  const char* const kGolden[] = {
      "stories260K__once__n64.json",      "stories260K__bos__n200.json", "stories260K-q8_0__once__n64.json",
      "tinyllama-v0-q4_0__once__n64.json", "llama-2-tiny-random__hello__n16.json",
  };
  for (const char* name : kGolden) {
    const std::string json = read_file(models + "golden/" + name);
    INFO(name);
    REQUIRE(!json.empty());
    const std::string model = json_string(json, "model_file");
    const std::string prompt = json_string(json, "prompt");
    const std::vector<int32_t> prompt_tokens = json_ids(json, "prompt_tokens");
    const std::vector<std::string> prompt_pieces = json_strings(json, "prompt_pieces");
    const std::vector<int32_t> generated = json_ids(json, "generated_tokens");
    const std::string generated_text = from_hex(json_string(json, "generated_text_hex"));
    REQUIRE(!model.empty());
    REQUIRE(!prompt_tokens.empty());
    REQUIRE(prompt_pieces.size() == prompt_tokens.size());
    REQUIRE(!generated.empty());
    REQUIRE(!generated_text.empty());

    const std::unique_ptr<Tokenizer> tok = load_tokenizer(models + model);
    REQUIRE(tok->add_bos());
    std::vector<int32_t> ids;
    REQUIRE(tok->encode(prompt, /*add_special=*/true, /*parse_special=*/false, &ids).is_ok());
    CHECK(ids == prompt_tokens);
    for (size_t i = 0; i < prompt_tokens.size(); ++i) {
      const auto piece = tok->piece(prompt_tokens[i], /*special=*/true);
      REQUIRE(piece.is_ok());
      CHECK(std::string(*piece) == prompt_pieces[i]);
    }
    // llama.cpp's generated text is the plain concatenation of the pieces.
    std::string text;
    for (const int32_t id : generated) {
      const auto piece = tok->piece(id, /*special=*/false);
      REQUIRE(piece.is_ok());
      text += *piece;
    }
    CHECK(show_text(text) == show_text(generated_text));
  }
}

TEST_CASE("tokenizer: every shared model's vocabulary loads and round-trips its own pieces", "[tokenizer][files]") {
  const std::string models = loci::test::shared_dir() + "/models/";
  for (const char* name : {"stories260K.gguf", "tinyllama-v0-q4_0.gguf", "llama-2-tiny-random.gguf",
                           "synth-qwen2-f32.gguf", "synth-kq-q4_k_m.gguf"}) {
    INFO(name);
    const std::unique_ptr<Tokenizer> tok = load_tokenizer(models + name);
    CHECK(tok->kind() == loci::TokenizerKind::kSpm);
    CHECK(tok->bos() == 1);
    CHECK(tok->eos() == 2);
    CHECK(tok->is_eog(2));
    CHECK_FALSE(tok->is_eog(1));
    // Each normal token's piece (with a letter in front, so no leading-space
    // rule applies) encodes back to a text that decodes to the same piece.
    size_t bad = 0;
    for (int32_t id = 0; id < static_cast<int32_t>(tok->n_vocab()); ++id) {
      if (tok->token_type(id) != loci::TokenType::kNormal) continue;
      const std::string text = "a" + std::string(*tok->piece(id));
      std::vector<int32_t> ids;
      REQUIRE(tok->encode(text, false, false, &ids).is_ok());
      std::string back;
      REQUIRE(tok->decode(ids.data(), ids.size(), false, &back).is_ok());
      if (back != text) ++bad;
    }
    CHECK(bad == 0);
  }
}
