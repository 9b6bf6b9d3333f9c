/* A stand-in libloci that reports another ABI version, so the Python
 * package's import-time check can be tested against a real library. */
#include <stdint.h>

__attribute__((visibility("default"))) int32_t loci_abi_version(void) { return 7; }
__attribute__((visibility("default"))) const char* loci_version_string(void) { return "7.0.0"; }
