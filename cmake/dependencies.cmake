# Finds loci's dependencies, all from Debian 12 packages (.ci/install-deps).
# The linked ones are shared with the installed package (lociDependencies.cmake);
# GLOBAL so that loci's subdirectories and a vendoring parent resolve them.
set(_loci_deps_scope GLOBAL)
include(${CMAKE_CURRENT_LIST_DIR}/lociDependencies.cmake)
if(_loci_deps_missing)
  message(FATAL_ERROR "loci: not found: ${_loci_deps_missing} (.ci/install-deps installs them)")
endif()

# Eigen is header-only; the reference f32 ops use it privately.
find_package(Eigen3 3.3 REQUIRED NO_MODULE)

# pthreadpool is XNNPACK's thread pool, for the benchmarks that compare with
# XNNPACK; the library has its own pool (src/core/threadpool.cpp). Debian
# ships no CMake config for it, so it is found by hand.
if(NOT TARGET loci_dep::pthreadpool)
  find_path(LOCI_PTHREADPOOL_INCLUDE_DIR pthreadpool.h)
  find_library(LOCI_PTHREADPOOL_LIBRARY pthreadpool)
  mark_as_advanced(LOCI_PTHREADPOOL_INCLUDE_DIR LOCI_PTHREADPOOL_LIBRARY)
  if(LOCI_PTHREADPOOL_INCLUDE_DIR AND LOCI_PTHREADPOOL_LIBRARY)
    add_library(loci_dep::pthreadpool UNKNOWN IMPORTED ${_loci_deps_scope})
    set_target_properties(loci_dep::pthreadpool PROPERTIES
      IMPORTED_LOCATION "${LOCI_PTHREADPOOL_LIBRARY}"
      INTERFACE_INCLUDE_DIRECTORIES "${LOCI_PTHREADPOOL_INCLUDE_DIR}")
  else()
    message(FATAL_ERROR "loci: not found: pthreadpool (.ci/install-deps installs it)")
  endif()
endif()
