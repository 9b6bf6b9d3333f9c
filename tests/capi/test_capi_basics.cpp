// The C ABI's process-wide pieces: versions, status names, the per-thread
// last error, NULL handles, ISA selection and logging.
#include <cstdio>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "capi_util.h"

using namespace capit;

TEST_CASE("versions agree with the header's macros", "[capi]") {
  CHECK(loci_version_number() == LOCI_VERSION_NUMBER);
  CHECK(loci_version_number() == LOCI_VERSION_MAJOR * 10000 + LOCI_VERSION_MINOR * 100 + LOCI_VERSION_PATCH);
  CHECK(loci_abi_version() == LOCI_ABI_VERSION);
  REQUIRE(loci_version_string() != nullptr);
  const std::string expected = std::to_string(LOCI_VERSION_MAJOR) + "." + std::to_string(LOCI_VERSION_MINOR) + "." +
                               std::to_string(LOCI_VERSION_PATCH);
  CHECK(std::string(loci_version_string()) == expected);
  // Static: the same pointer every time.
  CHECK(loci_version_string() == loci_version_string());
}

TEST_CASE("every status code has its name and others are unknown", "[capi]") {
  const std::vector<std::pair<loci_status, const char*>> names = {
      {LOCI_OK, "ok"},
      {LOCI_ERR_INVALID_ARGUMENT, "invalid_argument"},
      {LOCI_ERR_OUT_OF_RANGE, "out_of_range"},
      {LOCI_ERR_UNSUPPORTED, "unsupported"},
      {LOCI_ERR_BUFFER_TOO_SMALL, "buffer_too_small"},
      {LOCI_ERR_NOT_FOUND, "not_found"},
      {LOCI_ERR_OUT_OF_MEMORY, "out_of_memory"},
      {LOCI_ERR_IO, "io_error"},
      {LOCI_ERR_CANCELLED, "cancelled"},
      {LOCI_ERR_DEADLINE_EXCEEDED, "deadline_exceeded"},
      {LOCI_ERR_INVALID_MODEL, "invalid_model"},
      {LOCI_ERR_ABI_MISMATCH, "abi_mismatch"},
      {LOCI_ERR_INTERNAL, "internal"},
  };
  for (const auto& [code, name] : names) {
    INFO("code " << code);
    REQUIRE(loci_status_string(code) != nullptr);
    CHECK(std::string(loci_status_string(code)) == name);
  }
  for (loci_status code : {-1, 1, 99, 105, 199, 204, 299, 301, 401, 901, 1000, INT32_MAX, INT32_MIN}) {
    INFO("code " << code);
    REQUIRE(loci_status_string(code) != nullptr);
    CHECK(std::string(loci_status_string(code)) == "unknown");
  }
}

TEST_CASE("a failure records its message and success leaves it alone", "[capi][error]") {
  const std::string missing = "/nonexistent/capit-no-such-model.gguf";
  loci_model* m = nullptr;
  REQUIRE(loci_model_load(missing.c_str(), nullptr, &m) == LOCI_ERR_IO);
  const std::string msg = loci_last_error();
  INFO(msg);
  CHECK(msg.rfind("io_error: ", 0) == 0);
  CHECK(contains(msg, missing));
  // A successful call keeps the last failure's message.
  CHECK(loci_set_isa_cap(loci_isa_cap()) == LOCI_OK);
  CHECK(std::string(loci_last_error()) == msg);
  // A new failure replaces it, naming the new problem.
  REQUIRE(loci_set_isa_cap(77) == LOCI_ERR_INVALID_ARGUMENT);
  const std::string msg2 = loci_last_error();
  CHECK(msg2.rfind("invalid_argument: ", 0) == 0);
  CHECK(contains(msg2, "77"));
}

TEST_CASE("the last error is per thread", "[capi][error][threads]") {
  loci_model* m = nullptr;
  REQUIRE(loci_model_load("/nonexistent/capit-main-thread.gguf", nullptr, &m) == LOCI_ERR_IO);
  const std::string mine = loci_last_error();
  std::string fresh, theirs;
  std::thread other([&] {
    fresh = loci_last_error();  // a thread that never failed has ""
    loci_set_isa_cap(-5);
    theirs = loci_last_error();
  });
  other.join();
  CHECK(fresh.empty());
  CHECK(contains(theirs, "-5"));
  CHECK(std::string(loci_last_error()) == mine);
  CHECK(contains(mine, "capit-main-thread.gguf"));
}

