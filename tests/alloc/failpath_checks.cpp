#include "failpath_checks.h"

#include <malloc.h>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>

#include "malloc_counter.h"
#include "support/test_support.h"

namespace loci::test {
namespace {

const char* const kStops[] = {"zq", ", there"};
constexpr int32_t kMaxTokens = 8;

std::string status_text(loci_status st) {
  return std::string(loci_status_string(st)) + " (" + loci_last_error() + ")";
}

}  // namespace

std::string stories_path() { return shared_dir() + "/models/stories260K.gguf"; }

const std::string& golden_text() {
  static const std::string text = [] {
    std::ifstream f(shared_dir() + "/models/golden/stories260K.llama2c-expected-greedy-200.txt", std::ios::binary);
    std::stringstream ss;
    ss << f.rdbuf();
    const std::string all = ss.str();
    const size_t cut = all.find(kStops[1]);
    return cut == std::string::npos ? std::string() : all.substr(0, cut);
  }();
  return text;
}

int32_t TextSink::on_text(void* user, const char* text, size_t length) {
  return on_text_cpp(user, text, length) ? 0 : 1;
}

bool TextSink::on_text_cpp(void* user, const char* text, size_t length) {
  auto* s = static_cast<TextSink*>(user);
  if (length > sizeof s->data - s->len) {
    s->overflow = true;
    return false;
  }
  std::memcpy(s->data + s->len, text, length);
  s->len += length;
  return true;
}

loci_generate_params reference_params() {
  loci_generate_params p;
  loci_generate_params_init(&p);
  p.max_tokens = kMaxTokens;
  p.stop = kStops;
  p.n_stop = 2;
  p.strip_leading_space = 1;
  return p;
}

loci_session_params reference_session_params(uint32_t n_threads) {
  loci_session_params p;
  loci_session_params_init(&p);
  p.n_ctx = 64;
  p.n_threads = n_threads;
  return p;
}

int32_t bos_of(const loci_model* model) {
  loci_model_info info;
  loci_model_info_init(&info);
  if (loci_model_get_info(model, &info) != LOCI_OK) return -1;
  return info.bos;
}

loci_status reference_generate(loci_session* s, loci_sampler* sampler, int32_t bos, TextSink& sink) {
  const loci_generate_params p = reference_params();
  return loci_generate(s, sampler, &bos, 1, &p, TextSink::on_text, &sink, nullptr);
}

std::string check_generates(loci_session* s, loci_sampler* sampler, int32_t bos) {
  if (golden_text().empty()) return "golden text missing";
  TextSink sink;
  const loci_status st = reference_generate(s, sampler, bos, sink);
  if (st != LOCI_OK) return "generate failed: " + status_text(st);
  if (sink.text() != golden_text()) return "generated '" + sink.text() + "', want '" + golden_text() + "'";
  return "";
}

std::string check_sampler_generates_and_free(const loci_model* model, loci_sampler* sampler) {
  const loci_session_params p = reference_session_params(1);
  loci_session* s = nullptr;
  std::string why = loci_session_create(model, &p, &s) == LOCI_OK ? check_generates(s, sampler, bos_of(model))
                                                                  : "session create failed";
  loci_session_free(s);
  loci_sampler_free(sampler);
  return why;
}

std::string check_model_works(const loci_model* model) {
  const loci_session_params sp = reference_session_params(1);
  loci_session* s = nullptr;
  loci_status st = loci_session_create(model, &sp, &s);
  if (st != LOCI_OK) return "session create failed: " + status_text(st);
  loci_sampler_params pp;
  loci_sampler_params_init(&pp);
  pp.temperature = 0.0f;
  loci_sampler* sampler = nullptr;
  st = loci_sampler_create(model, &pp, &sampler);
  std::string why = st == LOCI_OK ? check_generates(s, sampler, bos_of(model)) : "sampler create failed: " + status_text(st);
  loci_sampler_free(sampler);
  loci_session_free(s);
  return why;
}

GenerateOptions reference_options() {
  GenerateOptions o;
  o.max_tokens = kMaxTokens;
  o.stop = {kStops[0], kStops[1]};
  o.strip_leading_space = true;
  return o;
}

std::string check_generates_cpp(Session& s, Sampler& sampler) {
  if (golden_text().empty()) return "golden text missing";
  const int32_t bos = s.model().tokenizer().bos();
  TextSink sink;
  auto r = generate(s, s.model().tokenizer(), sampler, &bos, 1, reference_options(), TextSink::on_text_cpp, &sink);
  if (!r.is_ok()) return "generate failed: " + r.status().to_string();
  if (sink.text() != golden_text()) return "generated '" + sink.text() + "', want '" + golden_text() + "'";
  return "";
}

std::string check_model_works_cpp(const std::shared_ptr<const Model>& model) {
  SessionOptions o;
  o.n_ctx = 64;
  o.n_threads = 1;
  auto s = Session::create(model, o);
  if (!s.is_ok()) return "session create failed: " + s.status().to_string();
  auto sampler = Sampler::create(SamplerParams::greedy(), (*s)->n_vocab());
  if (!sampler.is_ok()) return "sampler create failed: " + sampler.status().to_string();
  return check_generates_cpp(**s, **sampler);
}

void dump_block(void* p) {
  std::fprintf(stderr, "live %p (%zu bytes):", p, malloc_usable_size(p));
  for (int i = 0; i < 48; ++i) std::fprintf(stderr, " %02x", static_cast<unsigned char*>(p)[i]);
  std::fprintf(stderr, "\n");
}
std::string leak_check(size_t allowed) {
  if (std::getenv("LOCI_FAILPATH_DEBUG")) debug_dump_live(dump_block);
  if (live_tracking_overflowed()) return "the live-block tracker overflowed";
  const size_t live = live_counted_blocks();
  return live > allowed ? "leaked " + std::to_string(live) + " blocks" : "";
}

}  // namespace loci::test
