// The C ABI's models: loading (path and caller buffer), the struct_size
// rules, information and metadata against the C++ API, and tokens.
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "capi_util.h"
#include "loci/gguf.h"
#include "loci/model.h"

using namespace capit;

namespace {

loci_model* const kSentinelModel = reinterpret_cast<loci_model*>(uintptr_t(0x5e5e5e50));

std::vector<unsigned char> file_bytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  REQUIRE(in.good());
  return std::vector<unsigned char>(std::istreambuf_iterator<char>(in), {});
}

// A temporary file holding `bytes`, removed at scope exit.
struct TempFile {
  std::string path;
  explicit TempFile(const std::string& bytes) {
    char name[] = "/tmp/capit-XXXXXX";
    const int fd = mkstemp(name);
    REQUIRE(fd >= 0);
    REQUIRE(write(fd, bytes.data(), bytes.size()) == ssize_t(bytes.size()));
    close(fd);
    path = name;
  }
  ~TempFile() { std::remove(path.c_str()); }
};

// A 64-byte-aligned copy of a file at `offset` bytes past the alignment, with
// LOCI_BUFFER_PADDING readable bytes after it.
struct AlignedImage {
  unsigned char* base = nullptr;
  unsigned char* data = nullptr;
  AlignedImage(const std::vector<unsigned char>& bytes, size_t offset) {
    const size_t total = (offset + bytes.size() + LOCI_BUFFER_PADDING + 63) / 64 * 64;
    base = static_cast<unsigned char*>(std::aligned_alloc(64, total));
    REQUIRE(base != nullptr);
    std::memset(base, 0, total);
    data = base + offset;
    std::memcpy(data, bytes.data(), bytes.size());
  }
  ~AlignedImage() { std::free(base); }
};

std::shared_ptr<const loci::Model> cpp_model() {
  auto m = loci::Model::load(shared_model());
  if (!m.is_ok()) FAIL(m.status().to_string());
  return *m;
}

std::vector<float> eval_logits(const loci_model* m) {
  auto s = make_session(m);
  REQUIRE(loci_session_eval(s.get(), tokens8().data(), tokens8().size()) == LOCI_OK);
  return logits_of(s.get());
}

}  // namespace

TEST_CASE("load failures leave out_model untouched", "[capi][model]") {
  loci_model* m = kSentinelModel;
  CHECK(loci_model_load("/nonexistent/dir/none.gguf", nullptr, &m) == LOCI_ERR_IO);
  CHECK(m == kSentinelModel);
  CHECK(contains(loci_last_error(), "none.gguf"));

  TempFile garbage(std::string(4096, 'x') + "this is not a GGUF file");
  CHECK(loci_model_load(garbage.path.c_str(), nullptr, &m) == LOCI_ERR_INVALID_MODEL);
  CHECK(m == kSentinelModel);
  CHECK(std::string(loci_last_error()).rfind("invalid_model: ", 0) == 0);

  // Model params: flags are reserved, struct_size 0 is refused.
  loci_model_params p;
  loci_model_params_init(&p);
  CHECK(p.struct_size == sizeof p);
  CHECK(p.flags == 0);
  p.flags = 1;
  CHECK(loci_model_load(shared_model().c_str(), &p, &m) == LOCI_ERR_INVALID_ARGUMENT);
  CHECK(m == kSentinelModel);
  loci_model_params_init(&p);
  p.struct_size = 0;
  CHECK(loci_model_load(shared_model().c_str(), &p, &m) == LOCI_ERR_ABI_MISMATCH);
  CHECK(m == kSentinelModel);
  loci_memory_estimate e;
  std::memset(&e, 0xAB, sizeof e);
  e.struct_size = sizeof e;
  CHECK(loci_estimate_memory("/nonexistent/dir/none.gguf", nullptr, &e) == LOCI_ERR_IO);
  CHECK(loci_estimate_memory(garbage.path.c_str(), nullptr, &e) == LOCI_ERR_INVALID_MODEL);
  CHECK(e.total == 0xABABABABABABABABull);

  loci_model_params_init(&p);
  REQUIRE(loci_model_load(shared_model().c_str(), &p, &m) == LOCI_OK);
  CHECK(m != kSentinelModel);
  loci_model_free(m);
}

