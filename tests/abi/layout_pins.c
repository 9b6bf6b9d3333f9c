/* Pins everything loci.h has published, so an accidental change fails the
 * build: struct sizes, alignments, field offsets and types, every function's
 * exact signature, callback types and #define values. x86-64 and aarch64
 * (LP64) lay these out the same way.
 *
 * Changing a pin is an ABI decision: published values never change, structs
 * only grow at the end (add pins for new fields, change only the size pin),
 * and a replaced function gets a _v2 name. check_abi.py's `pins` mode fails
 * if something in loci.h is not pinned here. */
#include <stddef.h>
#include <stdint.h>

#include "loci.h"

#if !defined(__LP64__)
#error "these pins are for LP64 targets (x86-64, aarch64)"
#endif

#define LOCI_PIN_SIZE(T, size, align) \
  _Static_assert(sizeof(T) == (size) && _Alignof(T) == (align), #T ": size or alignment changed")
/* _Generic compares the member's type without evaluating anything. */
#define LOCI_PIN_FIELD(T, field, offset, type)                                          \
  _Static_assert(offsetof(T, field) == (offset) &&                                     \
                     _Generic(((T*)0)->field, type: 1, default: 0),                    \
                 #T "." #field ": moved or changed type")
#define LOCI_PIN_TYPE(T, type) _Static_assert(_Generic((T)0, type: 1, default: 0), #T ": type changed")
/* A function's type: its return type and every parameter type. */
#define LOCI_PIN_FN(fn, ret, params) \
  _Static_assert(_Generic(&fn, ret(*) params: 1, default: 0), #fn ": signature changed")
#define LOCI_PIN_VALUE(name, value) _Static_assert((name) == (value), #name ": published value changed")

/* ---- Versions ---------------------------------------------------------- */

LOCI_PIN_VALUE(LOCI_ABI_VERSION, 0);
/* Release numbers move; their encoding does not. */
_Static_assert(LOCI_VERSION_MINOR < 100 && LOCI_VERSION_PATCH < 100, "version fields are two digits");
_Static_assert(LOCI_VERSION_NUMBER == LOCI_VERSION_MAJOR * 10000 + LOCI_VERSION_MINOR * 100 + LOCI_VERSION_PATCH,
               "LOCI_VERSION_NUMBER encoding changed");
LOCI_PIN_FN(loci_version_number, int32_t, (void));
LOCI_PIN_FN(loci_abi_version, int32_t, (void));
LOCI_PIN_FN(loci_version_string, const char*, (void));

/* ---- Status codes ------------------------------------------------------ */

LOCI_PIN_TYPE(loci_status, int32_t);
LOCI_PIN_VALUE(LOCI_OK, 0);
LOCI_PIN_VALUE(LOCI_ERR_INVALID_ARGUMENT, 100);
LOCI_PIN_VALUE(LOCI_ERR_OUT_OF_RANGE, 101);
LOCI_PIN_VALUE(LOCI_ERR_UNSUPPORTED, 102);
LOCI_PIN_VALUE(LOCI_ERR_BUFFER_TOO_SMALL, 103);
LOCI_PIN_VALUE(LOCI_ERR_NOT_FOUND, 104);
LOCI_PIN_VALUE(LOCI_ERR_OUT_OF_MEMORY, 200);
LOCI_PIN_VALUE(LOCI_ERR_IO, 201);
LOCI_PIN_VALUE(LOCI_ERR_CANCELLED, 202);
LOCI_PIN_VALUE(LOCI_ERR_DEADLINE_EXCEEDED, 203);
LOCI_PIN_VALUE(LOCI_ERR_INVALID_MODEL, 300);
LOCI_PIN_VALUE(LOCI_ERR_ABI_MISMATCH, 400);
LOCI_PIN_VALUE(LOCI_ERR_INTERNAL, 900);
LOCI_PIN_FN(loci_status_string, const char*, (loci_status));
LOCI_PIN_FN(loci_last_error, const char*, (void));

/* ---- Logging ----------------------------------------------------------- */

LOCI_PIN_TYPE(loci_log_level, int32_t);
LOCI_PIN_VALUE(LOCI_LOG_ERROR, 1);
LOCI_PIN_VALUE(LOCI_LOG_WARN, 2);
LOCI_PIN_VALUE(LOCI_LOG_INFO, 3);
LOCI_PIN_VALUE(LOCI_LOG_DEBUG, 4);
LOCI_PIN_TYPE(loci_log_callback, void (*)(void*, loci_log_level, const char*));
LOCI_PIN_FN(loci_set_log_callback, void, (loci_log_callback, void*, loci_log_level));

/* ---- Allocation -------------------------------------------------------- */

LOCI_PIN_SIZE(loci_allocator, 32, 8);
LOCI_PIN_FIELD(loci_allocator, struct_size, 0, uint32_t);
LOCI_PIN_FIELD(loci_allocator, reserved, 4, uint32_t);
LOCI_PIN_FIELD(loci_allocator, user, 8, void*);
LOCI_PIN_FIELD(loci_allocator, alloc, 16, void* (*)(void*, size_t, size_t));
LOCI_PIN_FIELD(loci_allocator, free, 24, void (*)(void*, void*, size_t));
LOCI_PIN_FN(loci_allocator_init, void, (loci_allocator*));
LOCI_PIN_FN(loci_set_allocator, loci_status, (const loci_allocator*));

/* ---- Instruction sets -------------------------------------------------- */

LOCI_PIN_TYPE(loci_isa, int32_t);
LOCI_PIN_VALUE(LOCI_ISA_REF, 0);
LOCI_PIN_VALUE(LOCI_ISA_AVX2, 1);
LOCI_PIN_VALUE(LOCI_ISA_AVX512, 2);
LOCI_PIN_VALUE(LOCI_ISA_AVX512VNNI, 3);
LOCI_PIN_VALUE(LOCI_ISA_NEON, 10);
LOCI_PIN_VALUE(LOCI_ISA_DOTPROD, 11);
LOCI_PIN_VALUE(LOCI_ISA_I8MM, 12);
LOCI_PIN_FN(loci_isa_host, loci_isa, (void));
LOCI_PIN_FN(loci_isa_cap, loci_isa, (void));
LOCI_PIN_FN(loci_isa_active, loci_isa, (void));
LOCI_PIN_FN(loci_set_isa_cap, loci_status, (loci_isa));
LOCI_PIN_FN(loci_isa_name, const char*, (loci_isa));

/* ---- Models ------------------------------------------------------------ */

LOCI_PIN_SIZE(loci_model_params, 8, 4);
LOCI_PIN_FIELD(loci_model_params, struct_size, 0, uint32_t);
LOCI_PIN_FIELD(loci_model_params, flags, 4, uint32_t);
LOCI_PIN_FN(loci_model_params_init, void, (loci_model_params*));
LOCI_PIN_FN(loci_model_load, loci_status, (const char*, const loci_model_params*, loci_model**));
LOCI_PIN_VALUE(LOCI_BUFFER_PADDING, 64);
LOCI_PIN_FN(loci_model_load_from_buffer, loci_status,
            (const void*, size_t, const loci_model_params*, loci_model**));
LOCI_PIN_FN(loci_model_free, void, (loci_model*));

LOCI_PIN_SIZE(loci_model_info, 80, 8);
LOCI_PIN_FIELD(loci_model_info, struct_size, 0, uint32_t);
LOCI_PIN_FIELD(loci_model_info, n_vocab, 4, int32_t);
LOCI_PIN_FIELD(loci_model_info, n_ctx_train, 8, int32_t);
LOCI_PIN_FIELD(loci_model_info, n_embd, 12, int32_t);
LOCI_PIN_FIELD(loci_model_info, n_layer, 16, int32_t);
LOCI_PIN_FIELD(loci_model_info, n_head, 20, int32_t);
LOCI_PIN_FIELD(loci_model_info, n_head_kv, 24, int32_t);
LOCI_PIN_FIELD(loci_model_info, n_ff, 28, int32_t);
LOCI_PIN_FIELD(loci_model_info, bos, 32, int32_t);
LOCI_PIN_FIELD(loci_model_info, eos, 36, int32_t);
LOCI_PIN_FIELD(loci_model_info, eot, 40, int32_t);
LOCI_PIN_FIELD(loci_model_info, add_bos, 44, int32_t);
LOCI_PIN_FIELD(loci_model_info, n_params, 48, uint64_t);
LOCI_PIN_FIELD(loci_model_info, file_size, 56, uint64_t);
LOCI_PIN_FIELD(loci_model_info, architecture, 64, const char*);
LOCI_PIN_FIELD(loci_model_info, name, 72, const char*);
LOCI_PIN_FN(loci_model_info_init, void, (loci_model_info*));
LOCI_PIN_FN(loci_model_get_info, loci_status, (const loci_model*, loci_model_info*));

LOCI_PIN_FN(loci_model_meta_count, size_t, (const loci_model*));
LOCI_PIN_FN(loci_model_meta_key, loci_status, (const loci_model*, size_t, const char**));
LOCI_PIN_VALUE(LOCI_META_UINT8, 0);
LOCI_PIN_VALUE(LOCI_META_INT8, 1);
LOCI_PIN_VALUE(LOCI_META_UINT16, 2);
LOCI_PIN_VALUE(LOCI_META_INT16, 3);
LOCI_PIN_VALUE(LOCI_META_UINT32, 4);
LOCI_PIN_VALUE(LOCI_META_INT32, 5);
LOCI_PIN_VALUE(LOCI_META_FLOAT32, 6);
LOCI_PIN_VALUE(LOCI_META_BOOL, 7);
LOCI_PIN_VALUE(LOCI_META_STRING, 8);
LOCI_PIN_VALUE(LOCI_META_ARRAY, 9);
LOCI_PIN_VALUE(LOCI_META_UINT64, 10);
LOCI_PIN_VALUE(LOCI_META_INT64, 11);
LOCI_PIN_VALUE(LOCI_META_FLOAT64, 12);
LOCI_PIN_FN(loci_model_meta_type, loci_status, (const loci_model*, const char*, int32_t*, int32_t*, uint64_t*));
LOCI_PIN_FN(loci_model_meta_int, loci_status, (const loci_model*, const char*, int64_t*));
LOCI_PIN_FN(loci_model_meta_float, loci_status, (const loci_model*, const char*, double*));
LOCI_PIN_FN(loci_model_meta_string, loci_status, (const loci_model*, const char*, char*, size_t, size_t*));

/* ---- Tokens ------------------------------------------------------------ */

LOCI_PIN_VALUE(LOCI_TOKENIZE_ADD_SPECIAL, 1u);
LOCI_PIN_VALUE(LOCI_TOKENIZE_PARSE_SPECIAL, 2u);
LOCI_PIN_VALUE(LOCI_DETOKENIZE_SPECIAL, 1u);
LOCI_PIN_FN(loci_tokenize, loci_status, (const loci_model*, const char*, size_t, uint32_t, int32_t*, size_t, size_t*));
LOCI_PIN_FN(loci_detokenize, loci_status,
            (const loci_model*, const int32_t*, size_t, uint32_t, char*, size_t, size_t*));
LOCI_PIN_FN(loci_token_piece, loci_status, (const loci_model*, int32_t, uint32_t, char*, size_t, size_t*));
LOCI_PIN_FN(loci_token_is_eog, int32_t, (const loci_model*, int32_t));

/* ---- Sessions ---------------------------------------------------------- */

LOCI_PIN_TYPE(loci_cancel_callback, int32_t (*)(void*));
LOCI_PIN_VALUE(LOCI_KV_F32, 0);
LOCI_PIN_VALUE(LOCI_KV_F16, 1);

LOCI_PIN_SIZE(loci_session_params, 48, 8);
LOCI_PIN_FIELD(loci_session_params, struct_size, 0, uint32_t);
LOCI_PIN_FIELD(loci_session_params, n_ctx, 4, uint32_t);
LOCI_PIN_FIELD(loci_session_params, n_batch, 8, uint32_t);
LOCI_PIN_FIELD(loci_session_params, n_threads, 12, uint32_t);
LOCI_PIN_FIELD(loci_session_params, kv_type, 16, int32_t);
LOCI_PIN_FIELD(loci_session_params, timeout_ms, 20, uint32_t);
LOCI_PIN_FIELD(loci_session_params, memory_budget, 24, uint64_t);
LOCI_PIN_FIELD(loci_session_params, cancel, 32, loci_cancel_callback);
LOCI_PIN_FIELD(loci_session_params, cancel_user, 40, void*);
LOCI_PIN_FN(loci_session_params_init, void, (loci_session_params*));

LOCI_PIN_SIZE(loci_memory_estimate, 48, 8);
LOCI_PIN_FIELD(loci_memory_estimate, struct_size, 0, uint32_t);
LOCI_PIN_FIELD(loci_memory_estimate, reserved, 4, uint32_t);
LOCI_PIN_FIELD(loci_memory_estimate, weights_mapped, 8, uint64_t);
LOCI_PIN_FIELD(loci_memory_estimate, model_heap, 16, uint64_t);
LOCI_PIN_FIELD(loci_memory_estimate, kv_cache, 24, uint64_t);
LOCI_PIN_FIELD(loci_memory_estimate, scratch, 32, uint64_t);
LOCI_PIN_FIELD(loci_memory_estimate, total, 40, uint64_t);
LOCI_PIN_FN(loci_memory_estimate_init, void, (loci_memory_estimate*));
LOCI_PIN_FN(loci_estimate_memory, loci_status, (const char*, const loci_session_params*, loci_memory_estimate*));
LOCI_PIN_FN(loci_model_estimate_memory, loci_status,
            (const loci_model*, const loci_session_params*, loci_memory_estimate*));

LOCI_PIN_FN(loci_session_create, loci_status, (const loci_model*, const loci_session_params*, loci_session**));
LOCI_PIN_FN(loci_session_free, void, (loci_session*));
LOCI_PIN_FN(loci_session_eval, loci_status, (loci_session*, const int32_t*, size_t));
LOCI_PIN_FN(loci_session_eval_all, loci_status, (loci_session*, const int32_t*, size_t, float*, size_t));
LOCI_PIN_FN(loci_session_logits, const float*, (const loci_session*));
LOCI_PIN_FN(loci_session_n_vocab, int32_t, (const loci_session*));
LOCI_PIN_FN(loci_session_n_ctx, size_t, (const loci_session*));
LOCI_PIN_FN(loci_session_position, size_t, (const loci_session*));
LOCI_PIN_FN(loci_session_memory, loci_status, (const loci_session*, loci_memory_estimate*));
LOCI_PIN_FN(loci_session_reset, void, (loci_session*));
LOCI_PIN_FN(loci_session_truncate, loci_status, (loci_session*, size_t));
LOCI_PIN_FN(loci_session_cancel, void, (loci_session*));
LOCI_PIN_FN(loci_session_set_timeout, loci_status, (loci_session*, uint32_t));

/* ---- Sampling ---------------------------------------------------------- */

LOCI_PIN_SIZE(loci_sampler_params, 48, 8);
LOCI_PIN_FIELD(loci_sampler_params, struct_size, 0, uint32_t);
LOCI_PIN_FIELD(loci_sampler_params, temperature, 4, float);
LOCI_PIN_FIELD(loci_sampler_params, top_k, 8, int32_t);
LOCI_PIN_FIELD(loci_sampler_params, top_p, 12, float);
LOCI_PIN_FIELD(loci_sampler_params, min_p, 16, float);
LOCI_PIN_FIELD(loci_sampler_params, repeat_penalty, 20, float);
LOCI_PIN_FIELD(loci_sampler_params, repeat_last_n, 24, int32_t);
LOCI_PIN_FIELD(loci_sampler_params, frequency_penalty, 28, float);
LOCI_PIN_FIELD(loci_sampler_params, presence_penalty, 32, float);
LOCI_PIN_FIELD(loci_sampler_params, reserved, 36, uint32_t);
LOCI_PIN_FIELD(loci_sampler_params, seed, 40, uint64_t);
LOCI_PIN_FN(loci_sampler_params_init, void, (loci_sampler_params*));
LOCI_PIN_FN(loci_sampler_create, loci_status, (const loci_model*, const loci_sampler_params*, loci_sampler**));
LOCI_PIN_FN(loci_sampler_free, void, (loci_sampler*));
LOCI_PIN_FN(loci_sampler_sample, loci_status, (loci_sampler*, const float*, size_t, int32_t*));
LOCI_PIN_FN(loci_sampler_accept, loci_status, (loci_sampler*, int32_t));
LOCI_PIN_FN(loci_sampler_reset, void, (loci_sampler*));

/* ---- Generation -------------------------------------------------------- */

LOCI_PIN_TYPE(loci_text_callback, int32_t (*)(void*, const char*, size_t));

LOCI_PIN_SIZE(loci_generate_params, 40, 8);
LOCI_PIN_FIELD(loci_generate_params, struct_size, 0, uint32_t);
LOCI_PIN_FIELD(loci_generate_params, max_tokens, 4, int32_t);
LOCI_PIN_FIELD(loci_generate_params, stop, 8, const char* const*);
LOCI_PIN_FIELD(loci_generate_params, n_stop, 16, size_t);
LOCI_PIN_FIELD(loci_generate_params, stop_at_eog, 24, int32_t);
LOCI_PIN_FIELD(loci_generate_params, special, 28, int32_t);
LOCI_PIN_FIELD(loci_generate_params, strip_leading_space, 32, int32_t);
LOCI_PIN_FIELD(loci_generate_params, penalize_prompt, 36, int32_t);

LOCI_PIN_TYPE(loci_stop_reason, int32_t);
LOCI_PIN_VALUE(LOCI_STOP_EOG, 1);
LOCI_PIN_VALUE(LOCI_STOP_MAX_TOKENS, 2);
LOCI_PIN_VALUE(LOCI_STOP_STRING, 3);
LOCI_PIN_VALUE(LOCI_STOP_CONTEXT_FULL, 4);
LOCI_PIN_VALUE(LOCI_STOP_CALLBACK, 5);

LOCI_PIN_SIZE(loci_generate_result, 48, 8);
LOCI_PIN_FIELD(loci_generate_result, struct_size, 0, uint32_t);
LOCI_PIN_FIELD(loci_generate_result, stop_reason, 4, loci_stop_reason);
LOCI_PIN_FIELD(loci_generate_result, stop_index, 8, int32_t);
LOCI_PIN_FIELD(loci_generate_result, last_token, 12, int32_t);
LOCI_PIN_FIELD(loci_generate_result, prompt_tokens, 16, uint64_t);
LOCI_PIN_FIELD(loci_generate_result, generated_tokens, 24, uint64_t);
LOCI_PIN_FIELD(loci_generate_result, prefill_seconds, 32, double);
LOCI_PIN_FIELD(loci_generate_result, decode_seconds, 40, double);
LOCI_PIN_FN(loci_generate_params_init, void, (loci_generate_params*));
LOCI_PIN_FN(loci_generate_result_init, void, (loci_generate_result*));
LOCI_PIN_FN(loci_generate, loci_status,
            (loci_session*, loci_sampler*, const int32_t*, size_t, const loci_generate_params*, loci_text_callback,
             void*, loci_generate_result*));
