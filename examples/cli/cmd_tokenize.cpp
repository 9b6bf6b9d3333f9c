// `loci tokenize`: the token ids (and pieces) of a text. Reads only the
// vocabulary, so it works on vocab-only GGUF files too.
#include <cstdio>
#include <string>
#include <vector>

#include "args.h"
#include "commands.h"
#include "loci/gguf.h"
#include "loci/tokenizer.h"

namespace loci::cli {
namespace {

struct TokenizeArgs {
  std::string model;
  std::string text;
  bool no_bos = false;
  bool no_parse_special = false;
  bool ids_only = false;
};

bool valid_utf8_at(const std::string_view s, size_t i, size_t* len) {
  const unsigned char b = static_cast<unsigned char>(s[i]);
  const size_t n = b < 0x80 ? 1 : (b >= 0xC2 && b <= 0xDF) ? 2 : (b >= 0xE0 && b <= 0xEF) ? 3
                                : (b >= 0xF0 && b <= 0xF4)   ? 4
                                                             : 0;
  if (n == 0 || i + n > s.size()) return false;
  for (size_t k = 1; k < n; ++k)
    if ((static_cast<unsigned char>(s[i + k]) & 0xC0) != 0x80) return false;
  *len = n;
  return true;
}

// A piece made printable on one line: control characters and bytes that are
// not valid UTF-8 (a lone byte token) are written as escapes.
std::string escape(std::string_view s) {
  std::string out;
  for (size_t i = 0; i < s.size();) {
    const unsigned char b = static_cast<unsigned char>(s[i]);
    size_t len = 0;
    if (b == '\n') out += "\\n";
    else if (b == '\r') out += "\\r";
    else if (b == '\t') out += "\\t";
    else if (b == '\\') out += "\\\\";
    else if (b >= 0x20 && b != 0x7F && valid_utf8_at(s, i, &len)) {
      out.append(s.data() + i, len);
      i += len;
      continue;
    } else {
      char hex[8];
      std::snprintf(hex, sizeof hex, "\\x%02x", b);
      out += hex;
    }
    ++i;
  }
  return out;
}

Status tokenize(const TokenizeArgs& a) {
  std::string text = a.text;
  if (a.text == "-") LOCI_RETURN_IF_ERROR(read_all("-", &text));
  LOCI_ASSIGN_OR_RETURN(std::shared_ptr<const GgufFile> file, GgufFile::open(a.model));
  LOCI_ASSIGN_OR_RETURN(std::unique_ptr<Tokenizer> tok, Tokenizer::from_gguf(*file));
  std::vector<int32_t> ids;
  LOCI_RETURN_IF_ERROR(tok->encode(text, !a.no_bos, !a.no_parse_special, &ids));
  if (a.ids_only) {
    std::string line;
    for (size_t i = 0; i < ids.size(); ++i) line += (i ? " " : "") + std::to_string(ids[i]);
    std::printf("%s\n", line.c_str());
    return Status::ok();
  }
  for (const int32_t id : ids) {
    LOCI_ASSIGN_OR_RETURN(const std::string_view piece, tok->piece(id, /*special=*/true));
    std::printf("%6d -> '%s'\n", id, escape(piece).c_str());
  }
  return Status::ok();
}

}  // namespace

int tokenize_command(int argc, char** argv) {
  TokenizeArgs a;
  ArgParser p("loci tokenize -m MODEL [options] TEXT",
              "Prints the tokens of TEXT, one per line as `id -> 'piece'`. Only the vocabulary is read,\n"
              "so vocab-only GGUF files work. Pieces show control characters and lone bytes as escapes.");
  p.positional("TEXT", &a.text, "the text to tokenize; '-' reads it from stdin, byte for byte");
  p.text({"-m", "--model"}, &a.model, "FILE", "GGUF model or vocab-only file (required)");
  p.flag({"--ids"}, &a.ids_only, "print only the ids, on one line separated by spaces");
  p.flag({"--no-bos"}, &a.no_bos, "do not add BOS (or EOS) even if the vocabulary asks for them");
  p.flag({"--no-parse-special"}, &a.no_parse_special,
         "treat text such as \"<s>\" as plain text, not as the control token");
  if (Status s = p.parse(argc, argv); !s) return report_usage_error(s, "tokenize");
  if (p.help_requested()) {
    std::fputs(p.help().c_str(), stdout);
    return kExitOk;
  }
  if (a.model.empty()) return report_usage_error(invalid_argument("missing -m MODEL"), "tokenize");
  if (!p.given("TEXT")) return report_usage_error(invalid_argument("missing TEXT"), "tokenize");
  if (Status s = tokenize(a); !s) return report_error(s);
  return kExitOk;
}

}  // namespace loci::cli
