# Finds loci's dependencies, all from Debian 12 packages (.ci/install-deps).
# cpuinfo's Debian CMake config is broken, so it comes from pkg-config; Debian
# ships no config at all for pthreadpool and XNNPACK, so those are found by hand.

find_package(PkgConfig REQUIRED)
pkg_check_modules(CPUINFO REQUIRED IMPORTED_TARGET GLOBAL libcpuinfo)
if(NOT TARGET loci_dep::cpuinfo)
  add_library(loci_dep::cpuinfo ALIAS PkgConfig::CPUINFO)
endif()

function(loci_find_plain_library target header libname)
  if(TARGET ${target})
    return()
  endif()
  find_path(${libname}_INCLUDE_DIR ${header} REQUIRED)
  find_library(${libname}_LIBRARY ${libname} REQUIRED)
  add_library(${target} UNKNOWN IMPORTED GLOBAL)
  set_target_properties(${target} PROPERTIES
    IMPORTED_LOCATION "${${libname}_LIBRARY}"
    INTERFACE_INCLUDE_DIRECTORIES "${${libname}_INCLUDE_DIR}")
endfunction()

loci_find_plain_library(loci_dep::pthreadpool pthreadpool.h pthreadpool)
find_package(Threads REQUIRED)

# Eigen is header-only; the reference f32 ops use it privately.
find_package(Eigen3 3.3 REQUIRED NO_MODULE)
