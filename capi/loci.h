/* loci: the stable C ABI (C99). Everything here starts with loci_ or LOCI_.
 *
 * The ABI only grows: published functions, values and struct prefixes never
 * change; a replaced function gets a _v2 name and the old one stays.
 *
 * Conventions
 * - Every fallible call returns a loci_status (LOCI_OK is 0). On failure,
 *   loci_last_error() gives this thread's message with detail, and
 *   out-parameters are left untouched. The one exception is
 *   LOCI_ERR_BUFFER_TOO_SMALL, which still reports the size needed.
 * - Parameter structs start with uint32_t struct_size. Fill one with its
 *   _init function, then change fields. The library reads only the bytes
 *   struct_size covers and defaults the rest, so a program built against an
 *   older header keeps working. Bytes beyond what this library knows (a newer
 *   header) must be zero, i.e. their defaults; otherwise the call fails with
 *   LOCI_ERR_ABI_MISMATCH rather than ignore a setting. Result structs work
 *   the same way: the library writes only what struct_size covers.
 * - Handles are opaque and come back through out-parameters. Every
 *   create/load has a _free that accepts NULL.
 * - Caller buffers are (pointer, capacity), and the call reports the size it
 *   needs.
 * - No exception, abort or write to stdout/stderr ever comes out of a call;
 *   messages go to the log callback, if one is set.
 *
 * Threads
 * - A loci_model is immutable once loaded: any number of threads may use it,
 *   and create sessions and samplers from it, at the same time.
 * - A loci_session or loci_sampler belongs to one thread at a time. The
 *   exceptions are loci_session_cancel(), which any thread may call at any
 *   time, and the read-only getters.
 * - The process-wide settings (allocator, log callback, ISA cap) are meant
 *   to be set once at start-up.
 *
 * Networking: the library contains none. Its tests fail if a built library
 * references any socket, DNS, HTTP or TLS symbol.
 */
#ifndef LOCI_H_
#define LOCI_H_

#include <stddef.h>
#include <stdint.h>

#if defined(_WIN32)
#define LOCI_API __declspec(dllexport)
#else
#define LOCI_API __attribute__((visibility("default")))
#endif

