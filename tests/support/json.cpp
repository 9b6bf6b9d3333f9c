// Strict recursive-descent JSON reader for tests.
#include "support/json.h"

#include <charconv>
#include <cstdio>
#include <fstream>
#include <sstream>

namespace loci::test::json {

namespace {

constexpr int kMaxDepth = 512;

const Value& null_value() {
  static const Value v;
  return v;
}

const std::string& empty_string() {
  static const std::string s;
  return s;
}

bool is_digit(char c) { return c >= '0' && c <= '9'; }

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

void append_utf8(uint32_t cp, std::string* out) {
  if (cp < 0x80) {
    out->push_back(char(cp));
  } else if (cp < 0x800) {
    out->push_back(char(0xC0 | (cp >> 6)));
    out->push_back(char(0x80 | (cp & 0x3F)));
  } else if (cp < 0x10000) {
    out->push_back(char(0xE0 | (cp >> 12)));
    out->push_back(char(0x80 | ((cp >> 6) & 0x3F)));
    out->push_back(char(0x80 | (cp & 0x3F)));
  } else {
    out->push_back(char(0xF0 | (cp >> 18)));
    out->push_back(char(0x80 | ((cp >> 12) & 0x3F)));
    out->push_back(char(0x80 | ((cp >> 6) & 0x3F)));
    out->push_back(char(0x80 | (cp & 0x3F)));
  }
}

// Length of the well-formed UTF-8 sequence at s[0..n), or 0 if malformed
// (overlong forms, surrogates and code points above U+10FFFF included).
size_t utf8_sequence_length(const unsigned char* s, size_t n) {
  const unsigned char c = s[0];
  size_t len;
  uint32_t cp;
  if (c < 0x80) return 1;
  if (c >= 0xC2 && c <= 0xDF) {
    len = 2;
    cp = c & 0x1F;
  } else if (c >= 0xE0 && c <= 0xEF) {
    len = 3;
    cp = c & 0x0F;
  } else if (c >= 0xF0 && c <= 0xF4) {
    len = 4;
    cp = c & 0x07;
  } else {
    return 0;
  }
  if (len > n) return 0;
  for (size_t i = 1; i < len; ++i) {
    if ((s[i] & 0xC0) != 0x80) return 0;
    cp = (cp << 6) | (s[i] & 0x3F);
  }
  if (len == 3 && (cp < 0x800 || (cp >= 0xD800 && cp <= 0xDFFF))) return 0;
  if (len == 4 && (cp < 0x10000 || cp > 0x10FFFF)) return 0;
  return len;
}

}  // namespace

const char* type_name(Type t) {
  switch (t) {
    case Type::kNull: return "null";
    case Type::kBool: return "bool";
    case Type::kNumber: return "number";
    case Type::kString: return "string";
    case Type::kArray: return "array";
    case Type::kObject: return "object";
  }
  return "?";
}

// ---------------------------------------------------------------------------
// Value

bool Value::is_int() const {
  if (!is_number()) return false;
  if (text_.find_first_of(".eE") != std::string::npos) return false;
  int64_t v = 0;
  const auto r = std::from_chars(text_.data(), text_.data() + text_.size(), v);
  return r.ec == std::errc() && r.ptr == text_.data() + text_.size();
}

int64_t Value::as_int() const {
  if (!is_number()) return 0;
  if (is_int()) {
    int64_t v = 0;
    (void)std::from_chars(text_.data(), text_.data() + text_.size(), v);
    return v;
  }
  return int64_t(number_);
}

const std::string& Value::as_string() const {
  return is_string() || is_number() ? text_ : empty_string();
}

size_t Value::size() const {
  if (is_array() || is_object()) return items_.size();
  if (is_string()) return text_.size();
  return 0;
}

const Value& Value::at(size_t i) const {
  if ((is_array() || is_object()) && i < items_.size()) return items_[i];
  return null_value();
}

const std::string& Value::key(size_t i) const {
  if (is_object() && i < keys_.size()) return keys_[i];
  return empty_string();
}

const Value* Value::find(std::string_view key) const {
  if (!is_object()) return nullptr;
  for (size_t i = 0; i < keys_.size(); ++i) {
    if (keys_[i] == key) return &items_[i];
  }
  return nullptr;
}

const Value& Value::operator[](std::string_view key) const {
  const Value* v = find(key);
  return v ? *v : null_value();
}

Result<std::vector<double>> Value::to_doubles() const {
  if (!is_array()) return invalid_argument(std::string("json: expected an array, got ") + type_name(type_));
  std::vector<double> out;
  out.reserve(items_.size());
  for (size_t i = 0; i < items_.size(); ++i) {
    if (!items_[i].is_number())
      return invalid_argument("json: element " + std::to_string(i) + " is a " + type_name(items_[i].type_));
    out.push_back(items_[i].number_);
  }
  return out;
}

Result<std::vector<int64_t>> Value::to_ints() const {
  if (!is_array()) return invalid_argument(std::string("json: expected an array, got ") + type_name(type_));
  std::vector<int64_t> out;
  out.reserve(items_.size());
  for (size_t i = 0; i < items_.size(); ++i) {
    if (!items_[i].is_int()) return invalid_argument("json: element " + std::to_string(i) + " is not an integer");
    out.push_back(items_[i].as_int());
  }
  return out;
}

// ---------------------------------------------------------------------------
// Parser

class Parser {
 public:
  explicit Parser(std::string_view text) : s_(text) {}

