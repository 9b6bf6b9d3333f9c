// A small command-line parser for the `loci` subcommands: each command
// declares its flags and positional arguments, bound to variables that hold
// the defaults, then parses. Errors come back as a Status naming the flag.
//
// Accepted forms: `--name VALUE`, `--name=VALUE`, `-x VALUE`, bare flags,
// positionals anywhere, `--` to end the flags, and `-` as a positional (stdin).
#pragma once

#include <cstdint>
#include <functional>
#include <initializer_list>
#include <string>
#include <string_view>
#include <vector>

#include "loci/status.h"

namespace loci::cli {

class ArgParser {
 public:
  // `usage` is the synopsis line ("loci run -m MODEL [options]"); `summary`
  // one sentence on what the command does.
  ArgParser(std::string usage, std::string summary);

  // A flag without a value.
  void flag(std::initializer_list<const char*> names, bool* out, std::string help);
  void text(std::initializer_list<const char*> names, std::string* out, const char* metavar, std::string help);
  // May be given many times; each value is appended.
  void texts(std::initializer_list<const char*> names, std::vector<std::string>* out, const char* metavar,
             std::string help);
  void integer(std::initializer_list<const char*> names, int64_t* out, int64_t min, int64_t max, const char* metavar,
               std::string help);
  // A finite float.
  void real(std::initializer_list<const char*> names, float* out, const char* metavar, std::string help);
  // Positionals fill in declaration order.
  void positional(const char* metavar, std::string* out, std::string help);

  // Parses argv[0..argc) (the arguments after the subcommand's name).
  // -h/--help sets help_requested() and skips the remaining checks.
  Status parse(int argc, char** argv);
  bool help_requested() const { return help_; }
  // Whether a flag (any of its names) or positional was given.
  bool given(std::string_view name) const;
  std::string help() const;

 private:
  struct Option {
    std::vector<std::string> names;
    const char* metavar = nullptr;  // null: a flag without a value
    std::string help;
    std::function<Status(const std::string& flag, const std::string& value)> set;
    bool given = false;
  };
  struct Positional {
    const char* metavar;
    std::string* out;
    std::string help;
    bool given = false;
  };

  Option* find(std::string_view name);
  Status parse_option(const std::string& arg, int argc, char** argv, int* i);

  std::string usage_;
  std::string summary_;
  std::vector<Option> options_;
  std::vector<Positional> positionals_;
  size_t next_positional_ = 0;
  bool help_ = false;
};

}  // namespace loci::cli
