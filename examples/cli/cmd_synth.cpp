// `loci synth`: write a synthetic model (real shapes, random weights) as a
// GGUF file, so loci and llama.cpp can be benchmarked on the same file.
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <memory>
#include <string>

#include "args.h"
#include "commands.h"
#include "loci/synth.h"
#include "loci/threadpool.h"

namespace loci::cli {

int synth_command(int argc, char** argv) {
  std::string spec_text, out;
  int64_t seed = 1, threads = 0;
  bool list = false;
  ArgParser p("loci synth SHAPE:TYPE -o FILE.gguf [options]",
              "Writes a model with random weights at a real model's shapes (see --list).");
  p.positional("SHAPE:TYPE", &spec_text, "e.g. llama-1b:q4_0, qwen2.5-0.5b:q4_k_m, stories15m:f16");
  p.text({"-o", "--output"}, &out, "FILE", "the GGUF file to write (required)");
  p.integer({"-s", "--seed"}, &seed, 0, INT64_MAX, "N", "random seed (default 1): the same seed writes the same bytes");
  p.integer({"-t", "--threads"}, &threads, 0, 1024, "N", "threads; 0: one per core (default 0)");
  p.flag({"--list"}, &list, "list the shapes and types");
  if (Status s = p.parse(argc, argv); !s) return report_usage_error(s, "synth");
  if (p.help_requested()) {
    std::fputs(p.help().c_str(), stdout);
    return kExitOk;
  }
  if (list) {
    for (const SynthShape& s : synth_shapes())
      std::printf("%-15s %s: %u layers, embd %u, ffn %u, heads %u/%u, vocab %u%s\n", s.name, s.description, s.n_layer,
                  s.n_embd, s.n_ff, s.n_head, s.n_head_kv, s.n_vocab, s.tied_embeddings ? ", tied embeddings" : "");
    std::printf("types:");
    for (FileType t : file_types()) std::printf(" %s", file_type_name(t));
    std::printf("\n");
    return kExitOk;
  }
  if (spec_text.empty()) return report_usage_error(invalid_argument("missing SHAPE:TYPE"), "synth");
  if (out.empty()) return report_usage_error(invalid_argument("missing -o FILE"), "synth");
  Result<SynthSpec> spec = parse_synth_spec(spec_text);
  if (!spec) return report_usage_error(spec.status(), "synth");
  spec->seed = uint64_t(seed);
  Result<std::unique_ptr<ThreadPool>> pool = ThreadPool::create(size_t(threads));
  if (!pool) return report_error(pool.status());

  const auto t0 = std::chrono::steady_clock::now();
  if (Status s = write_synth_model(*spec, out, pool->get()); !s) return report_error(s);
  const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  std::error_code ec;
  uint64_t size = std::filesystem::file_size(out, ec);  // only for the summary line
  if (ec) size = 0;
  std::fprintf(stderr, "wrote %s: %s (%s), %s in %.1f s\n", out.c_str(), synth_spec_name(*spec).c_str(),
               spec->shape.description, human_bytes(size).c_str(), secs);
  return kExitOk;
}

}  // namespace loci::cli
