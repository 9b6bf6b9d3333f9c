// `loci bench`: prefill and decode speed, llama-bench style. The table (or
// JSON/CSV) goes to stdout, progress to stderr.
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <string>
#include <vector>

#include "args.h"
#include "commands.h"
#include "e2e/e2e_bench.h"
#include "loci/synth.h"

namespace loci::cli {
namespace {

std::vector<std::string> split(const std::vector<std::string>& values) {
  std::vector<std::string> out;
  for (const std::string& v : values) {
    size_t start = 0;
    while (start <= v.size()) {
      const size_t comma = v.find(',', start);
      const size_t end = comma == std::string::npos ? v.size() : comma;
      if (end > start) out.push_back(v.substr(start, end - start));
      start = end + 1;
    }
  }
  return out;
}

// "64,512" -> {64, 512}; each value in [min, max].
Status parse_counts(const std::string& flag, const std::string& text, uint32_t min, uint32_t max,
                    std::vector<uint32_t>* out) {
  out->clear();
  for (const std::string& item : split({text})) {
    char* end = nullptr;
    errno = 0;
    const unsigned long long v = std::strtoull(item.c_str(), &end, 10);
    if (item.empty() || *end || errno || item[0] == '-' || v < min || v > max)
      return invalid_argument("flag '" + flag + "': '" + item + "' is not a count from " + std::to_string(min) +
                              " to " + std::to_string(max));
    out->push_back(uint32_t(v));
  }
  if (out->empty()) return invalid_argument("flag '" + flag + "' needs at least one value");
  return Status::ok();
}

std::string shapes_help() {
  std::string out = "synthetic shapes:\n";
  for (const SynthShape& s : synth_shapes()) out += "  " + std::string(s.name) + "  " + s.description + "\n";
  out += "types: ";
  for (FileType t : file_types()) out += std::string(file_type_name(t)) + " ";
  return out + "\n";
}

// One line on stderr per step; on a terminal it rewrites itself instead.
void show_progress(const std::string& what, int rep, int reps) {
  static const bool tty = isatty(STDERR_FILENO) != 0;
  if (rep == 0) std::fprintf(stderr, tty ? "\r\033[K%s ..." : "%s ...\n", what.c_str());
  else if (tty || rep == reps) std::fprintf(stderr, tty ? "\r\033[K%s: %d/%d" : "%s: %d/%d\n", what.c_str(), rep, reps);
  std::fflush(stderr);
}

}  // namespace

int bench_command(int argc, char** argv) {
  std::vector<std::string> models, synthetic;
  std::string n_prompt = "512", n_gen = "128", threads, output = "md", kv_type = "f16";
  int64_t reps = 5, n_batch = 512, n_ctx = 0;
  bool no_bandwidth = false, quiet = false;
  ArgParser p("loci bench (-m MODEL | --synthetic SHAPE:TYPE) [options]",
              "Measures prompt processing (pp) and text generation (tg) speed, as llama-bench does.");
  p.texts({"-m", "--model"}, &models, "FILE", "GGUF model; may be repeated or comma-separated");
  p.texts({"--synthetic"}, &synthetic, "SHAPE:TYPE",
          "a model with random weights at real shapes, built in memory (e.g. llama-1b:q4_0); may be repeated");
  p.text({"-p", "--n-prompt"}, &n_prompt, "N,...", "prompt lengths to test (default 512; 0: none)");
  p.text({"-n", "--n-gen"}, &n_gen, "N,...", "generation lengths to test (default 128; 0: none)");
  p.text({"-t", "--threads"}, &threads, "N,...", "thread counts to test (default: the core count)");
  p.integer({"-r", "--repetitions"}, &reps, 1, 1000, "N", "repetitions of each test (default 5)");
  p.integer({"-b", "--batch-size"}, &n_batch, 1, 65536, "N", "prompt tokens per forward pass (default 512)");
  p.integer({"-c", "--ctx-size"}, &n_ctx, 0, UINT32_MAX, "N", "context size; 0: what the largest test needs (default)");
  p.text({"--kv-type"}, &kv_type, "f16|f32", "KV cache element type (default f16)");
  p.text({"-o", "--output"}, &output, "md|json|csv", "output format (default md)");
  p.flag({"--no-bandwidth"}, &no_bandwidth, "skip measuring read bandwidth (no % bw column)");
  p.flag({"-q", "--quiet"}, &quiet, "no progress on stderr");
  if (Status s = p.parse(argc, argv); !s) return report_usage_error(s, "bench");
  if (p.help_requested()) {
    std::fputs(p.help().c_str(), stdout);
    std::fputs(shapes_help().c_str(), stdout);
    return kExitOk;
  }

  bench::E2eOptions o;
  o.model_paths = split(models);
  o.synthetic = split(synthetic);
  o.reps = int(reps);
  o.n_batch = uint32_t(n_batch);
  o.n_ctx = uint32_t(n_ctx);
  o.measure_bandwidth = !no_bandwidth;
  if (Status s = parse_counts("-p", n_prompt, 0, 1u << 20, &o.n_prompt); !s) return report_usage_error(s, "bench");
  if (Status s = parse_counts("-n", n_gen, 0, 1u << 20, &o.n_gen); !s) return report_usage_error(s, "bench");
  if (p.given("-t"))
    if (Status s = parse_counts("-t", threads, 1, 1024, &o.threads); !s) return report_usage_error(s, "bench");
  if (Status s = parse_kv_type("--kv-type", kv_type, &o.kv_dtype); !s) return report_usage_error(s, "bench");
  if (output != "md" && output != "json" && output != "csv")
    return report_usage_error(invalid_argument("flag '-o': '" + output + "' is not md, json or csv"), "bench");
  if (o.model_paths.empty() && o.synthetic.empty())
    return report_usage_error(invalid_argument("missing -m MODEL or --synthetic SHAPE:TYPE"), "bench");
  for (const std::string& spec : o.synthetic)
    if (Result<SynthSpec> r = parse_synth_spec(spec); !r) return report_usage_error(r.status(), "bench");

  Result<bench::E2eRun> run = bench::run_e2e(o, quiet ? bench::E2eProgress() : bench::E2eProgress(show_progress));
  if (!quiet && isatty(STDERR_FILENO)) std::fputs("\r\033[K", stderr);
  if (!run) return report_error(run.status());
  const std::string text = output == "json"  ? bench::format_json(*run)
                           : output == "csv" ? bench::format_csv(*run)
                                             : bench::format_markdown(*run);
  std::fputs(text.c_str(), stdout);
  return std::fflush(stdout) == 0 ? kExitOk : report_error(io_error("cannot write the results to stdout"));
}

}  // namespace loci::cli
