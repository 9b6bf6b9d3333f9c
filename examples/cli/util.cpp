// Helpers the subcommands share: error reports, file reading, formatting.
#include <cerrno>
#include <cinttypes>
#include <cstdio>
#include <cstring>
#include <string>

#include "commands.h"

namespace loci::cli {
namespace {

// A Status message may span lines; the error report is one line.
std::string one_line(const std::string& s) {
  std::string out = s;
  for (char& c : out)
    if (c == '\n' || c == '\r') c = ' ';
  return out;
}

}  // namespace

int report_error(const Status& status) {
  std::fflush(stdout);
  std::fprintf(stderr, "loci: error: %s\n", one_line(status.message()).c_str());
  return kExitError;
}

int report_usage_error(const Status& status, const std::string& command) {
  std::fflush(stdout);
  const std::string where = command.empty() ? "loci --help" : "loci " + command + " --help";
  std::fprintf(stderr, "loci: error: %s (see '%s')\n", one_line(status.message()).c_str(), where.c_str());
  return kExitUsage;
}

Status parse_kv_type(const std::string& flag, const std::string& value, DType* out) {
  if (value == "f16") *out = DType::F16;
  else if (value == "f32") *out = DType::F32;
  else return invalid_argument("flag '" + flag + "': '" + value + "' is not f16 or f32");
  return Status::ok();
}

Status read_all(const std::string& path, std::string* out) {
  const bool use_stdin = path == "-";
  std::FILE* f = use_stdin ? stdin : std::fopen(path.c_str(), "rb");
  if (!f) return io_error("cannot open '" + path + "': " + std::strerror(errno));
  out->clear();
  char buf[1 << 16];
  size_t n = 0;
  while ((n = std::fread(buf, 1, sizeof buf, f)) > 0) out->append(buf, n);
  const bool failed = std::ferror(f) != 0;
  if (!use_stdin) std::fclose(f);
  if (failed) return io_error("cannot read '" + path + "'");
  return Status::ok();
}

std::string human_bytes(uint64_t b) {
  char buf[32];
  if (b < 1024) std::snprintf(buf, sizeof buf, "%" PRIu64 " B", b);
  else if (b < (1u << 20)) std::snprintf(buf, sizeof buf, "%.1f KiB", b / 1024.0);
  else if (b < (1u << 30)) std::snprintf(buf, sizeof buf, "%.2f MiB", b / 1048576.0);
  else std::snprintf(buf, sizeof buf, "%.2f GiB", b / 1073741824.0);
  return buf;
}

}  // namespace loci::cli
