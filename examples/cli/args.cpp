#include "args.h"

#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <utility>

namespace loci::cli {
namespace {

Status bad_value(const std::string& flag, const std::string& value, const char* want) {
  return invalid_argument("flag '" + flag + "': '" + value + "' is not " + want);
}

}  // namespace

ArgParser::ArgParser(std::string usage, std::string summary) : usage_(std::move(usage)), summary_(std::move(summary)) {}

void ArgParser::flag(std::initializer_list<const char*> names, bool* out, std::string help) {
  options_.push_back({{names.begin(), names.end()}, nullptr, std::move(help),
                      [out](const std::string&, const std::string&) {
                        *out = true;
                        return Status::ok();
                      }});
}

void ArgParser::text(std::initializer_list<const char*> names, std::string* out, const char* metavar,
                     std::string help) {
  options_.push_back({{names.begin(), names.end()}, metavar, std::move(help),
                      [out](const std::string&, const std::string& v) {
                        *out = v;
                        return Status::ok();
                      }});
}

void ArgParser::texts(std::initializer_list<const char*> names, std::vector<std::string>* out, const char* metavar,
                      std::string help) {
  options_.push_back({{names.begin(), names.end()}, metavar, std::move(help),
                      [out](const std::string&, const std::string& v) {
                        out->push_back(v);
                        return Status::ok();
                      }});
}

void ArgParser::integer(std::initializer_list<const char*> names, int64_t* out, int64_t min, int64_t max,
                        const char* metavar, std::string help) {
  options_.push_back({{names.begin(), names.end()}, metavar, std::move(help),
                      [out, min, max](const std::string& flag, const std::string& v) {
                        char* end = nullptr;
                        errno = 0;
                        const long long x = std::strtoll(v.c_str(), &end, 10);
                        if (v.empty() || *end != '\0' || errno == ERANGE) return bad_value(flag, v, "an integer");
                        if (x < min || x > max)
                          return out_of_range("flag '" + flag + "': " + v + " is outside [" + std::to_string(min) +
                                              ", " + std::to_string(max) + "]");
                        *out = x;
                        return Status::ok();
                      }});
}

void ArgParser::real(std::initializer_list<const char*> names, float* out, const char* metavar, std::string help) {
  options_.push_back({{names.begin(), names.end()}, metavar, std::move(help),
                      [out](const std::string& flag, const std::string& v) {
                        char* end = nullptr;
                        errno = 0;
                        const float x = std::strtof(v.c_str(), &end);
                        if (v.empty() || *end != '\0' || errno == ERANGE || !std::isfinite(x))
                          return bad_value(flag, v, "a finite number");
                        *out = x;
                        return Status::ok();
                      }});
}

void ArgParser::positional(const char* metavar, std::string* out, std::string help) {
  positionals_.push_back({metavar, out, std::move(help)});
}

ArgParser::Option* ArgParser::find(std::string_view name) {
  for (Option& o : options_)
    for (const std::string& n : o.names)
      if (n == name) return &o;
  return nullptr;
}

bool ArgParser::given(std::string_view name) const {
  for (const Option& o : options_)
    for (const std::string& n : o.names)
      if (n == name) return o.given;
  for (const Positional& p : positionals_)
    if (name == p.metavar) return p.given;
  return false;
}

Status ArgParser::parse_option(const std::string& arg, int argc, char** argv, int* i) {
  // --name=value carries its value inline.
  const size_t eq = arg.rfind("--", 0) == 0 ? arg.find('=') : std::string::npos;
  const std::string name = arg.substr(0, eq);
  Option* o = find(name);
  if (!o) return invalid_argument("unknown flag '" + name + "'");
  o->given = true;
  if (!o->metavar) {
    if (eq != std::string::npos) return invalid_argument("flag '" + name + "' takes no value");
    return o->set(name, "");
  }
  if (eq != std::string::npos) return o->set(name, arg.substr(eq + 1));
  if (*i + 1 >= argc) return invalid_argument("flag '" + name + "' needs a value (" + o->metavar + ")");
  return o->set(name, argv[++*i]);
}

Status ArgParser::parse(int argc, char** argv) {
  bool flags_done = false;
  for (int i = 0; i < argc; ++i) {
    const std::string arg = argv[i];
    if (!flags_done && (arg == "-h" || arg == "--help")) {
      help_ = true;
      return Status::ok();
    }
    if (!flags_done && arg == "--") {
      flags_done = true;
      continue;
    }
    if (!flags_done && arg.size() > 1 && arg[0] == '-') {
      LOCI_RETURN_IF_ERROR(parse_option(arg, argc, argv, &i));
      continue;
    }
    if (next_positional_ >= positionals_.size()) return invalid_argument("unexpected argument '" + arg + "'");
    Positional& p = positionals_[next_positional_++];
    *p.out = arg;
    p.given = true;
  }
  return Status::ok();
}

std::string ArgParser::help() const {
  std::string h = "usage: " + usage_ + "\n\n" + summary_ + "\n";
  if (!positionals_.empty()) {
    h += "\narguments:\n";
    for (const Positional& p : positionals_) h += "  " + std::string(p.metavar) + "\n      " + p.help + "\n";
  }
  h += "\noptions:\n";
  for (const Option& o : options_) {
    std::string line = "  ";
    for (size_t i = 0; i < o.names.size(); ++i) line += (i ? ", " : "") + o.names[i];
    if (o.metavar) line += std::string(" ") + o.metavar;
    h += line + "\n      " + o.help + "\n";
  }
  h += "  -h, --help\n      show this help\n";
  return h;
}

}  // namespace loci::cli
