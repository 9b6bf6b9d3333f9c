// A small, strict JSON reader for test code (golden files). Not part of the
// library. Numbers keep their source text, so 64-bit ids read back exactly.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "loci/status.h"

namespace loci::test::json {

enum class Type { kNull, kBool, kNumber, kString, kArray, kObject };
const char* type_name(Type t);

class Value {
 public:
  Value() = default;  // null

  Type type() const { return type_; }
  bool is_null() const { return type_ == Type::kNull; }
  bool is_bool() const { return type_ == Type::kBool; }
  bool is_number() const { return type_ == Type::kNumber; }
  bool is_string() const { return type_ == Type::kString; }
  bool is_array() const { return type_ == Type::kArray; }
  bool is_object() const { return type_ == Type::kObject; }
  // A number written without fraction or exponent that fits in int64.
  bool is_int() const;

  // Wrong-type reads give false, 0 or "": check is_*() first.
  bool as_bool() const { return is_bool() && bool_; }
  double as_double() const { return is_number() ? number_ : 0.0; }
  float as_float() const { return float(as_double()); }
  int64_t as_int() const;               // exact for is_int(); else the double truncated
  const std::string& as_string() const;  // the string; for a number, its source text

  // Elements of an array, members of an object, bytes of a string; else 0.
  size_t size() const;
  // Array element or object member i (in file order); null when out of range.
  const Value& at(size_t i) const;
  // An object's i-th key; "" when not an object or out of range.
  const std::string& key(size_t i) const;
  // A member by key, or null when absent (or not an object).
  const Value& operator[](std::string_view key) const;
  const Value* find(std::string_view key) const;
  bool has(std::string_view key) const { return find(key) != nullptr; }

  // Conveniences for golden files: every element as a number; an error
  // names the first element that is not one.
  Result<std::vector<double>> to_doubles() const;
  Result<std::vector<int64_t>> to_ints() const;

 private:
  friend class Parser;
  Type type_ = Type::kNull;
  bool bool_ = false;
  double number_ = 0.0;
  std::string text_;            // string contents, or a number's source text
  std::vector<std::string> keys_;  // objects: keys, parallel to items_
  std::vector<Value> items_;       // array elements or object values
};

// Parses one JSON document (RFC 8259, no extensions: no comments, no
// trailing commas, no NaN). Duplicate keys are refused. Errors are
// kInvalidArgument and name the byte offset.
Result<Value> parse(std::string_view text);
// Reads and parses a file; a missing file is kIoError naming the path.
Result<Value> parse_file(const std::string& path);

}  // namespace loci::test::json
