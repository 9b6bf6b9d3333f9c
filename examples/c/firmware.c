/* A firmware-style C program on loci's C ABI:
 * - memory is placed by the program: a static pool behind loci_set_allocator,
 *   sized from loci_estimate_memory before anything is created;
 * - the model is used from memory, in place (on a device it would sit in
 *   flash; here it is read once into the pool, standing in for that);
 * - the context is fixed, and the session refuses to grow past its budget;
 * - generated text streams through a callback;
 * - a timer thread cancels a long generation.
 *
 * Usage: loci_example_firmware MODEL.gguf [PROMPT] */
#include <loci.h>

#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

enum { kContext = 256, kMaxPromptTokens = 64, kCancelAfterMs = 2 };

/* ---- A bump allocator over a static pool: nothing comes from malloc. ---- */

static unsigned char g_pool[48u << 20] __attribute__((aligned(4096)));
static size_t g_pool_used;
static size_t g_pool_live; /* blocks loci holds */

static void* bump(size_t size, size_t alignment) {
  size_t start = (g_pool_used + alignment - 1) & ~(alignment - 1);
  if (start > sizeof g_pool || size > sizeof g_pool - start) return NULL;
  g_pool_used = start + size;
  return g_pool + start;
}

/* Set up once, torn down once: freed blocks are not reused. */
static void* pool_alloc(void* user, size_t size, size_t alignment) {
  (void)user;
  void* p = bump(size, alignment);
  if (p) ++g_pool_live;
  return p;
}

static void pool_free(void* user, void* ptr, size_t size) {
  (void)user, (void)ptr, (void)size;
  --g_pool_live;
}

/* Stands in for the model image in flash: the file read once into the pool,
 * followed by the zero padding loci's kernels may read. */
static const void* map_model_image(const char* path, size_t* size) {
  FILE* f = fopen(path, "rb");
  if (!f) return NULL;
  unsigned char* image = NULL;
  if (fseek(f, 0, SEEK_END) == 0) {
    long n = ftell(f);
    if (n > 0 && fseek(f, 0, SEEK_SET) == 0) {
      image = bump((size_t)n + LOCI_BUFFER_PADDING, 64);
      if (image && fread(image, 1, (size_t)n, f) == (size_t)n) {
        memset(image + n, 0, LOCI_BUFFER_PADDING);
        *size = (size_t)n;
      } else {
        image = NULL;
      }
    }
  }
  fclose(f);
  return image;
}

/* ---- Callbacks ---------------------------------------------------------- */

static void on_log(void* user, loci_log_level level, const char* message) {
  (void)user;
  fprintf(stderr, "[loci %s] %s\n", level == LOCI_LOG_ERROR ? "error" : level == LOCI_LOG_WARN ? "warn" : "info",
          message);
}

static int32_t on_text(void* user, const char* text, size_t length) {
  size_t* bytes = user;
  *bytes += length;
  fwrite(text, 1, length, stdout);
  fflush(stdout);
  return 0; /* go on */
}

struct timer {
  loci_session* session;
  int ms;
};

static void* cancel_later(void* arg) {
  const struct timer* t = arg;
  struct timespec delay = {t->ms / 1000, (long)(t->ms % 1000) * 1000000L};
  nanosleep(&delay, NULL);
  loci_session_cancel(t->session);
  return NULL;
}

static int fail(const char* what, loci_status status) {
  fprintf(stderr, "%s failed: %s\n", what, loci_last_error());
  return status == LOCI_OK ? 1 : (int)status % 256;
}

/* ---- The program --------------------------------------------------------- */

