/* loci: the stable C ABI (C99). Everything here starts with loci_ or LOCI_.
 * The ABI only grows: published functions, values and struct prefixes never change. */
#ifndef LOCI_H_
#define LOCI_H_

#include <stdint.h>

#if defined(_WIN32)
#define LOCI_API __declspec(dllexport)
#else
#define LOCI_API __attribute__((visibility("default")))
#endif

#ifdef __cplusplus
extern "C" {
#endif

#define LOCI_VERSION_MAJOR 0
#define LOCI_VERSION_MINOR 1
#define LOCI_VERSION_PATCH 0
#define LOCI_VERSION_NUMBER (LOCI_VERSION_MAJOR * 10000 + LOCI_VERSION_MINOR * 100 + LOCI_VERSION_PATCH)
/* Bumped only when the ABI breaks; the shared library's SONAME follows it. */
#define LOCI_ABI_VERSION 0

/* Status codes. Values never change once published. */
typedef int32_t loci_status;
#define LOCI_OK 0
#define LOCI_ERR_INVALID_ARGUMENT 100
#define LOCI_ERR_OUT_OF_RANGE 101
#define LOCI_ERR_UNSUPPORTED 102
#define LOCI_ERR_OUT_OF_MEMORY 200
#define LOCI_ERR_IO 201
#define LOCI_ERR_CANCELLED 202
#define LOCI_ERR_INVALID_MODEL 300
#define LOCI_ERR_INTERNAL 900

/* Instruction-set levels for kernel selection. */
typedef int32_t loci_isa;
#define LOCI_ISA_REF 0
#define LOCI_ISA_AVX2 1
#define LOCI_ISA_AVX512 2
#define LOCI_ISA_AVX512VNNI 3
#define LOCI_ISA_NEON 10
#define LOCI_ISA_DOTPROD 11
#define LOCI_ISA_I8MM 12

/* The library's version as LOCI_VERSION_NUMBER computes it, and its ABI version. */
LOCI_API int32_t loci_version_number(void);
LOCI_API int32_t loci_abi_version(void);
/* A static, never-NULL name for a status ("ok", "invalid_argument", ...). */
LOCI_API const char* loci_status_string(loci_status status);

/* The best ISA level this CPU supports, and the current cap on kernel choice. */
LOCI_API loci_isa loci_isa_host(void);
LOCI_API loci_isa loci_isa_cap(void);
/* Caps kernel selection (as the LOCI_ISA environment variable does). */
LOCI_API loci_status loci_set_isa_cap(loci_isa cap);
/* A static, never-NULL name of an ISA level ("ref", "avx2", ...; "unknown"). */
LOCI_API const char* loci_isa_name(loci_isa isa);

#ifdef __cplusplus
}
#endif

#endif /* LOCI_H_ */
