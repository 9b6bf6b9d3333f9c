# Install rules (only when LOCI_INSTALL is on): the headers, both libraries,
# the CMake package (loci::loci shared, loci::loci_static static) and a
# relocatable loci.pc. The same package is also exported from the build tree,
# so a consumer can set loci_DIR to this build dir without installing.
include(GNUInstallDirs)
include(CMakePackageConfigHelpers)

set(LOCI_INSTALL_CMAKEDIR "${CMAKE_INSTALL_LIBDIR}/cmake/loci" CACHE STRING
    "Where lociConfig.cmake goes, relative to the install prefix")
set(LOCI_INSTALL_PKGCONFIGDIR "${CMAKE_INSTALL_LIBDIR}/pkgconfig" CACHE STRING
    "Where loci.pc goes, relative to the install prefix")
mark_as_advanced(LOCI_INSTALL_CMAKEDIR LOCI_INSTALL_PKGCONFIGDIR)

# Runtime is the shared library alone; development adds what building against
# loci needs (headers, the static library, the .so link, the package files).
install(TARGETS loci_static loci_shared EXPORT lociTargets
  ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR} COMPONENT loci_development
  LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR} COMPONENT loci_runtime NAMELINK_COMPONENT loci_development
  RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR} COMPONENT loci_runtime
  INCLUDES DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
install(DIRECTORY ${PROJECT_SOURCE_DIR}/include/loci DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}
  COMPONENT loci_development FILES_MATCHING PATTERN "*.h")
# The C ABI header sits at the top: #include <loci.h>.
install(FILES ${PROJECT_SOURCE_DIR}/capi/loci.h DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}
  COMPONENT loci_development)

# The CMake package. One config serves both trees: it only reads files next to it.
configure_file(${CMAKE_CURRENT_LIST_DIR}/lociConfig.cmake.in ${PROJECT_BINARY_DIR}/lociConfig.cmake @ONLY)
configure_file(${CMAKE_CURRENT_LIST_DIR}/lociDependencies.cmake ${PROJECT_BINARY_DIR}/lociDependencies.cmake COPYONLY)
write_basic_package_version_file(${PROJECT_BINARY_DIR}/lociConfigVersion.cmake
  VERSION ${PROJECT_VERSION} COMPATIBILITY SameMajorVersion)
install(EXPORT lociTargets NAMESPACE loci:: FILE lociTargets.cmake
  DESTINATION ${LOCI_INSTALL_CMAKEDIR} COMPONENT loci_development)
install(FILES ${PROJECT_BINARY_DIR}/lociConfig.cmake ${PROJECT_BINARY_DIR}/lociConfigVersion.cmake
              ${PROJECT_BINARY_DIR}/lociDependencies.cmake
  DESTINATION ${LOCI_INSTALL_CMAKEDIR} COMPONENT loci_development)
export(EXPORT lociTargets NAMESPACE loci:: FILE ${PROJECT_BINARY_DIR}/lociTargets.cmake)

# loci.pc finds its prefix from its own location (${pcfiledir}), so a moved
# install tree still works. Absolute install dirs cannot move; they stay as given.
function(loci_pc_dir out dir)
  if(IS_ABSOLUTE "${dir}")
    set(${out} "${dir}" PARENT_SCOPE)
  else()
    set(${out} "\${prefix}/${dir}" PARENT_SCOPE)
  endif()
endfunction()

if(IS_ABSOLUTE "${LOCI_INSTALL_PKGCONFIGDIR}")
  set(_loci_pc_prefix "${CMAKE_INSTALL_PREFIX}")
else()
  file(RELATIVE_PATH _loci_pc_up "/${LOCI_INSTALL_PKGCONFIGDIR}" "/")
  string(REGEX REPLACE "/$" "" _loci_pc_prefix "\${pcfiledir}/${_loci_pc_up}")
endif()
loci_pc_dir(_loci_pc_libdir "${CMAKE_INSTALL_LIBDIR}")
loci_pc_dir(_loci_pc_includedir "${CMAKE_INSTALL_INCLUDEDIR}")

# What a static link of libloci.a needs besides libcpuinfo (Requires.private):
# threads, and the C++ runtime a C link would otherwise miss.
set(_loci_pc_private -lpthread)
foreach(_loci_lib IN LISTS LOCI_CXX_RUNTIME_LIBS)
  list(APPEND _loci_pc_private "-l${_loci_lib}")
endforeach()
list(JOIN _loci_pc_private " " _loci_pc_libs_private)

configure_file(${CMAKE_CURRENT_LIST_DIR}/loci.pc.in ${PROJECT_BINARY_DIR}/loci.pc @ONLY)
install(FILES ${PROJECT_BINARY_DIR}/loci.pc DESTINATION ${LOCI_INSTALL_PKGCONFIGDIR}
  COMPONENT loci_development)
