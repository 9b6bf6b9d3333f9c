// `loci run`: generate text from a prompt, streamed to stdout as it comes;
// speed and memory go to stderr.
#include <algorithm>
#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "args.h"
#include "commands.h"
#include "loci/generate.h"
#include "loci/model.h"
#include "loci/sampler.h"

namespace loci::cli {
namespace {

constexpr int kExitInterrupted = 130;  // the shell's code for a SIGINT

struct RunArgs {
  std::string model;
  std::string prompt;
  std::string prompt_file;
  int64_t n_predict = -1;
  float temp = 0.8f;
  int64_t top_k = 40;
  float top_p = 0.95f;
  float min_p = 0.05f;
  float repeat_penalty = 1.0f;
  int64_t repeat_last_n = 64;
  float frequency_penalty = 0.0f;
  float presence_penalty = 0.0f;
  int64_t seed = -1;
  int64_t threads = 0;
  int64_t n_ctx = 0;
  int64_t n_batch = 64;
  DType kv_type = DType::F16;
  std::vector<std::string> stop;
  bool no_bos = false;
  bool no_parse_special = false;
  bool ignore_eos = false;
  bool special = false;
  bool no_display_prompt = false;
};

// Ctrl-C stops generation (between layers, or between tokens) and still
// prints the statistics.
volatile std::sig_atomic_t g_interrupted = 0;
void on_sigint(int) { g_interrupted = 1; }
bool interrupted(void*) { return g_interrupted != 0; }

struct Output {
  bool write_failed = false;
  int write_errno = 0;
  char last = '\n';  // the last byte written
};

bool write_text(void* user, const char* text, size_t len) {
  Output* out = static_cast<Output*>(user);
  if (g_interrupted) return false;
  if (std::fwrite(text, 1, len, stdout) != len || std::fflush(stdout) != 0) {
    out->write_failed = true;
    out->write_errno = errno;
    return false;
  }
  out->last = text[len - 1];
  return true;
}

uint64_t fresh_seed() {
  std::random_device rd;
  const uint64_t t = uint64_t(std::chrono::steady_clock::now().time_since_epoch().count());
  return (uint64_t(rd()) << 32 ^ rd()) ^ t;
}

SamplerParams sampler_params(const RunArgs& a, size_t n_ctx, uint64_t seed) {
  SamplerParams p;
  p.temperature = a.temp;
  p.top_k = int32_t(a.top_k);
  p.top_p = a.top_p;
  p.min_p = a.min_p;
  p.repeat_penalty = a.repeat_penalty;
  // -1: the whole context, as in llama.cpp.
  p.repeat_last_n = a.repeat_last_n < 0 ? int32_t(std::min<size_t>(n_ctx, Sampler::kMaxRepeatLastN))
                                        : int32_t(a.repeat_last_n);
  p.frequency_penalty = a.frequency_penalty;
  p.presence_penalty = a.presence_penalty;
  p.seed = seed;
  return p;
}

void print_stats(const GenerateResult& r, const MemoryEstimate& m) {
  std::fprintf(stderr, "loci: prefill %zu tokens in %.3f s (%.1f tokens/s)\n", r.prompt_tokens, r.prefill_seconds,
               r.prefill_tokens_per_second());
  std::fprintf(stderr, "loci: decode  %zu tokens in %.3f s (%.1f tokens/s), stopped: %s\n", r.generated_tokens,
               r.decode_seconds, r.decode_tokens_per_second(), stop_reason_name(r.stop_reason));
  std::fprintf(stderr, "loci: memory  weights %s (mapped), KV cache %s, scratch %s, model heap %s, total %s\n",
               human_bytes(m.weights_mapped).c_str(), human_bytes(m.kv_cache).c_str(), human_bytes(m.scratch).c_str(),
               human_bytes(m.model_heap).c_str(), human_bytes(m.total()).c_str());
}

Result<int> run(const RunArgs& a) {
  std::string prompt = a.prompt;
  if (!a.prompt_file.empty()) LOCI_RETURN_IF_ERROR(read_all(a.prompt_file, &prompt));

  const auto t_load = std::chrono::steady_clock::now();
  LOCI_ASSIGN_OR_RETURN(std::shared_ptr<const Model> model, Model::load(a.model));
  const Tokenizer& tok = model->tokenizer();
  std::vector<int32_t> tokens;
  LOCI_RETURN_IF_ERROR(tok.encode(prompt, !a.no_bos, !a.no_parse_special, &tokens));
  if (tokens.empty()) return invalid_argument("the prompt is empty and no BOS token is added: nothing to start from");

  SessionOptions so;
  so.n_ctx = uint32_t(a.n_ctx);
  so.n_batch = uint32_t(a.n_batch);
  so.kv_dtype = a.kv_type;
  so.n_threads = uint32_t(a.threads);
  so.cancel = interrupted;
  LOCI_ASSIGN_OR_RETURN(std::unique_ptr<Session> session, Session::create(model, so));
  if (tokens.size() > session->n_ctx())
    return out_of_range("the prompt has " + std::to_string(tokens.size()) + " tokens but the context holds " +
                        std::to_string(session->n_ctx()) + " (see -c)");
  const double load_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t_load).count();

