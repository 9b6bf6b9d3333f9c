/* The self-test library's definitions (see policy.h). */
#include "policy.h"

/* The handle's layout is private: POLICY_HANDLE changes it, which must pass. */
struct policy_handle {
  int32_t state;
#if defined(POLICY_HANDLE)
  double more_state;
#endif
};

#if defined(POLICY_HANDLE_PARAM)
int32_t policy_run(const policy_params* params) { return params->count + params->limit + (int32_t)params->scale; }
#else
int32_t policy_run(policy_handle* handle, const policy_params* params) {
  return handle->state + params->count + params->limit + (int32_t)params->scale;
}
#endif

#if defined(POLICY_PARAM)
int32_t policy_scale(int64_t value) { return (int32_t)(value * 2); }
#else
int32_t policy_scale(int32_t value) { return value * 2; }
#endif

#if defined(POLICY_RETURN)
int64_t policy_count(const policy_params* params) { return params->count; }
#else
int32_t policy_count(const policy_params* params) { return params->count; }
#endif

#if !defined(POLICY_REMOVE)
int32_t policy_old(void) { return 1; }
#endif

#if defined(POLICY_ADD)
int32_t policy_new(void) { return 2; }
#endif
