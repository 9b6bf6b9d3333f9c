// CPU detection: under qemu each emulated CPU must be probed as the ISA level
// it really has (LOCI_EXPECT_ISA is set per CPU by cmake/aarch64-tests.cmake).
#include <catch2/catch.hpp>

#include <cstdlib>
#include <string>

#include "kernels/ukernel.h"
#include "loci/matmul.h"

using namespace loci;

TEST_CASE("host_isa() reports the level LOCI_EXPECT_ISA names", "[dispatch][isa]") {
  const char* want = std::getenv("LOCI_EXPECT_ISA");
  if (!want || !*want) {
    WARN("LOCI_EXPECT_ISA is not set: detected " << isa_name(host_isa()) << ", nothing to compare with");
    return;
  }
  REQUIRE(isa_from_name(want).has_value());
  CHECK(std::string(isa_name(host_isa())) == want);
}

TEST_CASE("every selected kernel is one the host can run", "[dispatch][isa]") {
  const Isa host = host_isa();
  CHECK(isa_supported(host));
  CHECK(isa_supported(Isa::kRef));
  for (const MatmulKernelInfo& info : matmul_kernel_report()) {
    INFO("weight " << dtype_name(info.weight) << ": " << info.gemv_name << " / " << info.gemm_name);
    CHECK(isa_supported(info.gemv_isa));
    CHECK(isa_supported(info.gemm_isa));
  }
}