TEST_CASE("a very long message is cut and not overrun", "[capi][error]") {
  const std::string path = "/nonexistent/" + std::string(5000, 'p') + ".gguf";
  loci_model* m = nullptr;
  REQUIRE(loci_model_load(path.c_str(), nullptr, &m) != LOCI_OK);
  const std::string msg = loci_last_error();
  CHECK(msg.size() > 100);
  CHECK(msg.size() < 5000);
  CHECK(contains(msg, "pppp"));
}

TEST_CASE("NULL handles are refused or ignored and never crash", "[capi][null]") {
  auto model = load();
  auto session = make_session(model.get());
  auto sampler = greedy_sampler(model.get());
  const int32_t tok = 1;
  float f = 0;
  char buf[16];
  size_t n = 0;
  int32_t i32 = 0;
  int64_t i64 = 0;
  double d = 0;
  const char* key = nullptr;
  loci_model* m = nullptr;
  loci_session* s = nullptr;
  loci_sampler* sp = nullptr;
  loci_model_info info;
  loci_model_info_init(&info);
  loci_memory_estimate est;
  loci_memory_estimate_init(&est);
  const std::string path = shared_model();

  // The _free functions, reset and cancel take NULL as a no-op.
  loci_model_free(nullptr);
  loci_session_free(nullptr);
  loci_sampler_free(nullptr);
  loci_session_reset(nullptr);
  loci_session_cancel(nullptr);
  loci_sampler_reset(nullptr);
  // _init functions ignore NULL.
  loci_model_params_init(nullptr);
  loci_model_info_init(nullptr);
  loci_session_params_init(nullptr);
  loci_memory_estimate_init(nullptr);
  loci_sampler_params_init(nullptr);
  loci_generate_params_init(nullptr);
  loci_generate_result_init(nullptr);
  loci_allocator_init(nullptr);

  const loci_status kBad = LOCI_ERR_INVALID_ARGUMENT;
  CHECK(loci_model_load(nullptr, nullptr, &m) == kBad);
  CHECK(loci_model_load(path.c_str(), nullptr, nullptr) == kBad);
  CHECK(loci_model_load_from_buffer(nullptr, 100, nullptr, &m) == kBad);
  CHECK(loci_model_get_info(nullptr, &info) == kBad);
  CHECK(loci_model_get_info(model.get(), nullptr) == kBad);
  CHECK(loci_model_meta_count(nullptr) == 0);
  CHECK(loci_model_meta_key(nullptr, 0, &key) == kBad);
  CHECK(loci_model_meta_key(model.get(), 0, nullptr) == kBad);
  CHECK(loci_model_meta_type(nullptr, "general.architecture", &i32, nullptr, nullptr) == kBad);
  CHECK(loci_model_meta_type(model.get(), nullptr, &i32, nullptr, nullptr) == kBad);
  CHECK(loci_model_meta_type(model.get(), "general.architecture", nullptr, nullptr, nullptr) == kBad);
  CHECK(loci_model_meta_int(nullptr, "llama.block_count", &i64) == kBad);
  CHECK(loci_model_meta_int(model.get(), "llama.block_count", nullptr) == kBad);
  CHECK(loci_model_meta_float(nullptr, "llama.block_count", &d) == kBad);
  CHECK(loci_model_meta_float(model.get(), "llama.block_count", nullptr) == kBad);
  CHECK(loci_model_meta_string(nullptr, "general.architecture", buf, sizeof buf, &n) == kBad);
  CHECK(loci_model_meta_string(model.get(), "general.architecture", buf, sizeof buf, nullptr) == kBad);
  CHECK(loci_tokenize(nullptr, "a", 1, 0, &i32, 1, &n) == kBad);
  CHECK(loci_tokenize(model.get(), nullptr, 3, 0, &i32, 1, &n) == kBad);
  CHECK(loci_tokenize(model.get(), "a", 1, 0, &i32, 1, nullptr) == kBad);
  CHECK(loci_detokenize(nullptr, &tok, 1, 0, buf, sizeof buf, &n) == kBad);
  CHECK(loci_detokenize(model.get(), nullptr, 1, 0, buf, sizeof buf, &n) == kBad);
  CHECK(loci_detokenize(model.get(), &tok, 1, 0, buf, sizeof buf, nullptr) == kBad);
  CHECK(loci_token_piece(nullptr, 1, 0, buf, sizeof buf, &n) == kBad);
  CHECK(loci_token_piece(model.get(), 1, 0, buf, sizeof buf, nullptr) == kBad);
  CHECK(loci_token_is_eog(nullptr, 2) == 0);
  CHECK(loci_estimate_memory(nullptr, nullptr, &est) == kBad);
  CHECK(loci_estimate_memory(path.c_str(), nullptr, nullptr) == kBad);
  CHECK(loci_model_estimate_memory(nullptr, nullptr, &est) == kBad);
  CHECK(loci_model_estimate_memory(model.get(), nullptr, nullptr) == kBad);
  CHECK(loci_session_create(nullptr, nullptr, &s) == kBad);
  CHECK(loci_session_create(model.get(), nullptr, nullptr) == kBad);
  CHECK(loci_session_eval(nullptr, &tok, 1) == kBad);
  CHECK(loci_session_eval(session.get(), nullptr, 1) == kBad);
  CHECK(loci_session_eval_all(nullptr, &tok, 1, &f, 1) == kBad);
  CHECK(loci_session_logits(nullptr) == nullptr);
  CHECK(loci_session_n_vocab(nullptr) == 0);
  CHECK(loci_session_n_ctx(nullptr) == 0);
  CHECK(loci_session_position(nullptr) == 0);
  CHECK(loci_session_memory(nullptr, &est) == kBad);
  CHECK(loci_session_memory(session.get(), nullptr) == kBad);
  CHECK(loci_session_truncate(nullptr, 0) == kBad);
  CHECK(loci_session_set_timeout(nullptr, 5) == kBad);
  CHECK(loci_sampler_create(nullptr, nullptr, &sp) == kBad);
  CHECK(loci_sampler_create(model.get(), nullptr, nullptr) == kBad);
  CHECK(loci_sampler_sample(nullptr, &f, 1, &i32) == kBad);
  CHECK(loci_sampler_sample(sampler.get(), nullptr, 512, &i32) == kBad);
  CHECK(loci_sampler_sample(sampler.get(), std::vector<float>(512).data(), 512, nullptr) == kBad);
  CHECK(loci_sampler_accept(nullptr, 1) == kBad);
  CHECK(loci_generate(nullptr, sampler.get(), &tok, 1, nullptr, nullptr, nullptr, nullptr) == kBad);
  CHECK(loci_generate(session.get(), nullptr, &tok, 1, nullptr, nullptr, nullptr, nullptr) == kBad);
  CHECK(loci_generate(session.get(), sampler.get(), nullptr, 1, nullptr, nullptr, nullptr, nullptr) == kBad);
  CHECK(loci_set_isa_cap(loci_isa_cap()) == LOCI_OK);
  // The refused calls handed out nothing and evaluated nothing.
  CHECK(m == nullptr);
  CHECK(s == nullptr);
  CHECK(sp == nullptr);
  CHECK(key == nullptr);
  CHECK(loci_session_position(session.get()) == 0);
  // A NULL-argument failure names the argument.
  REQUIRE(loci_session_create(model.get(), nullptr, nullptr) == kBad);
  CHECK(contains(loci_last_error(), "out_session"));
}

