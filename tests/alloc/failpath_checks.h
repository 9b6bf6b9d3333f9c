// The reference generation the failure-injection tests use to prove objects
// still work: stories260K from BOS, greedy, at most 8 tokens, stop strings
// "zq" and ", there". The expected text is llama2.c's golden output up to the
// first ", there" (from the shared golden file).
//
// Every check returns "" when it holds, else what went wrong; none uses
// Catch2, so they can run in a forked child.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

#include "loci.h"
#include "loci/generate.h"
#include "loci/model.h"
#include "loci/sampler.h"

namespace loci::test {

std::string stories_path();
// The golden text (empty if the shared file is missing or has no ", there").
const std::string& golden_text();

// Collects streamed text in a fixed buffer: a callback that allocated would
// take part in the allocation count it is meant to observe.
struct TextSink {
  char data[1024];
  size_t len = 0;
  bool overflow = false;
  std::string text() const { return std::string(data, len); }
  static int32_t on_text(void* user, const char* text, size_t length);  // C ABI
  static bool on_text_cpp(void* user, const char* text, size_t length);  // C++ API
};

// The C ABI's reference generation.
loci_generate_params reference_params();
loci_session_params reference_session_params(uint32_t n_threads);
int32_t bos_of(const loci_model* model);
// Generates from BOS into `sink`; returns the status.
loci_status reference_generate(loci_session* s, loci_sampler* sampler, int32_t bos, TextSink& sink);
// The session (at position 0) and sampler generate the golden text.
std::string check_generates(loci_session* s, loci_sampler* sampler, int32_t bos);
// The model makes a session and a sampler that generate the golden text.
std::string check_model_works(const loci_model* model);
// A new session on `model` generates the golden text with `sampler`; frees the sampler.
std::string check_sampler_generates_and_free(const loci_model* model, loci_sampler* sampler);

// The same for the C++ API.
GenerateOptions reference_options();
std::string check_generates_cpp(Session& s, Sampler& sampler);
std::string check_model_works_cpp(const std::shared_ptr<const Model>& model);

// "leaked K blocks" when more than `allowed` blocks allocated in the last
// window are still live.
std::string leak_check(size_t allowed = 0);

}  // namespace loci::test
