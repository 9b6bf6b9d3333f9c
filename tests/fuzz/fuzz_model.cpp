// Fuzz target: a full load and one decode step on whatever passes
// validation, as an application would do it through the C API (model from a
// caller buffer, metadata, tokens, a session, one token). Caps keep one
// execution in milliseconds: inputs above kMaxFile are skipped, and models
// beyond small hyperparameters are loaded but not run.
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "fuzz_check.h"
#include "loci.h"

namespace {

constexpr size_t kMaxFile = 4u << 20;
// Beyond these a session is still planned but not created (memory and time).
constexpr int32_t kMaxLayers = 8, kMaxEmbd = 1024, kMaxFf = 4096, kMaxVocab = 1 << 16;

// Every key, read with every getter: errors are fine, crashes are not.
void read_metadata(const loci_model* m) {
  const size_t n = loci_model_meta_count(m);
  std::vector<char> buf(256);
  for (size_t i = 0; i < n; ++i) {
    const char* key = nullptr;
    FUZZ_CHECK(loci_model_meta_key(m, i, &key) == LOCI_OK && key != nullptr, "meta_key %zu", i);
    int32_t type = -1, elem = -1;
    uint64_t len = 0;
    const loci_status ts = loci_model_meta_type(m, key, &type, &elem, &len);
    // Every listed key finds itself (a key with a NUL byte would not).
    FUZZ_CHECK(ts == LOCI_OK, "meta_type of listed key '%s': %d", key, ts);
    int64_t iv = 0;
    double fv = 0;
    size_t slen = 0;
    (void)loci_model_meta_int(m, key, &iv);
    (void)loci_model_meta_float(m, key, &fv);
    const loci_status s = loci_model_meta_string(m, key, buf.data(), buf.size(), &slen);
    if (s == LOCI_ERR_BUFFER_TOO_SMALL) FUZZ_CHECK(slen >= buf.size(), "too small, yet %zu fits", slen);
    if (s == LOCI_OK) FUZZ_CHECK(slen < buf.size() && buf[slen] == '\0', "string not terminated");
  }
  const char* none = nullptr;
  FUZZ_CHECK(loci_model_meta_key(m, n, &none) != LOCI_OK, "key past the end");
}

void tokens_round_trip(const loci_model* m, int32_t n_vocab) {
  const char text[] = "Hello, world! <s> \xE2\x96\x81x\n\t12";
  int32_t ids[64];
  size_t n = 0;
  const loci_status s = loci_tokenize(m, text, sizeof text - 1, LOCI_TOKENIZE_ADD_SPECIAL | LOCI_TOKENIZE_PARSE_SPECIAL,
                                      ids, 64, &n);
  if (s != LOCI_OK) return;  // a vocabulary without an unknown token may be unable to encode
  for (size_t i = 0; i < n; ++i) FUZZ_CHECK(ids[i] >= 0 && ids[i] < n_vocab, "token %d out of range", ids[i]);
  char out[4096];
  size_t len = 0;
  (void)loci_detokenize(m, ids, n, LOCI_DETOKENIZE_SPECIAL, out, sizeof out, &len);
}

void decode_one(const loci_model* m, const loci_model_info& info) {
  if (info.n_layer > kMaxLayers || info.n_embd > kMaxEmbd || info.n_ff > kMaxFf || info.n_vocab > kMaxVocab) return;
  loci_session_params p;
  loci_session_params_init(&p);
  p.n_ctx = 8;
  p.n_batch = 4;
  p.n_threads = 1;
  p.memory_budget = 64u << 20;
  loci_session* s = nullptr;
  if (loci_session_create(m, &p, &s) != LOCI_OK) return;
  const int32_t tok = info.bos >= 0 ? info.bos : 0;
  const loci_status st = loci_session_eval(s, &tok, 1);
  if (st == LOCI_OK) {
    FUZZ_CHECK(loci_session_logits(s) != nullptr, "eval succeeded without logits");
    FUZZ_CHECK(loci_session_position(s) == 1, "position");
  } else {
    FUZZ_CHECK(loci_session_logits(s) == nullptr && loci_session_position(s) == 0, "failed eval left state");
  }
  // Out-of-vocabulary ids are refused before any row is read.
  const int32_t bad[] = {info.n_vocab, -1};
  FUZZ_CHECK(loci_session_eval(s, bad, 1) == LOCI_ERR_OUT_OF_RANGE, "id n_vocab accepted");
  FUZZ_CHECK(loci_session_eval(s, bad + 1, 1) == LOCI_ERR_OUT_OF_RANGE, "id -1 accepted");
  loci_session_free(s);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size > kMaxFile) return 0;
  // The file's alignment is at most 2^16 (GgufLimits): align for the worst.
  const loci::fuzz::AlignedCopy copy(data, size, 1u << 16, LOCI_BUFFER_PADDING);
  FUZZ_CHECK(copy.data() != nullptr, "allocation");
  loci_model* m = nullptr;
  const loci_status s = loci_model_load_from_buffer(copy.data(), size, nullptr, &m);
  if (s != LOCI_OK) {
    FUZZ_CHECK(m == nullptr, "failed load returned a model");
    FUZZ_CHECK(s == LOCI_ERR_INVALID_MODEL || s == LOCI_ERR_UNSUPPORTED, "load: %d %s", s, loci_last_error());
    return 0;
  }
  loci_model_info info;
  loci_model_info_init(&info);
  FUZZ_CHECK(loci_model_get_info(m, &info) == LOCI_OK, "info");
  FUZZ_CHECK(info.n_vocab > 0 && info.n_layer > 0 && info.file_size == size, "info values");
  read_metadata(m);
  tokens_round_trip(m, info.n_vocab);
  decode_one(m, info);
  loci_model_free(m);
  return 0;
}