TEST_CASE("a model from an aligned caller buffer equals the file", "[capi][model][buffer]") {
  const std::string path = shared_model();
  const std::vector<unsigned char> bytes = file_bytes(path);
  auto from_path = load();
  const std::vector<float> expected = eval_logits(from_path.get());

  AlignedImage image(bytes, 0);
  loci_model* m = nullptr;
  const loci_status st = loci_model_load_from_buffer(image.data, bytes.size(), nullptr, &m);
  INFO(loci_last_error());
  REQUIRE(st == LOCI_OK);
  ModelPtr from_buffer(m);
  loci_model_info info;
  loci_model_info_init(&info);
  REQUIRE(loci_model_get_info(from_buffer.get(), &info) == LOCI_OK);
  CHECK(info.file_size == bytes.size());
  const std::vector<float> got = eval_logits(from_buffer.get());
  CHECK(same_bits(expected, got.data()));
}

TEST_CASE("a misaligned or truncated buffer is refused", "[capi][model][buffer]") {
  const std::vector<unsigned char> bytes = file_bytes(shared_model());
  loci_model* m = kSentinelModel;
  {
    AlignedImage image(bytes, 1);
    CHECK(loci_model_load_from_buffer(image.data, bytes.size(), nullptr, &m) == LOCI_ERR_INVALID_ARGUMENT);
    CHECK(m == kSentinelModel);
    INFO(loci_last_error());
    CHECK(contains(loci_last_error(), "align"));
  }
  AlignedImage image(bytes, 0);
  for (size_t cut : {size_t(1), size_t(100), bytes.size() / 2, bytes.size() - 24}) {
    INFO("size " << bytes.size() - cut);
    CHECK(loci_model_load_from_buffer(image.data, bytes.size() - cut, nullptr, &m) == LOCI_ERR_INVALID_MODEL);
    CHECK(m == kSentinelModel);
  }
  CHECK(loci_model_load_from_buffer(image.data, 0, nullptr, &m) == LOCI_ERR_INVALID_MODEL);
  CHECK(m == kSentinelModel);
}

TEST_CASE("model info matches the C++ model", "[capi][model]") {
  auto model = load();
  auto cpp = cpp_model();
  const loci::HParams& hp = cpp->hparams();
  loci_model_info info;
  loci_model_info_init(&info);
  CHECK(info.struct_size == sizeof info);
  REQUIRE(loci_model_get_info(model.get(), &info) == LOCI_OK);
  CHECK(info.struct_size == sizeof info);
  CHECK(info.n_vocab == int32_t(hp.n_vocab));
  CHECK(info.n_vocab == 512);
  CHECK(info.n_ctx_train == int32_t(hp.n_ctx_train));
  CHECK(info.n_embd == int32_t(hp.n_embd));
  CHECK(info.n_layer == int32_t(hp.n_layer));
  CHECK(info.n_head == int32_t(hp.n_head));
  CHECK(info.n_head_kv == int32_t(hp.n_head_kv));
  CHECK(info.n_ff == int32_t(hp.n_ff));
  CHECK(info.bos == cpp->tokenizer().bos());
  CHECK(info.eos == cpp->tokenizer().eos());
  CHECK(info.eot == cpp->tokenizer().eot());
  CHECK(info.add_bos == (cpp->tokenizer().add_bos() ? 1 : 0));
  CHECK(info.n_params == cpp->n_params());
  CHECK(info.file_size == cpp->gguf().file_size());
  REQUIRE(info.architecture != nullptr);
  CHECK(std::string(info.architecture) == "llama");
  REQUIRE(info.name != nullptr);
  CHECK(std::string(info.name) == std::string(*cpp->gguf().get_string("general.name", "")));
}