TEST_CASE("the ISA cap lowers the active level and is restored", "[capi][isa]") {
  IsaGuard guard;
  const loci_isa host = loci_isa_host();
  CHECK(std::string(loci_isa_name(host)) != "unknown");
  CHECK(std::string(loci_isa_name(LOCI_ISA_REF)) == "ref");
  CHECK(std::string(loci_isa_name(LOCI_ISA_AVX2)) == "avx2");
  CHECK(std::string(loci_isa_name(LOCI_ISA_AVX512VNNI)) == "avx512vnni");
  CHECK(std::string(loci_isa_name(LOCI_ISA_I8MM)) == "i8mm");
  CHECK(std::string(loci_isa_name(42)) == "unknown");
  CHECK(loci_isa_active() <= host);

  REQUIRE(loci_set_isa_cap(LOCI_ISA_REF) == LOCI_OK);
  CHECK(loci_isa_cap() == LOCI_ISA_REF);
  CHECK(loci_isa_active() == LOCI_ISA_REF);

  // A session created under the ref cap still computes the same model
  // (different kernels, so only close).
  auto model = load();
  auto ref = make_session(model.get());
  REQUIRE(loci_session_eval(ref.get(), tokens8().data(), tokens8().size()) == LOCI_OK);
  const std::vector<float> ref_logits = logits_of(ref.get());

  REQUIRE(loci_set_isa_cap(host) == LOCI_OK);
  CHECK(loci_isa_cap() == host);
  CHECK(loci_isa_active() == host);
  auto best = make_session(model.get());
  REQUIRE(loci_session_eval(best.get(), tokens8().data(), tokens8().size()) == LOCI_OK);
  const std::vector<float> best_logits = logits_of(best.get());
  for (size_t i = 0; i < ref_logits.size(); ++i) CHECK(best_logits[i] == Approx(ref_logits[i]).margin(1e-3));

  // Each level this CPU has, as the cap, is the active level.
  const bool x86 = host <= LOCI_ISA_AVX512VNNI;
  for (loci_isa level = x86 ? LOCI_ISA_REF : LOCI_ISA_NEON; level <= host; ++level) {
    INFO("cap " << loci_isa_name(level));
    REQUIRE(loci_set_isa_cap(level) == LOCI_OK);
    CHECK(loci_isa_active() == level);
  }

  // A cap from the other architecture family leaves only ref.
  REQUIRE(loci_set_isa_cap(x86 ? LOCI_ISA_I8MM : LOCI_ISA_AVX512VNNI) == LOCI_OK);
  CHECK(loci_isa_active() == LOCI_ISA_REF);
  REQUIRE(loci_set_isa_cap(host) == LOCI_OK);

  // Unknown levels are refused and leave the cap alone.
  for (loci_isa bad : {-1, 4, 9, 13, 100}) {
    INFO("isa " << bad);
    CHECK(loci_set_isa_cap(bad) == LOCI_ERR_INVALID_ARGUMENT);
    CHECK(loci_isa_cap() == host);
  }
}

