# Cross-compiles loci for aarch64 Linux with Debian's aarch64-linux-gnu GCC.
#
#   .ci/aarch64-sysroot
#   cmake -S . -B build-aarch64 -G Ninja -DCMAKE_TOOLCHAIN_FILE=cmake/toolchain-aarch64.cmake
#
# The C library and libstdc++ are the cross toolchain's own (/usr/aarch64-linux-gnu).
# LOCI_AARCH64_SYSROOT (made by .ci/aarch64-sysroot) only adds the third-party
# libraries and headers, so it is a find root, not the compiler's --sysroot:
# a --sysroot would hide the toolchain's libc.
set(CMAKE_SYSTEM_NAME Linux)
set(CMAKE_SYSTEM_PROCESSOR aarch64)

set(LOCI_AARCH64_TRIPLE aarch64-linux-gnu)
set(CMAKE_C_COMPILER ${LOCI_AARCH64_TRIPLE}-gcc)
set(CMAKE_CXX_COMPILER ${LOCI_AARCH64_TRIPLE}-g++)
set(LOCI_AARCH64_LIBC_PREFIX /usr/${LOCI_AARCH64_TRIPLE} CACHE PATH
    "The cross toolchain's target root (its libc and loader)")

get_filename_component(_loci_default_sysroot "${CMAKE_CURRENT_LIST_DIR}/../.sysroot-aarch64" ABSOLUTE)
set(LOCI_AARCH64_SYSROOT "${_loci_default_sysroot}" CACHE PATH
    "aarch64 libraries and headers unpacked by .ci/aarch64-sysroot")
# try_compile projects re-read this file; hand them the same sysroot.
list(APPEND CMAKE_TRY_COMPILE_PLATFORM_VARIABLES LOCI_AARCH64_SYSROOT LOCI_AARCH64_LIBC_PREFIX)

if(NOT EXISTS "${LOCI_AARCH64_SYSROOT}/usr/include/cpuinfo.h")
  message(FATAL_ERROR "No aarch64 sysroot at ${LOCI_AARCH64_SYSROOT}: run .ci/aarch64-sysroot first "
                      "(or pass -DLOCI_AARCH64_SYSROOT=<dir>)")
endif()

# A build dir switched to another sysroot must not keep paths found in the old
# one: forget every cached result naming it (and pkg-config's "already checked").
if(LOCI_AARCH64_SYSROOT_IN_USE AND NOT LOCI_AARCH64_SYSROOT_IN_USE STREQUAL LOCI_AARCH64_SYSROOT)
  message(STATUS "aarch64 sysroot changed from ${LOCI_AARCH64_SYSROOT_IN_USE}: finding dependencies again")
  get_property(_loci_cache_vars DIRECTORY PROPERTY CACHE_VARIABLES)
  foreach(_loci_var IN LISTS _loci_cache_vars)
    get_property(_loci_value CACHE "${_loci_var}" PROPERTY VALUE)
    string(FIND "${_loci_value}" "${LOCI_AARCH64_SYSROOT_IN_USE}" _loci_at)
    if(_loci_at GREATER -1 OR _loci_var MATCHES "^__pkg_config_checked_")
      unset("${_loci_var}" CACHE)
    endif()
  endforeach()
endif()
set(LOCI_AARCH64_SYSROOT_IN_USE "${LOCI_AARCH64_SYSROOT}" CACHE INTERNAL "The sysroot the cached find results come from")

# find_* look for target files only in the sysroot (and the toolchain root);
# build tools still come from the host.
set(CMAKE_FIND_ROOT_PATH "${LOCI_AARCH64_SYSROOT}" "${LOCI_AARCH64_LIBC_PREFIX}")
set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)
set(CMAKE_FIND_ROOT_PATH_MODE_LIBRARY ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_INCLUDE ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_PACKAGE ONLY)

# pkg-config reads only the sysroot's .pc files and prefixes their paths with it.
set(ENV{PKG_CONFIG_PATH} "")
set(ENV{PKG_CONFIG_LIBDIR}
    "${LOCI_AARCH64_SYSROOT}/usr/lib/${LOCI_AARCH64_TRIPLE}/pkgconfig:${LOCI_AARCH64_SYSROOT}/usr/share/pkgconfig")
set(ENV{PKG_CONFIG_SYSROOT_DIR} "${LOCI_AARCH64_SYSROOT}")

# The loader must find the sysroot's shared libraries at link time too
# (libcpuinfo's and pthreadpool's own dependencies).
set(CMAKE_EXE_LINKER_FLAGS_INIT "-Wl,-rpath-link,${LOCI_AARCH64_SYSROOT}/usr/lib/${LOCI_AARCH64_TRIPLE}")
set(CMAKE_SHARED_LINKER_FLAGS_INIT "-Wl,-rpath-link,${LOCI_AARCH64_SYSROOT}/usr/lib/${LOCI_AARCH64_TRIPLE}")

# Running a target program: qemu-user with the toolchain's libc and loader.
# A libc other than the one the program was linked against makes threaded
# programs hang in pthread_create, so the library path names it first.
set(LOCI_AARCH64_LD_LIBRARY_PATH
    "${LOCI_AARCH64_LIBC_PREFIX}/lib:${LOCI_AARCH64_SYSROOT}/usr/lib/${LOCI_AARCH64_TRIPLE}")
find_program(LOCI_QEMU_AARCH64 qemu-aarch64)
if(LOCI_QEMU_AARCH64)
  set(CMAKE_CROSSCOMPILING_EMULATOR
      "${LOCI_QEMU_AARCH64};-L;${LOCI_AARCH64_LIBC_PREFIX};-E;LD_LIBRARY_PATH=${LOCI_AARCH64_LD_LIBRARY_PATH}")
endif()