TEST_CASE("result structs are written only as far as struct_size says", "[capi][abi]") {
  auto model = load();
  loci_model_info full;
  loci_model_info_init(&full);
  REQUIRE(loci_model_get_info(model.get(), &full) == LOCI_OK);

  SECTION("smaller: the fields past it keep their bytes") {
    loci_model_info info;
    std::memset(&info, 0xAB, sizeof info);
    info.struct_size = offsetof(loci_model_info, n_ctx_train);
    REQUIRE(loci_model_get_info(model.get(), &info) == LOCI_OK);
    CHECK(info.n_vocab == full.n_vocab);
    const auto* bytes = reinterpret_cast<const unsigned char*>(&info);
    for (size_t i = offsetof(loci_model_info, n_ctx_train); i < sizeof info; ++i) CHECK(int(bytes[i]) == 0xAB);
  }
  SECTION("larger: the known fields are written, the tail is left alone") {
    alignas(16) unsigned char buf[sizeof(loci_model_info) + 16];
    std::memset(buf, 0xCD, sizeof buf);
    loci_model_info head;
    loci_model_info_init(&head);
    head.struct_size = sizeof buf;
    std::memcpy(buf, &head, sizeof head);
    REQUIRE(loci_model_get_info(model.get(), reinterpret_cast<loci_model_info*>(buf)) == LOCI_OK);
    loci_model_info got;
    std::memcpy(&got, buf, sizeof got);
    CHECK(got.n_vocab == full.n_vocab);
    CHECK(got.file_size == full.file_size);
    CHECK(got.name == full.name);
    for (size_t i = sizeof(loci_model_info); i < sizeof buf; ++i) CHECK(int(buf[i]) == 0xCD);
  }
  SECTION("too small to say its size") {
    for (uint32_t size : {0u, 1u, 3u}) {
      loci_model_info info;
      std::memset(&info, 0xAB, sizeof info);
      info.struct_size = size;
      CHECK(loci_model_get_info(model.get(), &info) == LOCI_ERR_ABI_MISMATCH);
      CHECK(info.n_vocab == int32_t(0xABABABAB));
      loci_memory_estimate est;
      std::memset(&est, 0xAB, sizeof est);
      est.struct_size = size;
      CHECK(loci_model_estimate_memory(model.get(), nullptr, &est) == LOCI_ERR_ABI_MISMATCH);
      CHECK(est.kv_cache == 0xABABABABABABABABull);
    }
  }
}

