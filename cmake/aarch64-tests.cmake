# ctest entries for the aarch64 cross build: each test binary runs under
# qemu-user, once per emulated CPU that matters for it. Included by
# tests/CMakeLists.txt when cross-compiling; variables default to what
# cmake/toolchain-aarch64.cmake sets.

if(NOT LOCI_AARCH64_LIBC_PREFIX)
  set(LOCI_AARCH64_LIBC_PREFIX /usr/aarch64-linux-gnu)
endif()
if(NOT LOCI_AARCH64_LD_LIBRARY_PATH)
  set(LOCI_AARCH64_LD_LIBRARY_PATH "${LOCI_AARCH64_LIBC_PREFIX}/lib")
  if(LOCI_AARCH64_SYSROOT)
    string(APPEND LOCI_AARCH64_LD_LIBRARY_PATH ":${LOCI_AARCH64_SYSROOT}/usr/lib/aarch64-linux-gnu")
  endif()
endif()
find_program(LOCI_QEMU_AARCH64 qemu-aarch64)

# Emulated CPUs and the ISA level dispatch must report on each:
#   cortex-a53: Advanced SIMD only; cortex-a76: + dotprod; max: + i8mm.
set(LOCI_EMULATED_CPUS cortex-a53 cortex-a76 max)
set(LOCI_EMULATED_ISA_cortex-a53 neon)
set(LOCI_EMULATED_ISA_cortex-a76 dotprod)
set(LOCI_EMULATED_ISA_max i8mm)

# Kernel tests run on every emulated CPU, so each ISA's kernels meet the
# parity test where they are selectable; other tests run once, on `max`.
function(loci_add_emulated_tests target)
  if(NOT LOCI_QEMU_AARCH64)
    message(WARNING "qemu-aarch64 not found: ${target} is built but not registered with ctest")
    return()
  endif()
  if(target MATCHES "kernel")
    set(cpus ${LOCI_EMULATED_CPUS})
  else()
    set(cpus max)
  endif()
  foreach(cpu IN LISTS cpus)
    set(name "${target}@${cpu}")
    add_test(NAME "${name}" COMMAND "${LOCI_QEMU_AARCH64}" -cpu ${cpu} $<TARGET_FILE:${target}>)
    set_tests_properties("${name}" PROPERTIES
      LABELS "emulated;${cpu}"
      TIMEOUT 900
      ENVIRONMENT "QEMU_LD_PREFIX=${LOCI_AARCH64_LIBC_PREFIX};LD_LIBRARY_PATH=${LOCI_AARCH64_LD_LIBRARY_PATH};LOCI_SHARED_DIR=${LOCI_SHARED_DIR};LOCI_EXPECT_ISA=${LOCI_EMULATED_ISA_${cpu}}")
  endforeach()
endfunction()
