// Every golden file parses with the tests' JSON reader, and its parts agree
// with each other (counts, hex forms of the text, top-10 lists against the
// full logits). The greedy sampler picks llama.cpp's first token from the
// stored logits.
#include <catch2/catch.hpp>

#include <dirent.h>

#include <algorithm>
#include <string>
#include <vector>

#include "loci/sampler.h"
#include "support/json.h"
#include "support/test_support.h"

using namespace loci;
namespace json = loci::test::json;

namespace {

std::vector<std::string> golden_files(const std::string& dir) {
  std::vector<std::string> out;
  DIR* d = opendir(dir.c_str());
  if (d == nullptr) return out;
  while (const dirent* e = readdir(d)) {
    const std::string name = e->d_name;
    if (name.size() > 5 && name.compare(name.size() - 5, 5, ".json") == 0) out.push_back(dir + "/" + name);
  }
  closedir(d);
  std::sort(out.begin(), out.end());
  return out;
}

std::string from_hex(const std::string& hex) {
  auto nibble = [](char c) { return c <= '9' ? c - '0' : (c | 0x20) - 'a' + 10; };
  std::string out;
  for (size_t i = 0; i + 1 < hex.size(); i += 2) out.push_back(char(nibble(hex[i]) * 16 + nibble(hex[i + 1])));
  return out;
}

bool has_replacement_char(const std::string& s) { return s.find("\xEF\xBF\xBD") != std::string::npos; }

// A top-10 list: ten [id, logit] pairs, logits non-increasing.
void check_top10(const json::Value& top) {
  REQUIRE(top.is_array());
  REQUIRE(top.size() == 10);
  for (size_t i = 0; i < top.size(); ++i) {
    REQUIRE(top.at(i).size() == 2);
    CHECK(top.at(i).at(0).is_int());
    CHECK(top.at(i).at(1).is_number());
    if (i > 0) CHECK(top.at(i).at(1).as_double() <= top.at(i - 1).at(1).as_double());
  }
}

}  // namespace

TEST_CASE("every golden JSON file parses and is self-consistent", "[json][golden]") {
  const std::string dir = test::shared_dir() + "/models/golden";
  const std::vector<std::string> files = golden_files(dir);
  if (files.empty()) {
    WARN("no golden files under " << dir << "; skipping");
    return;
  }
  for (const std::string& path : files) {
    INFO(path);
    auto parsed = json::parse_file(path);
    INFO(parsed.status().to_string());
    REQUIRE(parsed.is_ok());
    const json::Value& g = parsed.value();
    REQUIRE(g.is_object());

    const int64_t n_vocab = g["n_vocab"].as_int();
    const json::Value& logits = g["last_prompt_logits"];
    REQUIRE(logits.is_array());
    CHECK(int64_t(logits.size()) == n_vocab);

    const json::Value& prompt = g["prompt_tokens"];
    REQUIRE(prompt.size() > 0);
    CHECK(prompt.size() == g["prompt_pieces"].size());
    CHECK(prompt.at(0).as_int() == g["bos_id"].as_int());
    CHECK(g["prompt_logits_top10"].size() == prompt.size());

    const json::Value& generated = g["generated_tokens"];
    const json::Value& steps = g["steps"];
    CHECK(int64_t(generated.size()) == g["n_generated"].as_int());
    REQUIRE(steps.size() == generated.size());
    std::string text_from_pieces;
    for (size_t i = 0; i < steps.size(); ++i) {
      const json::Value& step = steps.at(i);
      CHECK(step["step"].as_int() == int64_t(i));
      CHECK(step["token"].as_int() == generated.at(i).as_int());
      check_top10(step["top10"]);
      const std::string bytes = from_hex(step["piece_hex"].as_string());
      text_from_pieces += bytes;
      // A piece that is part of a UTF-8 sequence was written as U+FFFD.
      if (!has_replacement_char(step["piece"].as_string())) CHECK(step["piece"].as_string() == bytes);
    }
    const std::string text_bytes = from_hex(g["generated_text_hex"].as_string());
    CHECK(text_bytes == text_from_pieces);
    if (g["generated_text_valid_utf8"].as_bool()) CHECK(g["generated_text"].as_string() == text_bytes);

    // The stored top-10 after the prompt agrees with the full logits, and
    // greedy sampling over those logits picks llama.cpp's first token.
    auto all = logits.to_doubles();
    REQUIRE(all.is_ok());
    const json::Value& top = steps.at(0)["top10"];
    const double max_logit = *std::max_element(all.value().begin(), all.value().end());
    CHECK(top.at(0).at(1).as_double() == max_logit);
    for (size_t i = 0; i < top.size(); ++i) {
      CHECK(all.value()[size_t(top.at(i).at(0).as_int())] == top.at(i).at(1).as_double());
    }
    std::vector<float> lf(all.value().begin(), all.value().end());
    auto sampler = Sampler::create(SamplerParams::greedy(), lf.size());
    REQUIRE(sampler.is_ok());
    auto first = sampler.value()->sample(lf.data());
    REQUIRE(first.is_ok());
    CHECK(first.value() == generated.at(0).as_int());
  }
}