int main(int argc, char** argv) {
  if (argc < 2) {
    fprintf(stderr, "usage: %s MODEL.gguf [PROMPT]\n", argv[0]);
    return 2;
  }
  const char* prompt = argc > 2 ? argv[2] : "Once upon a time";
  loci_status s;
  loci_set_log_callback(on_log, NULL, LOCI_LOG_INFO);

  loci_allocator allocator;
  loci_allocator_init(&allocator);
  allocator.alloc = pool_alloc;
  allocator.free = pool_free;
  if ((s = loci_set_allocator(&allocator)) != LOCI_OK) return fail("loci_set_allocator", s);

  /* Plan memory before creating anything. */
  loci_session_params sp;
  loci_session_params_init(&sp);
  sp.n_ctx = kContext;
  sp.n_threads = 1;
  loci_memory_estimate plan;
  loci_memory_estimate_init(&plan);
  if ((s = loci_estimate_memory(argv[1], &sp, &plan)) != LOCI_OK) return fail("loci_estimate_memory", s);
  sp.memory_budget = plan.kv_cache + plan.scratch;
  printf("plan: weights %llu B, model tables %llu B, KV cache %llu B, scratch %llu B\n",
         (unsigned long long)plan.weights_mapped, (unsigned long long)plan.model_heap,
         (unsigned long long)plan.kv_cache, (unsigned long long)plan.scratch);

  size_t image_size = 0;
  const void* image = map_model_image(argv[1], &image_size);
  if (!image) {
    fprintf(stderr, "cannot read %s into the pool\n", argv[1]);
    return 1;
  }
  loci_model* model = NULL;
  loci_session* session = NULL;
  loci_sampler* sampler = NULL;
  if ((s = loci_model_load_from_buffer(image, image_size, NULL, &model)) != LOCI_OK)
    return fail("loci_model_load_from_buffer", s);
  if ((s = loci_session_create(model, &sp, &session)) != LOCI_OK) return fail("loci_session_create", s);
  loci_sampler_params smp;
  loci_sampler_params_init(&smp);
  smp.temperature = 0.0f; /* greedy: the same text on every run */
  if ((s = loci_sampler_create(model, &smp, &sampler)) != LOCI_OK) return fail("loci_sampler_create", s);
  printf("pool: %zu bytes in %zu blocks after setup\n", g_pool_used, g_pool_live);

  int32_t tokens[kMaxPromptTokens];
  size_t n_tokens = 0;
  if ((s = loci_tokenize(model, prompt, strlen(prompt), LOCI_TOKENIZE_ADD_SPECIAL, tokens, kMaxPromptTokens,
                         &n_tokens)) != LOCI_OK)
    return fail("loci_tokenize", s);

  /* 1. A short answer, streamed. */
  loci_generate_params gp;
  loci_generate_params_init(&gp);
  gp.max_tokens = 48;
  loci_generate_result r;
  loci_generate_result_init(&r);
  size_t bytes = 0;
  fputs(prompt, stdout);
  if ((s = loci_generate(session, sampler, tokens, n_tokens, &gp, on_text, &bytes, &r)) != LOCI_OK)
    return fail("loci_generate", s);
  printf("\n[%llu tokens, stop reason %d]\n", (unsigned long long)r.generated_tokens, (int)r.stop_reason);

  /* 2. A generation that would fill the context, cancelled by a timer. */
  loci_session_reset(session);
  loci_sampler_reset(sampler);
  gp.max_tokens = -1;
  gp.stop_at_eog = 0;
  struct timer t = {session, kCancelAfterMs};
  pthread_t timer_thread;
  if (pthread_create(&timer_thread, NULL, cancel_later, &t) != 0) return 1;
  bytes = 0;
  fputs(prompt, stdout);
  s = loci_generate(session, sampler, tokens, n_tokens, &gp, on_text, &bytes, NULL);
  pthread_join(timer_thread, NULL);
  printf("\n[timer after %d ms: %s, %zu bytes streamed, %zu of %d positions used]\n", kCancelAfterMs,
         loci_status_string(s), bytes, loci_session_position(session), kContext);

  loci_sampler_free(sampler);
  loci_session_free(session);
  loci_model_free(model);
  printf("pool: %zu blocks live after teardown\n", g_pool_live);
  return s == LOCI_ERR_CANCELLED ? 0 : 1;
}
