// The tests' JSON reader: values, escapes, exact integers, strict errors.
#include <catch2/catch.hpp>

#include <cstdio>
#include <string>

#include "support/json.h"
#include "support/test_support.h"

using namespace loci;
namespace json = loci::test::json;

namespace {

json::Value parse_ok(std::string_view text) {
  auto r = json::parse(text);
  INFO(std::string(text) << " -> " << r.status().to_string());
  REQUIRE(r.is_ok());
  return std::move(r).value();
}

}  // namespace

TEST_CASE("json reads every value type", "[json]") {
  const json::Value v = parse_ok(
      R"( {"a": [1, -2.5, 3e2, true, false, null, "s"], "o": {"k": {}}, "e": [], "z": -0} )");
  REQUIRE(v.is_object());
  CHECK(v.size() == 4);
  CHECK(v.key(0) == "a");
  CHECK(v.key(3) == "z");
  const json::Value& a = v["a"];
  REQUIRE(a.is_array());
  REQUIRE(a.size() == 7);
  CHECK(a.at(0).is_int());
  CHECK(a.at(0).as_int() == 1);
  CHECK(a.at(1).as_double() == -2.5);
  CHECK_FALSE(a.at(1).is_int());
  CHECK(a.at(2).as_double() == 300.0);
  CHECK_FALSE(a.at(2).is_int());
  CHECK(a.at(3).is_bool());
  CHECK(a.at(3).as_bool());
  CHECK_FALSE(a.at(4).as_bool());
  CHECK(a.at(5).is_null());
  CHECK(a.at(6).as_string() == "s");
  CHECK(v["o"]["k"].is_object());
  CHECK(v["o"]["k"].size() == 0);
  CHECK(v["e"].is_array());
  CHECK(v["e"].size() == 0);
  CHECK(v["z"].as_double() == 0.0);
  // Absent keys, wrong types and out-of-range indexes read as null.
  CHECK(v["missing"].is_null());
  CHECK_FALSE(v.has("missing"));
  CHECK(a.at(99).is_null());
  CHECK(a["x"].is_null());
  CHECK(v["a"].at(6).as_double() == 0.0);
  CHECK(parse_ok("  42 ").as_int() == 42);
  CHECK(parse_ok("\"x\"").as_string() == "x");
}

TEST_CASE("json keeps 64-bit integers exact", "[json]") {
  const json::Value v = parse_ok("[9007199254740993, -9223372036854775808, 9223372036854775808, 1.0]");
  CHECK(v.at(0).as_int() == 9007199254740993LL);  // 2^53 + 1: not representable as a double
  CHECK(v.at(1).as_int() == INT64_MIN);
  CHECK_FALSE(v.at(2).is_int());  // beyond int64: a double only
  CHECK(v.at(2).as_double() == 9223372036854775808.0);
  CHECK_FALSE(v.at(3).is_int());
  CHECK(v.at(0).as_string() == "9007199254740993");
  auto ints = parse_ok("[1, 2, -3]").to_ints();
  REQUIRE(ints.is_ok());
  CHECK(ints.value() == std::vector<int64_t>{1, 2, -3});
  CHECK_FALSE(parse_ok("[1, 2.5]").to_ints().is_ok());
  auto doubles = parse_ok("[1, 2.5, -1e-3]").to_doubles();
  REQUIRE(doubles.is_ok());
  CHECK(doubles.value() == std::vector<double>{1.0, 2.5, -1e-3});
  CHECK_FALSE(parse_ok("[1, \"2\"]").to_doubles().is_ok());
}

TEST_CASE("json decodes string escapes to UTF-8", "[json]") {
  CHECK(parse_ok(R"("a\"b\\c\/d\b\f\n\r\t")").as_string() == "a\"b\\c/d\b\f\n\r\t");
  CHECK(parse_ok(R"("\u0041\u00e9\u2581")").as_string() == "A\xC3\xA9\xE2\x96\x81");
  // U+1F600 as a surrogate pair, and the same code point written raw.
  CHECK(parse_ok(R"("\uD83D\uDE00")").as_string() == "\xF0\x9F\x98\x80");
  CHECK(parse_ok("\"\xF0\x9F\x98\x80\"").as_string() == "\xF0\x9F\x98\x80");
  CHECK(parse_ok(R"("\u0000")").as_string() == std::string(1, '\0'));
}

TEST_CASE("json refuses malformed input and names the byte offset", "[json]") {
  struct Bad {
    const char* text;
    size_t offset;
  };
  const Bad cases[] = {
      {"", 0},
      {"[1, 2", 5},
      {"[1, 2,]", 6},
      {"{\"a\": 1,}", 8},
      {"{\"a\" 1}", 5},
      {"{a: 1}", 1},
      {"01", 1},
      {"1.", 2},
      {"-", 1},
      {"1e", 2},
      {"+1", 0},
      {"NaN", 0},
      {"tru", 0},
      {"[1] x", 4},
      {"\"abc", 4},
      {"\"a\tb\"", 2},
      {"\"\\x\"", 2},
      {"\"\\u12g4\"", 3},
      {"\"\\uD83D\"", 7},
      {"\"\\uDE00\"", 7},
      {"\"\xC0\xAF\"", 1},      // overlong
      {"\"\xED\xA0\x80\"", 1},  // encoded surrogate
      {"\"\xE2\x96\"", 1},      // truncated
      {"{\"a\": 1, \"a\": 2}", 9},
      {"1e999", 0},
      {"// c\n1", 0},
  };
  for (const Bad& b : cases) {
    INFO("input: " << b.text);
    auto r = json::parse(b.text);
    REQUIRE_FALSE(r.is_ok());
    CHECK(r.status().code() == StatusCode::kInvalidArgument);
    CHECK_THAT(r.status().message(), Catch::EndsWith("at byte " + std::to_string(b.offset)));
  }
  // Deep nesting is an error, not a stack overflow.
  const std::string deep(100000, '[');
  auto r = json::parse(deep);
  REQUIRE_FALSE(r.is_ok());
  CHECK(r.status().code() == StatusCode::kInvalidArgument);
}

TEST_CASE("json parse_file reads a file and reports a missing one", "[json]") {
  auto missing = json::parse_file("/nonexistent/loci/file.json");
  REQUIRE_FALSE(missing.is_ok());
  CHECK(missing.status().code() == StatusCode::kIoError);
  CHECK_THAT(missing.status().message(), Catch::Contains("/nonexistent/loci/file.json"));

  const std::string path = "loci_json_test_" + std::to_string(test::seed()) + ".json";
  std::FILE* f = std::fopen(path.c_str(), "wb");
  REQUIRE(f != nullptr);
  const std::string body = "{\"ids\": [1, 2, 3], \"name\": \"t\"}\n";
  REQUIRE(std::fwrite(body.data(), 1, body.size(), f) == body.size());
  std::fclose(f);
  auto v = json::parse_file(path);
  std::remove(path.c_str());
  REQUIRE(v.is_ok());
  CHECK(v.value()["ids"].size() == 3);
  CHECK(v.value()["name"].as_string() == "t");
}