TEST_CASE("metadata matches the GGUF file key by key", "[capi][meta]") {
  auto model = load();
  auto file = loci::GgufFile::open(shared_model());
  REQUIRE(file.is_ok());
  const std::vector<loci::GgufKv>& kvs = (*file)->kvs();
  REQUIRE(loci_model_meta_count(model.get()) == kvs.size());
  REQUIRE(kvs.size() > 10);
  size_t ints = 0, floats = 0, strings = 0, arrays = 0;
  for (size_t i = 0; i < kvs.size(); ++i) {
    const loci::GgufKv& kv = kvs[i];
    const char* key = nullptr;
    REQUIRE(loci_model_meta_key(model.get(), i, &key) == LOCI_OK);
    REQUIRE(key != nullptr);
    REQUIRE(std::string(key) == std::string(kv.key));
    INFO("key " << key);
    int32_t type = -7, elem = -7;
    uint64_t length = 7;
    REQUIRE(loci_model_meta_type(model.get(), key, &type, &elem, &length) == LOCI_OK);
    CHECK(type == int32_t(kv.type));
    int64_t iv = 0;
    double dv = 0;
    size_t len = 0;
    char small[4];
    switch (kv.type) {
      case loci::GgufType::kU8: case loci::GgufType::kI8: case loci::GgufType::kU16: case loci::GgufType::kI16:
      case loci::GgufType::kU32: case loci::GgufType::kI32: case loci::GgufType::kI64:
        ++ints;
        REQUIRE(loci_model_meta_int(model.get(), key, &iv) == LOCI_OK);
        CHECK(iv == kv.i);
        REQUIRE(loci_model_meta_float(model.get(), key, &dv) == LOCI_OK);
        CHECK(dv == double(kv.i));
        CHECK(loci_model_meta_string(model.get(), key, small, sizeof small, &len) == LOCI_ERR_INVALID_ARGUMENT);
        break;
      case loci::GgufType::kF32: case loci::GgufType::kF64:
        ++floats;
        REQUIRE(loci_model_meta_float(model.get(), key, &dv) == LOCI_OK);
        CHECK(dv == kv.f);
        iv = 99;
        CHECK(loci_model_meta_int(model.get(), key, &iv) == LOCI_ERR_INVALID_ARGUMENT);
        CHECK(iv == 99);
        break;
      case loci::GgufType::kString: {
        ++strings;
        std::vector<char> buf(kv.str.size() + 1, '#');
        REQUIRE(loci_model_meta_string(model.get(), key, buf.data(), buf.size(), &len) == LOCI_OK);
        CHECK(len == kv.str.size());
        CHECK(std::string(buf.data(), len) == std::string(kv.str));
        CHECK(buf[len] == '\0');
        iv = 99;
        CHECK(loci_model_meta_int(model.get(), key, &iv) == LOCI_ERR_INVALID_ARGUMENT);
        CHECK(iv == 99);
        dv = 9.5;
        CHECK(loci_model_meta_float(model.get(), key, &dv) == LOCI_ERR_INVALID_ARGUMENT);
        CHECK(dv == 9.5);
        CHECK(contains(loci_last_error(), key));
        break;
      }
      case loci::GgufType::kArray:
        ++arrays;
        CHECK(elem == int32_t(kv.elem_type));
        CHECK(length == kv.count);
        CHECK(loci_model_meta_int(model.get(), key, &iv) == LOCI_ERR_INVALID_ARGUMENT);
        CHECK(loci_model_meta_string(model.get(), key, small, sizeof small, &len) == LOCI_ERR_INVALID_ARGUMENT);
        break;
      default:
        break;
    }
  }
  // stories260K has all four kinds, so each branch above ran.
  CHECK(ints > 0);
  CHECK(floats > 0);
  CHECK(strings > 0);
  CHECK(arrays > 0);

  // The array pointers are optional.
  int32_t type = -1;
  CHECK(loci_model_meta_type(model.get(), "tokenizer.ggml.tokens", &type, nullptr, nullptr) == LOCI_OK);
  CHECK(type == LOCI_META_ARRAY);

  // A u32 above INT32_MAX still fits an int64.
  int64_t sep = 0;
  REQUIRE(loci_model_meta_int(model.get(), "tokenizer.ggml.seperator_token_id", &sep) == LOCI_OK);
  CHECK(sep == int64_t(4294967295u));

  // Past the end and absent keys.
  const char* key = "untouched";
  CHECK(loci_model_meta_key(model.get(), kvs.size(), &key) == LOCI_ERR_OUT_OF_RANGE);
  CHECK(std::string(key) == "untouched");
  type = -9;
  CHECK(loci_model_meta_type(model.get(), "no.such.key", &type, nullptr, nullptr) == LOCI_ERR_NOT_FOUND);
  CHECK(type == -9);
  CHECK(contains(loci_last_error(), "no.such.key"));
  int64_t iv = 5;
  CHECK(loci_model_meta_int(model.get(), "no.such.key", &iv) == LOCI_ERR_NOT_FOUND);
  CHECK(iv == 5);
  double dv = 5;
  CHECK(loci_model_meta_float(model.get(), "no.such.key", &dv) == LOCI_ERR_NOT_FOUND);
  CHECK(dv == 5);
  size_t len = 123;
  char buf[8] = "keep";
  CHECK(loci_model_meta_string(model.get(), "no.such.key", buf, sizeof buf, &len) == LOCI_ERR_NOT_FOUND);
  CHECK(len == 123);
  CHECK(std::string(buf) == "keep");
}

