/* loci.h as a strict C99 program sees it (-std=c99 -pedantic, warnings are
 * errors), linked against the shared library: the declarations resolve to
 * the exported C symbols, and the library reports the header's versions. */
#include <stdio.h>
#include <string.h>

#include "loci.h"

/* Callbacks written in plain C must convert to the published typedefs. */
static void on_log(void* user, loci_log_level level, const char* message) {
  (void)user;
  (void)level;
  (void)message;
}
static int32_t on_cancel(void* user) { return user != NULL; }
static int32_t on_text(void* user, const char* text, size_t length) { return user == NULL && text && length == 0; }

static int failures = 0;
static void expect(int ok, const char* what) {
  if (!ok) {
    fprintf(stderr, "FAIL: %s\n", what);
    failures++;
  }
}

int main(void) {
  char version[32];
  loci_log_callback log_cb = on_log;
  loci_text_callback text_cb = on_text;
  loci_session_params session;
  loci_sampler_params sampler;
  loci_generate_params generate;
  loci_generate_result result;
  loci_model* model = NULL;
  loci_status status;

  snprintf(version, sizeof version, "%d.%d.%d", LOCI_VERSION_MAJOR, LOCI_VERSION_MINOR, LOCI_VERSION_PATCH);
  expect(loci_abi_version() == LOCI_ABI_VERSION, "loci_abi_version() == LOCI_ABI_VERSION");
  expect(loci_version_number() == LOCI_VERSION_NUMBER, "loci_version_number() == LOCI_VERSION_NUMBER");
  expect(strcmp(loci_version_string(), version) == 0, "loci_version_string() matches LOCI_VERSION_*");
  expect(strcmp(loci_status_string(LOCI_OK), "ok") == 0, "loci_status_string(LOCI_OK) is \"ok\"");

  /* _init writes the size this header gives the struct. */
  loci_session_params_init(&session);
  loci_sampler_params_init(&sampler);
  loci_generate_params_init(&generate);
  loci_generate_result_init(&result);
  expect(session.struct_size == sizeof session, "loci_session_params_init sets struct_size");
  expect(sampler.struct_size == sizeof sampler, "loci_sampler_params_init sets struct_size");
  expect(generate.struct_size == sizeof generate, "loci_generate_params_init sets struct_size");
  expect(result.struct_size == sizeof result, "loci_generate_result_init sets struct_size");
  session.cancel = on_cancel;

  /* A failing call through the C ABI: a status, a message, no model. */
  status = loci_model_load("/nonexistent/loci-abi-c99.gguf", NULL, &model);
  expect(status == LOCI_ERR_IO, "loading a missing file is LOCI_ERR_IO");
  expect(model == NULL, "a failed load leaves the out-parameter alone");
  expect(strlen(loci_last_error()) > 0, "a failed call sets loci_last_error()");
  loci_model_free(NULL);

  loci_set_log_callback(log_cb, NULL, LOCI_LOG_ERROR);
  loci_set_log_callback(NULL, NULL, LOCI_LOG_ERROR);
  (void)text_cb;

  if (failures == 0) printf("ok: C99 program against libloci %s (ABI %d)\n", loci_version_string(), loci_abi_version());
  return failures == 0 ? 0 : 1;
}
