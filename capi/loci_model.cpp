// C shims for models: loading, information, metadata, tokens and the memory
// estimate.
#include <cinttypes>
#include <limits>

#include "loci/gguf.h"
#include "loci/tokenizer.h"
#include "shim.h"

namespace loci::capi {
namespace {

Status check_model_params(const loci_model_params* in) {
  loci_model_params p;
  init_struct(&p);
  LOCI_RETURN_IF_ERROR(read_params(in, &p, "loci_model_params"));
  if (p.flags != 0) return invalid_argument("loci_model_params: flags " + std::to_string(p.flags) + " are not defined");
  return Status::ok();
}

loci_status make_handle(Result<std::shared_ptr<const Model>> model, loci_model** out) {
  if (!model) return fail(model.status());
  HandlePtr<loci_model> h(new_handle<loci_model>());
  if (!h) return fail(StatusCode::kOutOfMemory, "model handle");
  h->model = std::move(*model);
  const GgufFile& file = h->model->gguf();
  auto name = file.get_string("general.name", "");
  if (name) h->name = std::string(*name);
  h->keys.reserve(file.kvs().size());
  for (const GgufKv& kv : file.kvs()) h->keys.emplace_back(kv.key);
  *out = h.release();
  return LOCI_OK;
}

// Copies `bytes` and a NUL into (buffer, capacity), reporting the length.
loci_status copy_text(std::string_view bytes, char* buffer, size_t capacity, size_t* out_length, const char* what) {
  if (!out_length) return fail(null_argument(what));
  *out_length = bytes.size();
  if (capacity <= bytes.size() || !buffer)
    return fail(Status(StatusCode::kBufferTooSmall, std::string(what) + ": needs " + std::to_string(bytes.size() + 1) +
                                                        " bytes, capacity is " + std::to_string(capacity)));
  if (!bytes.empty()) std::memcpy(buffer, bytes.data(), bytes.size());
  buffer[bytes.size()] = '\0';
  return LOCI_OK;
}

Result<const GgufKv*> find_key(const loci_model* model, const char* key, const char* what) {
  if (!model) return null_argument("model");
  if (!key) return null_argument("key");
  const GgufKv* kv = model->model->gguf().find(key);
  if (!kv) return Status(StatusCode::kNotFound, std::string(what) + ": no metadata key '" + key + "'");
  return kv;
}

bool is_integer(GgufType t) {
  switch (t) {
    case GgufType::kU8: case GgufType::kI8: case GgufType::kU16: case GgufType::kI16: case GgufType::kU32:
    case GgufType::kI32: case GgufType::kU64: case GgufType::kI64: case GgufType::kBool:
      return true;
    default:
      return false;
  }
}

}  // namespace

loci_memory_estimate to_c(const MemoryEstimate& m) {
  loci_memory_estimate e;
  init_struct(&e);
  e.weights_mapped = m.weights_mapped;
  e.model_heap = m.model_heap;
  e.kv_cache = m.kv_cache;
  e.scratch = m.scratch;
  e.total = m.total();
  return e;
}

}  // namespace loci::capi

using namespace loci::capi;
using loci::Status;
using loci::StatusCode;