TEST_CASE("string buffers need room for the NUL and report the length", "[capi][meta]") {
  auto model = load();
  const std::string arch = "llama";
  size_t len = 0;
  // A size query.
  CHECK(loci_model_meta_string(model.get(), "general.architecture", nullptr, 0, &len) == LOCI_ERR_BUFFER_TOO_SMALL);
  CHECK(len == arch.size());
  // Exactly the length is one short: untouched, length still reported.
  char buf[16];
  std::memset(buf, '#', sizeof buf);
  len = 0;
  CHECK(loci_model_meta_string(model.get(), "general.architecture", buf, arch.size(), &len) ==
        LOCI_ERR_BUFFER_TOO_SMALL);
  CHECK(len == arch.size());
  for (char c : buf) CHECK(c == '#');
  CHECK(contains(loci_last_error(), std::to_string(arch.size() + 1)));
  // Length plus one fits, NUL included, nothing written past it.
  REQUIRE(loci_model_meta_string(model.get(), "general.architecture", buf, arch.size() + 1, &len) == LOCI_OK);
  CHECK(len == arch.size());
  CHECK(std::string(buf) == arch);
  CHECK(buf[arch.size() + 1] == '#');
}

TEST_CASE("tokenize and detokenize round-trip and agree with C++", "[capi][tokens]") {
  auto model = load();
  auto cpp = cpp_model();
  loci_model_info info;
  loci_model_info_init(&info);
  REQUIRE(loci_model_get_info(model.get(), &info) == LOCI_OK);
  REQUIRE(info.add_bos == 1);

  for (const std::string text : {"Once upon a time, there was a little girl.", "Hello world", "a", " two  spaces",
                                 "Lily and Ben went to the park."}) {
    INFO(text);
    const std::vector<int32_t> plain = tokenize(model.get(), text, 0);
    std::vector<int32_t> cpp_ids;
    REQUIRE(cpp->tokenizer().encode(text, false, false, &cpp_ids).is_ok());
    CHECK(plain == cpp_ids);
    // ADD_SPECIAL puts BOS first, the rest unchanged.
    const std::vector<int32_t> special = tokenize(model.get(), text, LOCI_TOKENIZE_ADD_SPECIAL);
    REQUIRE(special.size() == plain.size() + 1);
    CHECK(special[0] == info.bos);
    CHECK(std::vector<int32_t>(special.begin() + 1, special.end()) == plain);

    for (const auto& ids : {plain, special}) {
      size_t len = 0;
      CHECK(loci_detokenize(model.get(), ids.data(), ids.size(), 0, nullptr, 0, &len) == LOCI_ERR_BUFFER_TOO_SMALL);
      REQUIRE(len == text.size());
      std::vector<char> out(len + 1, '#');
      REQUIRE(loci_detokenize(model.get(), ids.data(), ids.size(), 0, out.data(), out.size(), &len) == LOCI_OK);
      CHECK(std::string(out.data()) == text);
    }
  }

  // Empty text: nothing, or just BOS.
  size_t n = 9;
  CHECK(loci_tokenize(model.get(), nullptr, 0, 0, nullptr, 0, &n) == LOCI_OK);
  CHECK(n == 0);
  int32_t one = -1;
  CHECK(loci_tokenize(model.get(), "", 0, LOCI_TOKENIZE_ADD_SPECIAL, &one, 1, &n) == LOCI_OK);
  CHECK(n == 1);
  CHECK(one == info.bos);
}

