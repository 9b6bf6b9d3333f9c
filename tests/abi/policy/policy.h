/* A tiny library shaped like loci.h (a struct_size params struct, an opaque
 * handle), for check_abi.py's self-test: each POLICY_* macro makes one kind
 * of change, and the abidiff policy must pass or fail it as check_abi.py's
 * SELFTEST_CASES says. */
#ifndef POLICY_H_
#define POLICY_H_

#include <stdint.h>

#define POLICY_API __attribute__((visibility("default")))

typedef struct policy_params {
  uint32_t struct_size;
#if defined(POLICY_REORDER) /* fields of different types trade places */
  float scale;
  int32_t count;
  int32_t limit;
#elif defined(POLICY_SWAP) /* fields of the same type trade places */
  int32_t limit;
  float scale;
  int32_t count;
#else
  int32_t count;
  float scale;
  int32_t limit;
#endif
#if defined(POLICY_APPEND)
  uint64_t extra;
#endif
} policy_params;

typedef struct policy_handle policy_handle;

#if defined(POLICY_HANDLE_PARAM) /* the handle parameter dropped */
POLICY_API int32_t policy_run(const policy_params* params);
#else
POLICY_API int32_t policy_run(policy_handle* handle, const policy_params* params);
#endif
#if defined(POLICY_PARAM)
POLICY_API int32_t policy_scale(int64_t value);
#else
POLICY_API int32_t policy_scale(int32_t value);
#endif
#if defined(POLICY_RETURN)
POLICY_API int64_t policy_count(const policy_params* params);
#else
POLICY_API int32_t policy_count(const policy_params* params);
#endif
#if !defined(POLICY_REMOVE)
POLICY_API int32_t policy_old(void);
#endif
#if defined(POLICY_ADD)
POLICY_API int32_t policy_new(void);
#endif

#endif /* POLICY_H_ */
