// The `loci` subcommands. Each takes the arguments after its own name and
// returns the process exit code; errors are printed by report_error().
#pragma once

#include <cstdint>
#include <string>

#include "loci/dtype.h"
#include "loci/status.h"

namespace loci::cli {

constexpr int kExitOk = 0;
constexpr int kExitError = 1;  // the command ran and failed (bad file, I/O, ...)
constexpr int kExitUsage = 2;  // the command line itself is wrong

int run_command(int argc, char** argv);
int info_command(int argc, char** argv);
int tokenize_command(int argc, char** argv);
int bench_command(int argc, char** argv);  // a stub without LOCI_BUILD_BENCHMARKS
int synth_command(int argc, char** argv);
int quantize_command(int argc, char** argv);

// Prints "loci: error: MESSAGE" as one line on stderr and returns kExitError.
int report_error(const Status& status);
// Same, for command-line mistakes: adds where to find help, returns kExitUsage.
int report_usage_error(const Status& status, const std::string& command);

// "f16" or "f32", the KV cache types a session accepts; `flag` names the flag in errors.
Status parse_kv_type(const std::string& flag, const std::string& value, DType* out);

// "1.5 KiB", "2.25 MiB": sizes as people read them.
std::string human_bytes(uint64_t bytes);

// Reads a whole file ("-": stdin) as bytes.
Status read_all(const std::string& path, std::string* out);

}  // namespace loci::cli