TEST_CASE("tokenize buffer rules and unknown flags", "[capi][tokens]") {
  auto model = load();
  const std::string text = "Once upon a time";
  const std::vector<int32_t> ids = tokenize(model.get(), text, 0);
  REQUIRE(ids.size() > 2);
  std::vector<int32_t> small(ids.size() - 1, -3);
  size_t n = 0;
  CHECK(loci_tokenize(model.get(), text.data(), text.size(), 0, small.data(), small.size(), &n) ==
        LOCI_ERR_BUFFER_TOO_SMALL);
  CHECK(n == ids.size());
  for (int32_t t : small) CHECK(t == -3);

  n = 77;
  std::vector<int32_t> buf(64, -3);
  for (uint32_t flags : {4u, 8u, 0x80000000u, LOCI_TOKENIZE_ADD_SPECIAL | 4u}) {
    INFO("flags " << flags);
    CHECK(loci_tokenize(model.get(), text.data(), text.size(), flags, buf.data(), buf.size(), &n) ==
          LOCI_ERR_INVALID_ARGUMENT);
    CHECK(n == 77);
    CHECK(buf[0] == -3);
  }
  size_t len = 77;
  char out[64] = "keep";
  CHECK(loci_detokenize(model.get(), ids.data(), ids.size(), 2u, out, sizeof out, &len) == LOCI_ERR_INVALID_ARGUMENT);
  CHECK(loci_token_piece(model.get(), ids[0], 2u, out, sizeof out, &len) == LOCI_ERR_INVALID_ARGUMENT);
  CHECK(len == 77);
  CHECK(std::string(out) == "keep");
  // A bad id anywhere fails the whole decode, leaving the buffer alone.
  const int32_t bad[] = {ids[0], 512};
  CHECK(loci_detokenize(model.get(), bad, 2, 0, out, sizeof out, &len) != LOCI_OK);
  CHECK(len == 77);
  CHECK(std::string(out) == "keep");
}

TEST_CASE("token pieces and end-of-generation tokens", "[capi][tokens]") {
  auto model = load();
  auto cpp = cpp_model();
  loci_model_info info;
  loci_model_info_init(&info);
  REQUIRE(loci_model_get_info(model.get(), &info) == LOCI_OK);
  char buf[64];
  size_t len = 0;
  for (int32_t id : {3, 100, 261, 403, 511}) {
    INFO("token " << id);
    REQUIRE(loci_token_piece(model.get(), id, 0, buf, sizeof buf, &len) == LOCI_OK);
    CHECK(std::string(buf, len) == std::string(*cpp->tokenizer().piece(id)));
    CHECK(buf[len] == '\0');
  }
  // A word start keeps its space in a piece (but not in a decode).
  const std::vector<int32_t> ids = tokenize(model.get(), "Once", 0);
  REQUIRE(loci_token_piece(model.get(), ids[0], 0, buf, sizeof buf, &len) == LOCI_OK);
  CHECK(std::string(buf, len).rfind(" ", 0) == 0);
  // Control tokens are empty unless asked for.
  REQUIRE(loci_token_piece(model.get(), info.bos, 0, buf, sizeof buf, &len) == LOCI_OK);
  CHECK(len == 0);
  CHECK(buf[0] == '\0');
  REQUIRE(loci_token_piece(model.get(), info.bos, LOCI_DETOKENIZE_SPECIAL, buf, sizeof buf, &len) == LOCI_OK);
  CHECK(std::string(buf, len) == std::string(*cpp->tokenizer().piece(info.bos, true)));
  CHECK(len > 0);

  CHECK(loci_token_is_eog(model.get(), info.eos) == 1);
  CHECK(loci_token_is_eog(model.get(), info.bos) == 0);
  CHECK(loci_token_is_eog(model.get(), 300) == 0);
  CHECK(loci_token_is_eog(model.get(), -1) == 0);
  CHECK(loci_token_is_eog(model.get(), 512) == 0);
  len = 5;
  CHECK(loci_token_piece(model.get(), 512, 0, buf, sizeof buf, &len) != LOCI_OK);
  CHECK(loci_token_piece(model.get(), -1, 0, buf, sizeof buf, &len) != LOCI_OK);
  CHECK(len == 5);
}
