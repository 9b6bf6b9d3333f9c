// `loci quantize`: convert an F32/F16/BF16 model to a quantized file type,
// choosing each tensor's dtype as llama-quantize does.
#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <memory>
#include <optional>
#include <string>

#include "args.h"
#include "commands.h"
#include "loci/gguf.h"
#include "loci/quantize.h"
#include "loci/threadpool.h"

namespace loci::cli {
namespace {

std::string type_list() {
  std::string s;
  for (FileType t : file_types()) s += std::string(s.empty() ? "" : ", ") + file_type_name(t);
  return s;
}

std::string shape_of(const GgufTensor& t) {
  std::string s = "[";
  for (int d = 0; d < t.ndim; ++d) s += (d ? " x " : "") + std::to_string(t.ne[d]);
  return s + "]";
}

uint64_t elements_of(const GgufFile& f) {
  uint64_t n = 0;
  for (const GgufTensor& t : f.tensors()) n += uint64_t(t.view.elements());
  return n;
}

}  // namespace

int quantize_command(int argc, char** argv) {
  std::string in, out, type_text;
  int64_t threads = 0;
  bool pure = false;
  ArgParser p("loci quantize IN.gguf OUT.gguf TYPE [options]",
              "Converts an F32, F16 or BF16 model to TYPE, each tensor's dtype chosen as llama-quantize chooses it.");
  p.positional("IN.gguf", &in, "the model to convert (F32, F16 or BF16 matrices)");
  p.positional("OUT.gguf", &out, "the file to write (written whole, then renamed into place)");
  p.positional("TYPE", &type_text, "one of: " + type_list() + " (q3_k, q4_k, q5_k: the _m mixes)");
  p.integer({"-t", "--threads"}, &threads, 0, 1024, "N", "threads; 0: one per core (default 0)");
  p.flag({"--pure"}, &pure, "every matrix in TYPE's own dtype: no Q6_K output, no mix (llama-quantize --pure)");
  if (Status s = p.parse(argc, argv); !s) return report_usage_error(s, "quantize");
  if (p.help_requested()) {
    std::fputs(p.help().c_str(), stdout);
    return kExitOk;
  }
  if (in.empty() || out.empty() || type_text.empty())
    return report_usage_error(invalid_argument("give IN.gguf OUT.gguf TYPE"), "quantize");
  const std::optional<FileType> type = file_type_from_name(type_text);
  if (!type)
    return report_usage_error(invalid_argument("unknown type '" + type_text + "' (types: " + type_list() + ")"),
                              "quantize");

  // The input is mapped here too, only to show each tensor's source type and shape.
  Result<std::shared_ptr<const GgufFile>> src = GgufFile::open(in);
  if (!src) return report_error(src.status());
  const GgufFile& file = **src;
  size_t name_width = 0;
  for (const GgufTensor& t : file.tensors()) name_width = std::max(name_width, t.name.size());

  QuantizeOptions options;
  options.type = *type;
  options.n_threads = uint32_t(threads);
  options.pure = pure;
  options.progress = [&](size_t done, size_t total, std::string_view name, DType dtype) {
    const GgufTensor& t = file.tensors()[done - 1];
    std::fprintf(stderr, "[%4zu/%4zu] %-*.*s  %-4s -> %-4s  %s\n", done, total, int(name_width), int(name.size()),
                 name.data(), dtype_name(t.dtype), dtype_name(dtype), shape_of(t).c_str());
  };
  const auto t0 = std::chrono::steady_clock::now();
  Result<QuantizeReport> r = quantize_model(in, out, options);
  if (!r) return report_error(r.status());
  const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();

  const size_t used_threads = threads > 0 ? size_t(threads) : 0;
  std::string thread_text = used_threads ? std::to_string(used_threads) : "one per core";
  std::fprintf(stderr, "wrote %s (%s): %zu tensors, %s -> %s (%.1f%%), %.2f s, %.1f M elements/s, threads: %s\n",
               out.c_str(), file_type_name(*type), r->n_tensors, human_bytes(r->bytes_in).c_str(),
               human_bytes(r->bytes_out).c_str(), r->bytes_in ? 100.0 * double(r->bytes_out) / double(r->bytes_in) : 0.0,
               secs, secs > 0 ? double(elements_of(file)) / secs / 1e6 : 0.0, thread_text.c_str());
  if (r->n_fallback)
    std::fprintf(stderr, "%zu tensor(s) use a fallback type: their rows do not divide into the chosen type's blocks\n",
                 r->n_fallback);
  return kExitOk;
}

}  // namespace loci::cli