  Result<Value> document() {
    Value v;
    LOCI_RETURN_IF_ERROR(value(&v, 0));
    skip_space();
    if (pos_ != s_.size()) return error("unexpected data after the document");
    return v;
  }

 private:
  Status error(const std::string& what) const {
    return invalid_argument("json: " + what + " at byte " + std::to_string(pos_));
  }

  void skip_space() {
    while (pos_ < s_.size() && (s_[pos_] == ' ' || s_[pos_] == '\t' || s_[pos_] == '\n' || s_[pos_] == '\r')) ++pos_;
  }

  bool consume(char c) {
    if (pos_ < s_.size() && s_[pos_] == c) {
      ++pos_;
      return true;
    }
    return false;
  }

  Status literal(std::string_view word) {
    if (s_.substr(pos_, word.size()) != word) return error("invalid literal");
    pos_ += word.size();
    return Status::ok();
  }

  Status value(Value* out, int depth) {
    if (depth > kMaxDepth) return error("nesting deeper than " + std::to_string(kMaxDepth));
    skip_space();
    if (pos_ >= s_.size()) return error("unexpected end of input");
    switch (s_[pos_]) {
      case '{': return object(out, depth);
      case '[': return array(out, depth);
      case '"':
        out->type_ = Type::kString;
        return string(&out->text_);
      case 't':
        out->type_ = Type::kBool;
        out->bool_ = true;
        return literal("true");
      case 'f':
        out->type_ = Type::kBool;
        out->bool_ = false;
        return literal("false");
      case 'n':
        out->type_ = Type::kNull;
        return literal("null");
      default:
        if (s_[pos_] == '-' || is_digit(s_[pos_])) return number(out);
        return error(std::string("unexpected character '") + s_[pos_] + "'");
    }
  }

  Status object(Value* out, int depth) {
    out->type_ = Type::kObject;
    ++pos_;  // '{'
    skip_space();
    if (consume('}')) return Status::ok();
    for (;;) {
      skip_space();
      if (pos_ >= s_.size() || s_[pos_] != '"') return error("expected a string key");
      const size_t key_pos = pos_;
      std::string key;
      LOCI_RETURN_IF_ERROR(string(&key));
      if (out->find(key) != nullptr) {
        pos_ = key_pos;
        return error("duplicate key \"" + key + "\"");
      }
      skip_space();
      if (!consume(':')) return error("expected ':'");
      Value v;
      LOCI_RETURN_IF_ERROR(value(&v, depth + 1));
      out->keys_.push_back(std::move(key));
      out->items_.push_back(std::move(v));
      skip_space();
      if (consume('}')) return Status::ok();
      if (!consume(',')) return error("expected ',' or '}'");
    }
  }

  Status array(Value* out, int depth) {
    out->type_ = Type::kArray;
    ++pos_;  // '['
    skip_space();
    if (consume(']')) return Status::ok();
    for (;;) {
      Value v;
      LOCI_RETURN_IF_ERROR(value(&v, depth + 1));
      out->items_.push_back(std::move(v));
      skip_space();
      if (consume(']')) return Status::ok();
      if (!consume(',')) return error("expected ',' or ']'");
    }
  }

