// `loci`: run, inspect, tokenize, benchmark and quantize GGUF models from the command line.
#include <cstdio>
#include <exception>
#include <string>

#include "commands.h"
#include "loci.h"

namespace loci::cli {
namespace {

constexpr const char* kHelp =
    "usage: loci <command> [options]\n"
    "\n"
    "Runs GGUF language models on this machine.\n"
    "\n"
    "commands:\n"
    "  run        generate text from a prompt: loci run -m MODEL -p PROMPT -n N\n"
    "  info       show a file's metadata, tensors and memory needs: loci info MODEL\n"
    "  tokenize   show the tokens of a text: loci tokenize -m MODEL TEXT\n"
    "  bench      prefill and decode speed: loci bench -m MODEL (or --synthetic llama-1b:q4_0)\n"
    "  synth      write a random-weight model at real shapes: loci synth llama-1b:q4_0 -o FILE\n"
    "  quantize   convert an F32/F16/BF16 model: loci quantize IN.gguf OUT.gguf q4_k_m\n"
    "\n"
    "  loci <command> --help   options of a command\n"
    "  loci --version          version and the CPU kernels in use\n";

void print_version() {
  std::printf("loci %d.%d.%d (ABI %d), kernels for %s\n", LOCI_VERSION_MAJOR, LOCI_VERSION_MINOR, LOCI_VERSION_PATCH,
              LOCI_ABI_VERSION, loci_isa_name(loci_isa_cap()));
}

int dispatch(int argc, char** argv) {
  if (argc < 2) {
    std::fputs(kHelp, stderr);
    return kExitUsage;
  }
  const std::string cmd = argv[1];
  if (cmd == "-h" || cmd == "--help" || cmd == "help") {
    std::fputs(kHelp, stdout);
    return kExitOk;
  }
  if (cmd == "-V" || cmd == "--version" || cmd == "version") {
    print_version();
    return kExitOk;
  }
  if (cmd == "run") return run_command(argc - 2, argv + 2);
  if (cmd == "info") return info_command(argc - 2, argv + 2);
  if (cmd == "tokenize") return tokenize_command(argc - 2, argv + 2);
  if (cmd == "bench") return bench_command(argc - 2, argv + 2);
  if (cmd == "synth") return synth_command(argc - 2, argv + 2);
  if (cmd == "quantize") return quantize_command(argc - 2, argv + 2);
  return report_usage_error(
      invalid_argument("unknown command '" + cmd + "' (commands: run, info, tokenize, bench, synth, quantize)"), "");
}

}  // namespace

}  // namespace loci::cli

int main(int argc, char** argv) {
  // Nothing may escape: a bad_alloc from the CLI's own strings is still one error line.
  try {
    return loci::cli::dispatch(argc, argv);
  } catch (const std::exception& e) {
    return loci::cli::report_error(loci::internal_error(std::string("unexpected exception: ") + e.what()));
  } catch (...) {
    return loci::cli::report_error(loci::internal_error("unexpected exception"));
  }
}
