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