  // -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?
  Status number(Value* out) {
    const size_t start = pos_;
    consume('-');
    if (consume('0')) {
      if (pos_ < s_.size() && is_digit(s_[pos_])) return error("leading zero in a number");
    } else {
      if (pos_ >= s_.size() || !is_digit(s_[pos_])) return error("expected a digit");
      while (pos_ < s_.size() && is_digit(s_[pos_])) ++pos_;
    }
    if (consume('.')) {
      if (pos_ >= s_.size() || !is_digit(s_[pos_])) return error("expected a digit after '.'");
      while (pos_ < s_.size() && is_digit(s_[pos_])) ++pos_;
    }
    if (pos_ < s_.size() && (s_[pos_] == 'e' || s_[pos_] == 'E')) {
      ++pos_;
      if (!consume('+')) consume('-');
      if (pos_ >= s_.size() || !is_digit(s_[pos_])) return error("expected a digit in the exponent");
      while (pos_ < s_.size() && is_digit(s_[pos_])) ++pos_;
    }
    const std::string_view text = s_.substr(start, pos_ - start);
    double v = 0.0;
    const auto r = std::from_chars(text.data(), text.data() + text.size(), v);
    if (r.ec != std::errc() || r.ptr != text.data() + text.size()) {
      pos_ = start;
      return error("number out of range");
    }
    out->type_ = Type::kNumber;
    out->number_ = v;
    out->text_ = std::string(text);
    return Status::ok();
  }

  Status hex4(uint32_t* out) {
    if (pos_ + 4 > s_.size()) return error("truncated \\u escape");
    uint32_t v = 0;
    for (int i = 0; i < 4; ++i) {
      const int h = hex_value(s_[pos_ + size_t(i)]);
      if (h < 0) return error("bad hex digit in \\u escape");
      v = (v << 4) | uint32_t(h);
    }
    pos_ += 4;
    *out = v;
    return Status::ok();
  }

  // After "\u": one code point, joining a surrogate pair.
  Status unicode_escape(std::string* out) {
    uint32_t cp = 0;
    LOCI_RETURN_IF_ERROR(hex4(&cp));
    if (cp >= 0xDC00 && cp <= 0xDFFF) return error("lone low surrogate");
    if (cp >= 0xD800 && cp <= 0xDBFF) {
      if (s_.substr(pos_, 2) != "\\u") return error("high surrogate without a low one");
      pos_ += 2;
      uint32_t lo = 0;
      LOCI_RETURN_IF_ERROR(hex4(&lo));
      if (lo < 0xDC00 || lo > 0xDFFF) return error("high surrogate without a low one");
      cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
    }
    append_utf8(cp, out);
    return Status::ok();
  }

  Status string(std::string* out) {
    ++pos_;  // '"'
    out->clear();
    for (;;) {
      if (pos_ >= s_.size()) return error("unterminated string");
      const unsigned char c = static_cast<unsigned char>(s_[pos_]);
      if (c == '"') {
        ++pos_;
        return Status::ok();
      }
      if (c < 0x20) return error("control character in a string");
      if (c == '\\') {
        ++pos_;
        if (pos_ >= s_.size()) return error("unterminated escape");
        const char e = s_[pos_++];
        switch (e) {
          case '"': out->push_back('"'); break;
          case '\\': out->push_back('\\'); break;
          case '/': out->push_back('/'); break;
          case 'b': out->push_back('\b'); break;
          case 'f': out->push_back('\f'); break;
          case 'n': out->push_back('\n'); break;
          case 'r': out->push_back('\r'); break;
          case 't': out->push_back('\t'); break;
          case 'u': LOCI_RETURN_IF_ERROR(unicode_escape(out)); break;
          default: --pos_; return error(std::string("unknown escape '\\") + e + "'");
        }
        continue;
      }
      const size_t len =
          utf8_sequence_length(reinterpret_cast<const unsigned char*>(s_.data()) + pos_, s_.size() - pos_);
      if (len == 0) return error("invalid UTF-8");
      out->append(s_.data() + pos_, len);
      pos_ += len;
    }
  }

  std::string_view s_;
  size_t pos_ = 0;
};

Result<Value> parse(std::string_view text) { return Parser(text).document(); }

Result<Value> parse_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return io_error("json: cannot open " + path);
  std::ostringstream buf;
  buf << in.rdbuf();
  if (in.bad()) return io_error("json: cannot read " + path);
  Result<Value> v = parse(buf.str());
  if (!v.is_ok()) return Status(v.status().code(), v.status().message() + " in " + path);
  return v;
}

}  // namespace loci::test::json
