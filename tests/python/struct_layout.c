/* Prints what the C compiler makes of loci.h, for test_layout.py to compare
 * with the Python package's ctypes mirrors:
 *   struct <name> <sizeof>
 *   field <struct> <field> <offsetof> <sizeof>
 *   define <NAME> <value>
 */
#include <stddef.h>
#include <stdio.h>

#include "loci.h"

#define STRUCT(T) printf("struct %s %zu\n", #T, sizeof(T))
#define FIELD(T, f) printf("field %s %s %zu %zu\n", #T, #f, offsetof(T, f), sizeof(((T*)0)->f))
#define DEFINE(name) printf("define %s %lld\n", #name, (long long)(name))

static void structs(void) {
  STRUCT(loci_allocator);
  FIELD(loci_allocator, struct_size);
  FIELD(loci_allocator, reserved);
  FIELD(loci_allocator, user);
  FIELD(loci_allocator, alloc);
  FIELD(loci_allocator, free);

  STRUCT(loci_model_params);
  FIELD(loci_model_params, struct_size);
  FIELD(loci_model_params, flags);

  STRUCT(loci_model_info);
  FIELD(loci_model_info, struct_size);
  FIELD(loci_model_info, n_vocab);
  FIELD(loci_model_info, n_ctx_train);
  FIELD(loci_model_info, n_embd);
  FIELD(loci_model_info, n_layer);
  FIELD(loci_model_info, n_head);
  FIELD(loci_model_info, n_head_kv);
  FIELD(loci_model_info, n_ff);
  FIELD(loci_model_info, bos);
  FIELD(loci_model_info, eos);
  FIELD(loci_model_info, eot);
  FIELD(loci_model_info, add_bos);
  FIELD(loci_model_info, n_params);
  FIELD(loci_model_info, file_size);
  FIELD(loci_model_info, architecture);
  FIELD(loci_model_info, name);

  STRUCT(loci_session_params);
  FIELD(loci_session_params, struct_size);
  FIELD(loci_session_params, n_ctx);
  FIELD(loci_session_params, n_batch);
  FIELD(loci_session_params, n_threads);
  FIELD(loci_session_params, kv_type);
  FIELD(loci_session_params, timeout_ms);
  FIELD(loci_session_params, memory_budget);
  FIELD(loci_session_params, cancel);
  FIELD(loci_session_params, cancel_user);

  STRUCT(loci_memory_estimate);
  FIELD(loci_memory_estimate, struct_size);
  FIELD(loci_memory_estimate, reserved);
  FIELD(loci_memory_estimate, weights_mapped);
  FIELD(loci_memory_estimate, model_heap);
  FIELD(loci_memory_estimate, kv_cache);
  FIELD(loci_memory_estimate, scratch);
  FIELD(loci_memory_estimate, total);

  STRUCT(loci_sampler_params);
  FIELD(loci_sampler_params, struct_size);
  FIELD(loci_sampler_params, temperature);
  FIELD(loci_sampler_params, top_k);
  FIELD(loci_sampler_params, top_p);
  FIELD(loci_sampler_params, min_p);
  FIELD(loci_sampler_params, repeat_penalty);
  FIELD(loci_sampler_params, repeat_last_n);
  FIELD(loci_sampler_params, frequency_penalty);
  FIELD(loci_sampler_params, presence_penalty);
  FIELD(loci_sampler_params, reserved);
  FIELD(loci_sampler_params, seed);

  STRUCT(loci_generate_params);
  FIELD(loci_generate_params, struct_size);
  FIELD(loci_generate_params, max_tokens);
  FIELD(loci_generate_params, stop);
  FIELD(loci_generate_params, n_stop);
  FIELD(loci_generate_params, stop_at_eog);
  FIELD(loci_generate_params, special);
  FIELD(loci_generate_params, strip_leading_space);
  FIELD(loci_generate_params, penalize_prompt);

  STRUCT(loci_generate_result);
  FIELD(loci_generate_result, struct_size);
  FIELD(loci_generate_result, stop_reason);
  FIELD(loci_generate_result, stop_index);
  FIELD(loci_generate_result, last_token);
  FIELD(loci_generate_result, prompt_tokens);
  FIELD(loci_generate_result, generated_tokens);
  FIELD(loci_generate_result, prefill_seconds);
  FIELD(loci_generate_result, decode_seconds);
}

static void defines(void) {
  DEFINE(LOCI_VERSION_MAJOR);
  DEFINE(LOCI_VERSION_MINOR);
  DEFINE(LOCI_VERSION_PATCH);
  DEFINE(LOCI_VERSION_NUMBER);
  DEFINE(LOCI_ABI_VERSION);
  DEFINE(LOCI_OK);
  DEFINE(LOCI_ERR_INVALID_ARGUMENT);
  DEFINE(LOCI_ERR_OUT_OF_RANGE);
  DEFINE(LOCI_ERR_UNSUPPORTED);
  DEFINE(LOCI_ERR_BUFFER_TOO_SMALL);
  DEFINE(LOCI_ERR_NOT_FOUND);
  DEFINE(LOCI_ERR_OUT_OF_MEMORY);
  DEFINE(LOCI_ERR_IO);
  DEFINE(LOCI_ERR_CANCELLED);
  DEFINE(LOCI_ERR_DEADLINE_EXCEEDED);
  DEFINE(LOCI_ERR_INVALID_MODEL);
  DEFINE(LOCI_ERR_ABI_MISMATCH);
  DEFINE(LOCI_ERR_INTERNAL);
  DEFINE(LOCI_LOG_ERROR);
  DEFINE(LOCI_LOG_WARN);
  DEFINE(LOCI_LOG_INFO);
  DEFINE(LOCI_LOG_DEBUG);
  DEFINE(LOCI_ISA_REF);
  DEFINE(LOCI_ISA_AVX2);
  DEFINE(LOCI_ISA_AVX512);
  DEFINE(LOCI_ISA_AVX512VNNI);
  DEFINE(LOCI_ISA_NEON);
  DEFINE(LOCI_ISA_DOTPROD);
  DEFINE(LOCI_ISA_I8MM);
  DEFINE(LOCI_BUFFER_PADDING);
  DEFINE(LOCI_META_UINT8);
  DEFINE(LOCI_META_INT8);
  DEFINE(LOCI_META_UINT16);
  DEFINE(LOCI_META_INT16);
  DEFINE(LOCI_META_UINT32);
  DEFINE(LOCI_META_INT32);
  DEFINE(LOCI_META_FLOAT32);
  DEFINE(LOCI_META_BOOL);
  DEFINE(LOCI_META_STRING);
  DEFINE(LOCI_META_ARRAY);
  DEFINE(LOCI_META_UINT64);
  DEFINE(LOCI_META_INT64);
  DEFINE(LOCI_META_FLOAT64);
  DEFINE(LOCI_TOKENIZE_ADD_SPECIAL);
  DEFINE(LOCI_TOKENIZE_PARSE_SPECIAL);
  DEFINE(LOCI_DETOKENIZE_SPECIAL);
  DEFINE(LOCI_KV_F32);
  DEFINE(LOCI_KV_F16);
  DEFINE(LOCI_STOP_EOG);
  DEFINE(LOCI_STOP_MAX_TOKENS);
  DEFINE(LOCI_STOP_STRING);
  DEFINE(LOCI_STOP_CONTEXT_FULL);
  DEFINE(LOCI_STOP_CALLBACK);
}

int main(void) {
  structs();
  defines();
  return 0;
}
