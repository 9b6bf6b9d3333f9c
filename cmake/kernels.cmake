# Kernel sources and their ISA flags.
#
# A kernel file's ISA is the suffix after "__" in its name, e.g.
# src/kernels/x86/q4_0_q8_0_gemm__avx512vnni.cpp. Each such file is compiled with
# that ISA's flags and nothing else carries them, so one binary runs on every CPU
# of its architecture and dispatch picks what the CPU supports at init.

set(LOCI_ISA_FLAGS_avx2 -mavx2 -mfma -mf16c)
set(LOCI_ISA_FLAGS_avx512 -mavx2 -mfma -mf16c -mavx512f -mavx512bw -mavx512vl -mavx512dq)
set(LOCI_ISA_FLAGS_avx512vnni ${LOCI_ISA_FLAGS_avx512} -mavx512vnni)
set(LOCI_ISA_FLAGS_neon "")  # baseline on aarch64
set(LOCI_ISA_FLAGS_dotprod -march=armv8.2-a+dotprod)
set(LOCI_ISA_FLAGS_i8mm -march=armv8.2-a+dotprod+i8mm)

if(CMAKE_SYSTEM_PROCESSOR MATCHES "^(x86_64|AMD64|amd64)$")
  set(LOCI_ARCH x86)
  set(LOCI_ARCH_ISAS avx2 avx512 avx512vnni)
elseif(CMAKE_SYSTEM_PROCESSOR MATCHES "^(aarch64|arm64|ARM64)$")
  set(LOCI_ARCH arm)
  set(LOCI_ARCH_ISAS neon dotprod i8mm)
else()
  set(LOCI_ARCH none)
  set(LOCI_ARCH_ISAS "")
endif()

# Sets LOCI_KERNEL_SOURCES: the reference kernels plus this architecture's SIMD
# kernels, each SIMD file tagged with its own compile flags.
function(loci_collect_kernel_sources)
  file(GLOB ref_sources CONFIGURE_DEPENDS "${PROJECT_SOURCE_DIR}/src/kernels/ref/*.cpp")
  set(sources ${ref_sources})
  foreach(isa IN LISTS LOCI_ARCH_ISAS)
    file(GLOB isa_sources CONFIGURE_DEPENDS "${PROJECT_SOURCE_DIR}/src/kernels/${LOCI_ARCH}/*__${isa}.cpp")
    if(isa_sources)
      set_source_files_properties(${isa_sources} PROPERTIES COMPILE_OPTIONS "${LOCI_ISA_FLAGS_${isa}}")
      list(APPEND sources ${isa_sources})
    endif()
  endforeach()
  set(LOCI_KERNEL_SOURCES ${sources} PARENT_SCOPE)
endfunction()
