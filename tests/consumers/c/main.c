/* A C99 program on loci's C ABI alone: the versions it was built against must
 * be the ones the library reports, and the basic lookups must answer. */
#include <loci.h>

#include <stdio.h>
#include <string.h>

#ifdef LOCI_BUILDING
#error "loci's private compile definitions leaked into a consumer"
#endif

static int check_string(const char* what, const char* got, const char* want) {
  if (got == NULL || strcmp(got, want) != 0) {
    fprintf(stderr, "FAIL: %s is \"%s\", expected \"%s\"\n", what, got ? got : "(null)", want);
    return 1;
  }
  return 0;
}

int main(void) {
  char header_version[32];
  const char* host_isa;
  int failures = 0;

  if (loci_version_number() != LOCI_VERSION_NUMBER) {
    fprintf(stderr, "FAIL: library version %d, header version %d\n", (int)loci_version_number(),
            (int)LOCI_VERSION_NUMBER);
    failures++;
  }
  if (loci_abi_version() != LOCI_ABI_VERSION) {
    fprintf(stderr, "FAIL: library ABI %d, header ABI %d\n", (int)loci_abi_version(), (int)LOCI_ABI_VERSION);
    failures++;
  }
  snprintf(header_version, sizeof header_version, "%d.%d.%d", LOCI_VERSION_MAJOR, LOCI_VERSION_MINOR,
           LOCI_VERSION_PATCH);
  failures += check_string("loci_version_string()", loci_version_string(), header_version);
  failures += check_string("loci_status_string(LOCI_OK)", loci_status_string(LOCI_OK), "ok");
  failures += check_string("loci_status_string(LOCI_ERR_INVALID_MODEL)", loci_status_string(LOCI_ERR_INVALID_MODEL),
                           "invalid_model");
  failures += check_string("loci_status_string(-7)", loci_status_string(-7), "unknown");

  host_isa = loci_isa_name(loci_isa_host());
  if (host_isa == NULL || strcmp(host_isa, "unknown") == 0) {
    fprintf(stderr, "FAIL: the host ISA has no name\n");
    failures++;
  }
  if (failures != 0) return 1;
  printf("C consumer: loci %s (abi %d), host isa %s\n", loci_version_string(), (int)loci_abi_version(), host_isa);
  return 0;
}