  const uint64_t seed = a.seed < 0 ? fresh_seed() : uint64_t(a.seed);
  const SamplerParams sp = sampler_params(a, session->n_ctx(), seed);
  LOCI_ASSIGN_OR_RETURN(std::unique_ptr<Sampler> sampler, Sampler::create(sp, session->n_vocab()));

  GenerateOptions go;
  go.max_tokens = int32_t(a.n_predict);
  go.stop = a.stop;
  go.stop_at_eog = !a.ignore_eos;
  go.special = a.special;
  go.strip_leading_space = prompt.empty();  // text right after BOS: no space before it
  LOCI_ASSIGN_OR_RETURN(std::unique_ptr<Generator> gen, Generator::create(*session, tok, *sampler, go));

  const HParams& hp = model->hparams();
  std::fprintf(stderr, "loci: %s: %s, %u layers, vocabulary %u; loaded in %.3f s\n", a.model.c_str(),
               arch_name(hp.arch), hp.n_layer, hp.n_vocab, load_seconds);
  std::fprintf(stderr, "loci: context %zu, KV cache %s, threads %s, seed %llu, %zu prompt tokens\n", session->n_ctx(),
               dtype_name(a.kv_type), a.threads ? std::to_string(a.threads).c_str() : "auto",
               static_cast<unsigned long long>(seed), tokens.size());

  Output out;
  if (!a.no_display_prompt && !prompt.empty()) write_text(&out, prompt.data(), prompt.size());
  LOCI_ASSIGN_OR_RETURN(const GenerateResult r, gen->run(tokens.data(), tokens.size(), write_text, &out));
  if (out.write_failed && out.write_errno != EPIPE)
    return io_error(std::string("cannot write to stdout: ") + std::strerror(out.write_errno));
  // The text may not end a line; the statistics start on their own.
  if (out.last != '\n') std::fputc('\n', stderr);
  print_stats(r, session->memory());
  if (g_interrupted) {
    std::fprintf(stderr, "loci: interrupted\n");
    return kExitInterrupted;
  }
  return kExitOk;
}

}  // namespace