extern "C" {

void loci_model_params_init(loci_model_params* params) { init_struct(params); }
void loci_model_info_init(loci_model_info* info) { init_struct(info); }

loci_status loci_model_load(const char* path, const loci_model_params* params, loci_model** out_model) {
  return guarded("loci_model_load", [&] {
    if (!path) return fail(null_argument("path"));
    if (!out_model) return fail(null_argument("out_model"));
    LOCI_RETURN_C_IF_ERROR(check_model_params(params));
    return make_handle(loci::Model::load(path), out_model);
  });
}

loci_status loci_model_load_from_buffer(const void* data, size_t size, const loci_model_params* params,
                                        loci_model** out_model) {
  return guarded("loci_model_load_from_buffer", [&] {
    if (!data) return fail(null_argument("data"));
    if (!out_model) return fail(null_argument("out_model"));
    LOCI_RETURN_C_IF_ERROR(check_model_params(params));
    auto file = loci::GgufFile::borrow(data, size);
    if (!file) return fail(file.status());
    return make_handle(loci::Model::from_gguf(std::move(*file)), out_model);
  });
}

void loci_model_free(loci_model* model) { delete_handle(model); }

loci_status loci_model_get_info(const loci_model* model, loci_model_info* info) {
  return guarded("loci_model_get_info", [&] {
    if (!model) return fail(null_argument("model"));
    const loci::HParams& hp = model->model->hparams();
    const loci::Tokenizer& tok = model->model->tokenizer();
    loci_model_info full;
    init_struct(&full);
    full.n_vocab = int32_t(hp.n_vocab);
    full.n_ctx_train = int32_t(std::min<uint32_t>(hp.n_ctx_train, INT32_MAX));
    full.n_embd = int32_t(hp.n_embd);
    full.n_layer = int32_t(hp.n_layer);
    full.n_head = int32_t(hp.n_head);
    full.n_head_kv = int32_t(hp.n_head_kv);
    full.n_ff = int32_t(hp.n_ff);
    full.bos = tok.bos();
    full.eos = tok.eos();
    full.eot = tok.eot();
    full.add_bos = tok.add_bos() ? 1 : 0;
    full.n_params = model->model->n_params();
    full.file_size = model->model->gguf().file_size();
    full.architecture = loci::arch_name(hp.arch);
    full.name = model->name.c_str();
    return to_c(write_result(full, info, "loci_model_info"));
  });
}

size_t loci_model_meta_count(const loci_model* model) { return model ? model->keys.size() : 0; }

loci_status loci_model_meta_key(const loci_model* model, size_t index, const char** out_key) {
  return guarded("loci_model_meta_key", [&] {
    if (!model) return fail(null_argument("model"));
    if (!out_key) return fail(null_argument("out_key"));
    if (index >= model->keys.size())
      return fail(loci::out_of_range("loci_model_meta_key: index " + std::to_string(index) + " of " +
                                     std::to_string(model->keys.size()) + " keys"));
    *out_key = model->keys[index].c_str();
    return LOCI_OK;
  });
}

loci_status loci_model_meta_type(const loci_model* model, const char* key, int32_t* out_type,
                                 int32_t* out_element_type, uint64_t* out_length) {
  return guarded("loci_model_meta_type", [&] {
    auto kv = find_key(model, key, "loci_model_meta_type");
    if (!kv) return fail(kv.status());
    if (!out_type) return fail(null_argument("out_type"));
    *out_type = int32_t((*kv)->type);
    const bool array = (*kv)->type == loci::GgufType::kArray;
    if (out_element_type) *out_element_type = array ? int32_t((*kv)->elem_type) : -1;
    if (out_length) *out_length = array ? (*kv)->count : 1;
    return LOCI_OK;
  });
}

loci_status loci_model_meta_int(const loci_model* model, const char* key, int64_t* out_value) {
  return guarded("loci_model_meta_int", [&] {
    auto kv = find_key(model, key, "loci_model_meta_int");
    if (!kv) return fail(kv.status());
    if (!out_value) return fail(null_argument("out_value"));
    const loci::GgufKv& v = **kv;
    if (!is_integer(v.type))
      return fail(loci::invalid_argument(std::string("loci_model_meta_int: '") + key + "' is a " +
                                         loci::gguf_type_name(v.type) + ", not an integer"));
    if (v.type == loci::GgufType::kU64 && v.u > uint64_t(INT64_MAX))
      return fail(loci::invalid_argument(std::string("loci_model_meta_int: '") + key + "' = " + std::to_string(v.u) +
                                         " does not fit an int64"));
    *out_value = v.type == loci::GgufType::kU64 ? int64_t(v.u) : v.i;
    return LOCI_OK;
  });
}

loci_status loci_model_meta_float(const loci_model* model, const char* key, double* out_value) {
  return guarded("loci_model_meta_float", [&] {
    auto kv = find_key(model, key, "loci_model_meta_float");
    if (!kv) return fail(kv.status());
    if (!out_value) return fail(null_argument("out_value"));
    auto value = model->model->gguf().get_float(key);
    if (!value)
      return fail(loci::invalid_argument(std::string("loci_model_meta_float: '") + key + "' is a " +
                                         loci::gguf_type_name((*kv)->type) + ", not a number"));
    *out_value = *value;
    return LOCI_OK;
  });
}

loci_status loci_model_meta_string(const loci_model* model, const char* key, char* buffer, size_t capacity,
                                   size_t* out_length) {
  return guarded("loci_model_meta_string", [&] {
    auto kv = find_key(model, key, "loci_model_meta_string");
    if (!kv) return fail(kv.status());
    if ((*kv)->type != loci::GgufType::kString)
      return fail(loci::invalid_argument(std::string("loci_model_meta_string: '") + key + "' is a " +
                                         loci::gguf_type_name((*kv)->type) + ", not a string"));
    return copy_text((*kv)->str, buffer, capacity, out_length, "loci_model_meta_string");
  });
}

loci_status loci_tokenize(const loci_model* model, const char* text, size_t text_length, uint32_t flags,
                          int32_t* tokens, size_t capacity, size_t* out_count) {
  return guarded("loci_tokenize", [&] {
    if (!model) return fail(null_argument("model"));
    if (!text && text_length) return fail(null_argument("text"));
    if (!out_count) return fail(null_argument("out_count"));
    if (flags & ~(LOCI_TOKENIZE_ADD_SPECIAL | LOCI_TOKENIZE_PARSE_SPECIAL))
      return fail(loci::invalid_argument("loci_tokenize: unknown flags " + std::to_string(flags)));
    std::vector<int32_t> ids;
    LOCI_RETURN_C_IF_ERROR(model->model->tokenizer().encode(std::string_view(text ? text : "", text_length),
                                                            flags & LOCI_TOKENIZE_ADD_SPECIAL,
                                                            flags & LOCI_TOKENIZE_PARSE_SPECIAL, &ids));
    *out_count = ids.size();
    if (ids.size() > capacity || (!tokens && !ids.empty()))
      return fail(Status(StatusCode::kBufferTooSmall, "loci_tokenize: needs " + std::to_string(ids.size()) +
                                                          " tokens, capacity is " + std::to_string(capacity)));
    std::copy(ids.begin(), ids.end(), tokens);
    return LOCI_OK;
  });
}

loci_status loci_detokenize(const loci_model* model, const int32_t* tokens, size_t count, uint32_t flags, char* text,
                            size_t capacity, size_t* out_length) {
  return guarded("loci_detokenize", [&] {
    if (!model) return fail(null_argument("model"));
    if (!tokens && count) return fail(null_argument("tokens"));
    if (flags & ~LOCI_DETOKENIZE_SPECIAL)
      return fail(loci::invalid_argument("loci_detokenize: unknown flags " + std::to_string(flags)));
    std::string out;
    LOCI_RETURN_C_IF_ERROR(model->model->tokenizer().decode(tokens, count, flags & LOCI_DETOKENIZE_SPECIAL, &out));
    return copy_text(out, text, capacity, out_length, "loci_detokenize");
  });
}

loci_status loci_token_piece(const loci_model* model, int32_t token, uint32_t flags, char* text, size_t capacity,
                             size_t* out_length) {
  return guarded("loci_token_piece", [&] {
    if (!model) return fail(null_argument("model"));
    if (flags & ~LOCI_DETOKENIZE_SPECIAL)
      return fail(loci::invalid_argument("loci_token_piece: unknown flags " + std::to_string(flags)));
    auto piece = model->model->tokenizer().piece(token, flags & LOCI_DETOKENIZE_SPECIAL);
    if (!piece) return fail(piece.status());
    return copy_text(*piece, text, capacity, out_length, "loci_token_piece");
  });
}

int32_t loci_token_is_eog(const loci_model* model, int32_t token) {
  return model && model->model->tokenizer().is_eog(token) ? 1 : 0;
}

loci_status loci_estimate_memory(const char* path, const loci_session_params* params,
                                 loci_memory_estimate* out_estimate) {
  return guarded("loci_estimate_memory", [&] {
    if (!path) return fail(null_argument("path"));
    loci_session_params p;
    loci_session_params_init(&p);
    LOCI_RETURN_C_IF_ERROR(read_params(params, &p, "loci_session_params"));
    auto file = loci::GgufFile::open(path);
    if (!file) return fail(file.status());
    auto options = session_options(p);
    if (!options) return fail(options.status());
    auto m = loci::estimate_memory(**file, *options);
    if (!m) return fail(m.status());
    return to_c(write_result(to_c(*m), out_estimate, "loci_memory_estimate"));
  });
}

loci_status loci_model_estimate_memory(const loci_model* model, const loci_session_params* params,
                                       loci_memory_estimate* out_estimate) {
  return guarded("loci_model_estimate_memory", [&] {
    if (!model) return fail(null_argument("model"));
    loci_session_params p;
    loci_session_params_init(&p);
    LOCI_RETURN_C_IF_ERROR(read_params(params, &p, "loci_session_params"));
    auto options = session_options(p);
    if (!options) return fail(options.status());
    auto m = model->model->estimate(*options);
    if (!m) return fail(m.status());
    return to_c(write_result(to_c(*m), out_estimate, "loci_memory_estimate"));
  });
}

}  // extern "C"