namespace {

struct LogLines {
  std::mutex mu;
  std::vector<std::pair<loci_log_level, std::string>> lines;
  static void sink(void* user, loci_log_level level, const char* message) {
    auto* l = static_cast<LogLines*>(user);
    std::lock_guard<std::mutex> lock(l->mu);
    l->lines.emplace_back(level, message);
  }
};

}  // namespace

TEST_CASE("the log callback gets an INFO line naming the architecture", "[capi][log]") {
  LogGuard guard;
  LogLines got;
  loci_set_log_callback(LogLines::sink, &got, LOCI_LOG_INFO);
  { auto model = load(); }
  bool arch_line = false;
  for (const auto& [level, line] : got.lines) {
    INFO(line);
    CHECK(level >= LOCI_LOG_ERROR);
    CHECK(level <= LOCI_LOG_INFO);
    CHECK((line.empty() || line.back() != '\n'));
    if (level == LOCI_LOG_INFO && contains(line, "llama")) arch_line = true;
  }
  CHECK(arch_line);

  // Only errors: loading a good model says nothing.
  got.lines.clear();
  loci_set_log_callback(LogLines::sink, &got, LOCI_LOG_ERROR);
  { auto model = load(); }
  CHECK(got.lines.empty());

  // NULL turns logging off even at DEBUG.
  loci_set_log_callback(LogLines::sink, &got, LOCI_LOG_DEBUG);
  loci_set_log_callback(nullptr, &got, LOCI_LOG_DEBUG);
  { auto model = load(); }
  CHECK(got.lines.empty());
}