int run_command(int argc, char** argv) {
  RunArgs a;
  std::string kv_type = "f16";
  ArgParser p("loci run -m MODEL [-p PROMPT] [options]",
              "Generates text after PROMPT and streams it to stdout (the prompt is echoed first). Speed and\n"
              "memory use are printed to stderr. An empty prompt starts from BOS alone; the text then has no\n"
              "leading space, as sentencepiece and llama2.c print it. Sampling follows llama.cpp's default\n"
              "chain: penalties, top-k, top-p, min-p, temperature.");
  p.text({"-m", "--model"}, &a.model, "FILE", "GGUF model file (required)");
  p.text({"-p", "--prompt"}, &a.prompt, "TEXT", "prompt (default \"\": BOS only)");
  p.text({"-f", "--file"}, &a.prompt_file, "FILE", "read the prompt from FILE ('-': stdin)");
  p.integer({"-n", "--n-predict"}, &a.n_predict, -1, INT32_MAX, "N",
            "tokens to generate (default -1: until end of generation or a full context)");
  p.real({"--temp"}, &a.temp, "T", "temperature; 0 picks the most likely token (greedy) (default 0.8)");
  p.integer({"--top-k"}, &a.top_k, 0, INT32_MAX, "K", "keep the K most likely tokens; 0: off (default 40)");
  p.real({"--top-p"}, &a.top_p, "P", "keep the most likely tokens up to probability P; 1: off (default 0.95)");
  p.real({"--min-p"}, &a.min_p, "P", "drop tokens below P times the top probability; 0: off (default 0.05)");
  p.real({"--repeat-penalty"}, &a.repeat_penalty, "X", "penalize repeated tokens; 1: off (default 1.0)");
  p.integer({"--repeat-last-n"}, &a.repeat_last_n, -1, Sampler::kMaxRepeatLastN, "N",
            "tokens the penalties look back over; 0: off, -1: the context (default 64)");
  p.real({"--frequency-penalty"}, &a.frequency_penalty, "X", "subtracted per earlier occurrence; 0: off (default 0)");
  p.real({"--presence-penalty"}, &a.presence_penalty, "X", "subtracted once if seen before; 0: off (default 0)");
  p.integer({"-s", "--seed"}, &a.seed, -1, INT64_MAX, "N", "random seed; -1: a fresh one, printed (default -1)");
  p.integer({"-t", "--threads"}, &a.threads, 0, 1024, "N", "threads; 0: one per core (default 0)");
  p.integer({"-c", "--ctx-size"}, &a.n_ctx, 0, UINT32_MAX, "N",
            "context length; 0: the model's, at most 4096 (default 0)");
  p.integer({"-b", "--batch-size"}, &a.n_batch, 1, UINT32_MAX, "N", "prompt tokens per forward pass (default 64)");
  p.text({"--kv-type"}, &kv_type, "f16|f32", "KV cache element type (default f16)");
  p.texts({"--stop"}, &a.stop, "TEXT", "stop before TEXT appears; may be repeated");
  p.flag({"--no-bos"}, &a.no_bos, "do not add BOS before the prompt");
  p.flag({"--no-parse-special"}, &a.no_parse_special, "treat control-token text in the prompt (\"<s>\") as plain text");
  p.flag({"--ignore-eos"}, &a.ignore_eos, "keep generating after an end-of-generation token");
  p.flag({"--special"}, &a.special, "print control tokens' text (\"</s>\")");
  p.flag({"--no-display-prompt"}, &a.no_display_prompt, "do not echo the prompt");
  if (Status s = p.parse(argc, argv); !s) return report_usage_error(s, "run");
  if (p.help_requested()) {
    std::fputs(p.help().c_str(), stdout);
    return kExitOk;
  }
  if (Status s = parse_kv_type("--kv-type", kv_type, &a.kv_type); !s) return report_usage_error(s, "run");
  if (a.model.empty()) return report_usage_error(invalid_argument("missing -m MODEL"), "run");
  if (p.given("-p") && p.given("-f"))
    return report_usage_error(invalid_argument("give the prompt once: -p TEXT or -f FILE"), "run");

  // A reader that goes away (`loci run ... | head`) ends generation quietly.
#ifdef SIGPIPE
  std::signal(SIGPIPE, SIG_IGN);
#endif
  std::signal(SIGINT, on_sigint);
  const Result<int> code = run(a);
  if (!code) return report_error(code.status());
  return *code;
}

}  // namespace loci::cli