#ifdef __cplusplus
extern "C" {
#endif

/* ---- Versions ---------------------------------------------------------- */

#define LOCI_VERSION_MAJOR 0
#define LOCI_VERSION_MINOR 1
#define LOCI_VERSION_PATCH 0
#define LOCI_VERSION_NUMBER (LOCI_VERSION_MAJOR * 10000 + LOCI_VERSION_MINOR * 100 + LOCI_VERSION_PATCH)
/* Bumped only when the ABI breaks; the shared library's SONAME follows it. */
#define LOCI_ABI_VERSION 0

/* The library's version as LOCI_VERSION_NUMBER computes it, and its ABI
 * version. Bindings compare these with the header they were built against. */
LOCI_API int32_t loci_version_number(void);
LOCI_API int32_t loci_abi_version(void);
/* "0.1.0": static, never NULL. */
LOCI_API const char* loci_version_string(void);

/* ---- Status codes ------------------------------------------------------ */

/* Values never change once published. Bands: 1xx the caller's arguments,
 * 2xx resources and interruptions, 3xx the model file, 4xx the ABI,
 * 9xx loci itself. */
typedef int32_t loci_status;
#define LOCI_OK 0
#define LOCI_ERR_INVALID_ARGUMENT 100 /* a NULL handle, a bad value or flag */
#define LOCI_ERR_OUT_OF_RANGE 101     /* a token id outside the vocabulary, a prompt longer than the context */
#define LOCI_ERR_UNSUPPORTED 102      /* valid, but not implemented (an architecture, a GGUF version) */
#define LOCI_ERR_BUFFER_TOO_SMALL 103 /* the caller's buffer is too small; the size needed is reported */
#define LOCI_ERR_NOT_FOUND 104        /* no metadata key of that name */
#define LOCI_ERR_OUT_OF_MEMORY 200    /* an allocation failed, or a session exceeds its memory budget */
#define LOCI_ERR_IO 201               /* a file could not be opened, read or mapped */
#define LOCI_ERR_CANCELLED 202        /* loci_session_cancel() or the cancel callback stopped the call */
#define LOCI_ERR_DEADLINE_EXCEEDED 203 /* the session's timeout ran out during the call */
#define LOCI_ERR_INVALID_MODEL 300    /* the model file is malformed or inconsistent */
#define LOCI_ERR_ABI_MISMATCH 400     /* a struct_size this library cannot honour */
#define LOCI_ERR_INTERNAL 900         /* a loci bug */

/* A static, never-NULL name for a status ("ok", "invalid_argument", ...;
 * "unknown" for values this library does not know). */
LOCI_API const char* loci_status_string(loci_status status);
/* This thread's message for its most recent failed call ("" if none):
 * "invalid_model: tensor 'blk.0.attn_q.weight' ...". Successful calls leave
 * it alone. Valid until this thread's next failing call. */
LOCI_API const char* loci_last_error(void);

/* ---- Logging ----------------------------------------------------------- */

typedef int32_t loci_log_level;
#define LOCI_LOG_ERROR 1
#define LOCI_LOG_WARN 2
#define LOCI_LOG_INFO 3
#define LOCI_LOG_DEBUG 4

/* Receives one NUL-terminated line (no trailing newline). May be called from
 * any thread that is inside a loci call. */
typedef void (*loci_log_callback)(void* user, loci_log_level level, const char* message);
/* Sends messages at `max_level` and more severe to `callback`; NULL (the
 * default) discards them all. */
LOCI_API void loci_set_log_callback(loci_log_callback callback, void* user, loci_log_level max_level);

/* ---- Allocation -------------------------------------------------------- */

/* A caller-supplied allocator, for firmware that places memory itself. It
 * receives each session's arena (the KV cache and all activations, allocated
 * once at creation), each sampler's vocabulary-sized arrays, tensors and
 * in-memory file copies, and the handles returned by this API. The model's
 * tables (tokenizer, tensor list: model_heap in loci_memory_estimate), the
 * stop strings of a loci_generate call and error messages use the C++ heap. */
typedef struct loci_allocator {
  uint32_t struct_size;
  uint32_t reserved; /* 0 */
  void* user;
  /* `alignment` is a power of two up to 4096; return NULL on failure. */
  void* (*alloc)(void* user, size_t size, size_t alignment);
  /* Receives what alloc returned, with the same size. */
  void (*free)(void* user, void* ptr, size_t size);
} loci_allocator;

LOCI_API void loci_allocator_init(loci_allocator* allocator);
/* Installs `allocator` (copied), or the default (aligned malloc) for NULL.
 * Refused with LOCI_ERR_INVALID_ARGUMENT while any block from the current
 * allocator is still live, or if alloc or free is NULL. */
LOCI_API loci_status loci_set_allocator(const loci_allocator* allocator);

/* ---- Instruction sets -------------------------------------------------- */

typedef int32_t loci_isa;
#define LOCI_ISA_REF 0
#define LOCI_ISA_AVX2 1
#define LOCI_ISA_AVX512 2
#define LOCI_ISA_AVX512VNNI 3
#define LOCI_ISA_NEON 10
#define LOCI_ISA_DOTPROD 11
#define LOCI_ISA_I8MM 12

/* The best ISA level this CPU supports, the current cap on kernel choice, and
 * the level kernels run at (the host level, lowered to the cap). */
LOCI_API loci_isa loci_isa_host(void);
LOCI_API loci_isa loci_isa_cap(void);
LOCI_API loci_isa loci_isa_active(void);
/* Caps kernel selection (as the LOCI_ISA environment variable does). Kernels
 * are chosen again at once for every session: set it before any runs. */
LOCI_API loci_status loci_set_isa_cap(loci_isa cap);
/* A static, never-NULL name of an ISA level ("ref", "avx2", ...; "unknown"). */
LOCI_API const char* loci_isa_name(loci_isa isa);

/* ---- Models ------------------------------------------------------------ */

typedef struct loci_model loci_model;

typedef struct loci_model_params {
  uint32_t struct_size;
  uint32_t flags; /* reserved: 0 */
} loci_model_params;

LOCI_API void loci_model_params_init(loci_model_params* params);

/* Maps and validates a GGUF file (llama and qwen2 architectures). `params`
 * may be NULL for the defaults. Every size and offset in the file is checked;
 * a bad file is LOCI_ERR_INVALID_MODEL or LOCI_ERR_UNSUPPORTED with a message
 * naming the field.
 * The file stays mapped (one descriptor open) while the model lives. Deleting
 * it is safe, and so is replacing it by renaming a new file over it. An eval
 * after the file was truncated or rewritten in place is LOCI_ERR_IO; a
 * truncation during an eval cannot be caught and raises SIGBUS. */
LOCI_API loci_status loci_model_load(const char* path, const loci_model_params* params, loci_model** out_model);

/* Kernels may read up to this many bytes past the end of the model data. */
#define LOCI_BUFFER_PADDING 64
/* Loads a GGUF image from caller memory (firmware without a filesystem),
 * in place: nothing is copied. The buffer must hold `size` bytes of the file
 * followed by LOCI_BUFFER_PADDING readable bytes, be aligned to the file's
 * alignment (general.alignment, 32 unless the file says otherwise), and stay
 * valid and unchanged until the model is freed. */
LOCI_API loci_status loci_model_load_from_buffer(const void* data, size_t size, const loci_model_params* params,
                                                 loci_model** out_model);
/* Sessions keep what they need of the model alive, so it may be freed before
 * them (a buffer passed to loci_model_load_from_buffer must outlive both). */
LOCI_API void loci_model_free(loci_model* model);

typedef struct loci_model_info {
  uint32_t struct_size;
  int32_t n_vocab;
  int32_t n_ctx_train; /* context length the model was trained with */
  int32_t n_embd;
  int32_t n_layer;
  int32_t n_head;
  int32_t n_head_kv;
  int32_t n_ff;
  int32_t bos; /* token ids; -1 when the vocabulary has none */
  int32_t eos;
  int32_t eot;
  int32_t add_bos; /* 1 if LOCI_TOKENIZE_ADD_SPECIAL adds a BOS */
  uint64_t n_params;
  uint64_t file_size;
  const char* architecture; /* "llama", "qwen2": static */
  const char* name;         /* general.name, or "": valid while the model lives */
} loci_model_info;

LOCI_API void loci_model_info_init(loci_model_info* info);
LOCI_API loci_status loci_model_get_info(const loci_model* model, loci_model_info* info);

/* Metadata (the GGUF key/value pairs), by index or by key. */
LOCI_API size_t loci_model_meta_count(const loci_model* model);
/* The key at `index`: valid while the model lives. */
LOCI_API loci_status loci_model_meta_key(const loci_model* model, size_t index, const char** out_key);
/* GGUF value types: */
#define LOCI_META_UINT8 0
#define LOCI_META_INT8 1
#define LOCI_META_UINT16 2
#define LOCI_META_INT16 3
#define LOCI_META_UINT32 4
#define LOCI_META_INT32 5
#define LOCI_META_FLOAT32 6
#define LOCI_META_BOOL 7
#define LOCI_META_STRING 8
#define LOCI_META_ARRAY 9
#define LOCI_META_UINT64 10
#define LOCI_META_INT64 11
#define LOCI_META_FLOAT64 12
/* The value's type; for LOCI_META_ARRAY also its element type and length
 * (either pointer may be NULL). LOCI_ERR_NOT_FOUND for an absent key. */
LOCI_API loci_status loci_model_meta_type(const loci_model* model, const char* key, int32_t* out_type,
                                          int32_t* out_element_type, uint64_t* out_length);
/* An integer or bool value (an integer type, or bool as 0/1). A value of
 * another type, or a uint64 above INT64_MAX, is LOCI_ERR_INVALID_ARGUMENT. */
LOCI_API loci_status loci_model_meta_int(const loci_model* model, const char* key, int64_t* out_value);
/* A float or integer value, as a double. */
LOCI_API loci_status loci_model_meta_float(const loci_model* model, const char* key, double* out_value);
/* A string value, copied with a terminating NUL. *out_length receives its
 * length in bytes without the NUL; `capacity` must exceed it. */
LOCI_API loci_status loci_model_meta_string(const loci_model* model, const char* key, char* buffer, size_t capacity,
                                            size_t* out_length);

/* ---- Tokens ------------------------------------------------------------ */

/* Add BOS/EOS as the model's vocabulary asks (loci_model_info.add_bos). */
#define LOCI_TOKENIZE_ADD_SPECIAL 1u
/* Turn control-token text such as "<|im_end|>" into its token. */
#define LOCI_TOKENIZE_PARSE_SPECIAL 2u
/* Show control tokens' text instead of nothing (detokenize, token piece). */
#define LOCI_DETOKENIZE_SPECIAL 1u

/* Encodes `text_length` bytes of `text` into `tokens`. *out_count receives
 * the number of tokens; if it exceeds `capacity` the call fails with
 * LOCI_ERR_BUFFER_TOO_SMALL and `tokens` is untouched. */
LOCI_API loci_status loci_tokenize(const loci_model* model, const char* text, size_t text_length, uint32_t flags,
                                   int32_t* tokens, size_t capacity, size_t* out_count);
/* Decodes tokens into `text` with a terminating NUL; *out_length receives the
 * length without the NUL (`capacity` must exceed it). Decoding what
 * loci_tokenize gave returns the original text. */
LOCI_API loci_status loci_detokenize(const loci_model* model, const int32_t* tokens, size_t count, uint32_t flags,
                                     char* text, size_t capacity, size_t* out_length);
/* One token's text as generation shows it (an SPM word start keeps its space),
 * with the same buffer rules as loci_detokenize. */
LOCI_API loci_status loci_token_piece(const loci_model* model, int32_t token, uint32_t flags, char* text,
                                      size_t capacity, size_t* out_length);
/* 1 if the token ends generation (EOS, EOT, "<|im_end|>", ...), else 0. */
LOCI_API int32_t loci_token_is_eog(const loci_model* model, int32_t token);

/* ---- Sessions ---------------------------------------------------------- */

typedef struct loci_session loci_session;

/* Return nonzero to stop the call in progress (LOCI_ERR_CANCELLED). */
typedef int32_t (*loci_cancel_callback)(void* user);

/* KV cache element types. */
#define LOCI_KV_F32 0
#define LOCI_KV_F16 1

typedef struct loci_session_params {
  uint32_t struct_size;
  uint32_t n_ctx;      /* context length; 0: the model's, at most 4096 */
  uint32_t n_batch;    /* most tokens per forward pass; 0: 64 */
  uint32_t n_threads;  /* 0: one per core */
  int32_t kv_type;     /* LOCI_KV_F16 (default) or LOCI_KV_F32 */
  uint32_t timeout_ms; /* 0: none. Each eval or generate call that runs longer
                          (time in callbacks included) stops with
                          LOCI_ERR_DEADLINE_EXCEEDED */
  /* 0: none. The most bytes the session's arena may take (KV cache plus
   * activations, as loci_memory_estimate reports them); creation is refused,
   * before allocating, above it. The allocator also sees a block header of
   * at most 4 KiB and the handle. */
  uint64_t memory_budget;
  /* Polled during prefill and decode, between layers. */
  loci_cancel_callback cancel;
  void* cancel_user;
} loci_session_params;

LOCI_API void loci_session_params_init(loci_session_params* params);

typedef struct loci_memory_estimate {
  uint32_t struct_size;
  uint32_t reserved;
  uint64_t weights_mapped; /* tensor data, mapped from the file (paged in on use) */
  uint64_t model_heap;     /* tokenizer tables and tensor bookkeeping */
  uint64_t kv_cache;
  uint64_t scratch; /* activations, logits, matmul workspace */
  uint64_t total;
} loci_memory_estimate;

LOCI_API void loci_memory_estimate_init(loci_memory_estimate* estimate);
/* What loading `path` and one session with `params` (NULL: defaults) will
 * use, computed with the file only mapped and validated. */
LOCI_API loci_status loci_estimate_memory(const char* path, const loci_session_params* params,
                                          loci_memory_estimate* out_estimate);
LOCI_API loci_status loci_model_estimate_memory(const loci_model* model, const loci_session_params* params,
                                                loci_memory_estimate* out_estimate);

/* Allocates everything the session will need; evaluating tokens afterwards
 * allocates nothing. Several sessions may share one model. */
LOCI_API loci_status loci_session_create(const loci_model* model, const loci_session_params* params,
                                         loci_session** out_session);
LOCI_API void loci_session_free(loci_session* session);

/* Appends tokens at the current position and evaluates them (prefill, or a
 * one-token decode step). On any failure, cancellation included, the
 * position is unchanged and there are no logits (except after
 * LOCI_ERR_BUFFER_TOO_SMALL from loci_session_eval_all, which is refused
 * before anything is touched). */
LOCI_API loci_status loci_session_eval(loci_session* session, const int32_t* tokens, size_t count);
/* As loci_session_eval, and writes each token's n_vocab logits to
 * `logits` (count rows of n_vocab floats; `capacity` counts floats). */
LOCI_API loci_status loci_session_eval_all(loci_session* session, const int32_t* tokens, size_t count,
                                           float* logits, size_t capacity);
/* The last evaluated token's n_vocab logits, or NULL (before any eval, after
 * a failed one, a reset, or a truncate that dropped tokens). Valid until the
 * session's next call. */
LOCI_API const float* loci_session_logits(const loci_session* session);
LOCI_API int32_t loci_session_n_vocab(const loci_session* session);
LOCI_API size_t loci_session_n_ctx(const loci_session* session);
/* Tokens in the cache. */
LOCI_API size_t loci_session_position(const loci_session* session);
LOCI_API loci_status loci_session_memory(const loci_session* session, loci_memory_estimate* out_estimate);

/* Empties the cache. */
LOCI_API void loci_session_reset(loci_session* session);
/* Keeps the first `position` tokens. */
LOCI_API loci_status loci_session_truncate(loci_session* session, size_t position);

/* Thread-safe. Stops the call running on this session within half a layer's
 * work on one n_batch chunk (a smaller n_batch tightens it), with
 * LOCI_ERR_CANCELLED. A request that arrives while no call runs
 * stops the next call at its first check; one that arrives during a call
 * never outlives it, even if it came too late to stop it. */
LOCI_API void loci_session_cancel(loci_session* session);
/* Changes the per-call timeout (0: none). */
LOCI_API loci_status loci_session_set_timeout(loci_session* session, uint32_t timeout_ms);

/* ---- Sampling ---------------------------------------------------------- */

/* penalties -> top_k -> top_p -> min_p -> temperature -> a seeded draw, as in
 * llama.cpp's default chain. The same seed gives the same tokens on every
 * platform. */
typedef struct loci_sampler loci_sampler;

typedef struct loci_sampler_params {
  uint32_t struct_size;
  float temperature;       /* <= 0: greedy. Default 0.8 */
  int32_t top_k;           /* <= 0: off. Default 40 */
  float top_p;             /* (0, 1]; 1: off. Default 0.95 */
  float min_p;             /* [0, 1]; 0: off. Default 0.05 */
  float repeat_penalty;    /* > 0; 1 (default): off */
  int32_t repeat_last_n;   /* history the penalties see; 0: off. Default 64 */
  float frequency_penalty; /* 0 (default): off */
  float presence_penalty;  /* 0 (default): off */
  uint32_t reserved;       /* 0 */
  uint64_t seed;
} loci_sampler_params;

LOCI_API void loci_sampler_params_init(loci_sampler_params* params);
/* A sampler for `model`'s vocabulary; allocates all it needs. Out-of-range
 * values (NaN, top_p 0, ...) are LOCI_ERR_INVALID_ARGUMENT. */
LOCI_API loci_status loci_sampler_create(const loci_model* model, const loci_sampler_params* params,
                                         loci_sampler** out_sampler);
LOCI_API void loci_sampler_free(loci_sampler* sampler);
/* Picks a token from `count` (= n_vocab) logits. Does not record it. */
LOCI_API loci_status loci_sampler_sample(loci_sampler* sampler, const float* logits, size_t count,
                                         int32_t* out_token);
/* Adds a token to the repeat-penalty history. */
LOCI_API loci_status loci_sampler_accept(loci_sampler* sampler, int32_t token);
/* Clears the history and restarts the random draw from the seed. */
LOCI_API void loci_sampler_reset(loci_sampler* sampler);

/* ---- Generation -------------------------------------------------------- */

/* Receives `length` (> 0) bytes of generated text: whole UTF-8 characters,
 * never part of a stop string. Return 0 to go on, nonzero to stop. */
typedef int32_t (*loci_text_callback)(void* user, const char* text, size_t length);

typedef struct loci_generate_params {
  uint32_t struct_size;
  int32_t max_tokens;       /* < 0 (default): until something else stops it */
  const char* const* stop;  /* stop strings (NUL-terminated, non-empty): text ends right before the first */
  size_t n_stop;
  int32_t stop_at_eog;      /* 1 (default): an end-of-generation token stops */
  int32_t special;          /* 1: show control tokens' text. Default 0 */
  int32_t strip_leading_space; /* 1: drop SPM's word-start space from the first piece (empty prompts) */
  int32_t penalize_prompt;  /* 1 (default): prompt tokens count in the repeat penalties */
} loci_generate_params;

typedef int32_t loci_stop_reason;
#define LOCI_STOP_EOG 1         /* the model produced an end-of-generation token */
#define LOCI_STOP_MAX_TOKENS 2
#define LOCI_STOP_STRING 3      /* a stop string appeared (stop_index says which) */
#define LOCI_STOP_CONTEXT_FULL 4
#define LOCI_STOP_CALLBACK 5    /* the text callback returned nonzero */

typedef struct loci_generate_result {
  uint32_t struct_size;
  loci_stop_reason stop_reason;
  int32_t stop_index;  /* for LOCI_STOP_STRING, else -1 */
  int32_t last_token;  /* sampled but not evaluated: eval it to continue */
  uint64_t prompt_tokens;
  uint64_t generated_tokens;
  double prefill_seconds;
  double decode_seconds;
} loci_generate_result;

LOCI_API void loci_generate_params_init(loci_generate_params* params);
LOCI_API void loci_generate_result_init(loci_generate_result* result);
/* Evaluates `prompt` (count may be 0 when the session already has logits),
 * then samples, streams and evaluates tokens until a stop reason applies.
 * Stopping for a loci_stop_reason is LOCI_OK. Cancellation and the timeout
 * return LOCI_ERR_CANCELLED / LOCI_ERR_DEADLINE_EXCEEDED, after the text
 * already streamed. The sampler keeps its history across calls. Allocates
 * once per call (for the stop strings), never per token. `result` may be
 * NULL. */
LOCI_API loci_status loci_generate(loci_session* session, loci_sampler* sampler, const int32_t* prompt, size_t count,
                                   const loci_generate_params* params, loci_text_callback on_text, void* user,
                                   loci_generate_result* result);

#ifdef __cplusplus
}
#endif

#endif /* LOCI_H_ */
