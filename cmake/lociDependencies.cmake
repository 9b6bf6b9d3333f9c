# The libraries loci links against, as loci_dep:: targets (a prefix no parent
# project uses). Read by loci's own build (cmake/dependencies.cmake) and, once
# installed, by lociConfig.cmake, so that loci::loci_static brings them along.
#
# cpuinfo's Debian CMake config is broken, so it comes from pkg-config. Every
# cache entry this creates is LOCI_-prefixed (FindPkgConfig's own entries aside).
#
# In:  _loci_deps_scope    GLOBAL, or empty for directory-scoped targets
# Out: _loci_deps_missing  what was not found (empty when all were)

set(_loci_deps_missing "")

find_package(Threads QUIET)
if(NOT Threads_FOUND)
  list(APPEND _loci_deps_missing "Threads")
endif()

if(NOT TARGET loci_dep::cpuinfo)
  find_package(PkgConfig QUIET)
  if(PKG_CONFIG_FOUND)
    pkg_check_modules(LOCI_CPUINFO QUIET libcpuinfo)
  endif()
  # A target of our own rather than PkgConfig::<prefix>: an exported link
  # interface names it, and the name must not depend on FindPkgConfig.
  if(LOCI_CPUINFO_FOUND AND LOCI_CPUINFO_LINK_LIBRARIES)
    add_library(loci_dep::cpuinfo INTERFACE IMPORTED ${_loci_deps_scope})
    set_target_properties(loci_dep::cpuinfo PROPERTIES
      INTERFACE_LINK_LIBRARIES "${LOCI_CPUINFO_LINK_LIBRARIES}"
      INTERFACE_INCLUDE_DIRECTORIES "${LOCI_CPUINFO_INCLUDE_DIRS}"
      INTERFACE_COMPILE_OPTIONS "${LOCI_CPUINFO_CFLAGS_OTHER}")
  else()
    list(APPEND _loci_deps_missing "libcpuinfo (through pkg-config)")
  endif()
endif()
