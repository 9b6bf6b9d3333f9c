// Prints the host ISA, the cap and the kernel chosen for each product, one per
// line. ctest runs it under different LOCI_ISA values and matches the output.
#include <cstdio>

#include "loci/matmul.h"

int main() {
  std::printf("host %s cap %s\n", loci::isa_name(loci::host_isa()), loci::isa_name(loci::isa_cap()));
  for (const loci::MatmulKernelInfo& k : loci::matmul_kernel_report())
    std::printf("%-5s x %-5s convert %-28s gemv %-36s gemm %s\n", loci::dtype_name(k.weight),
                loci::dtype_name(k.activation), k.convert_name ? k.convert_name : "-", k.gemv_name, k.gemm_name);
  return 0;
}
