// Kernel selection: the ISA cap, the kernel report, ISA names, and that every
// product always has a kernel the host can run.
#include <catch2/catch.hpp>

#include <iterator>
#include <string>
#include <vector>

#include "kernels/kernel_test_data.h"
#include "kernels/ukernel.h"

using namespace loci;

namespace {

// Puts the cap back however the test ends.
class CapGuard {
 public:
  CapGuard() : saved_(isa_cap()) {}
  ~CapGuard() { set_isa_cap(saved_); }
  CapGuard(const CapGuard&) = delete;
  CapGuard& operator=(const CapGuard&) = delete;

 private:
  Isa saved_;
};

constexpr Isa kAllIsas[] = {Isa::kRef,  Isa::kAvx2,    Isa::kAvx512, Isa::kAvx512Vnni,
                            Isa::kNeon, Isa::kDotprod, Isa::kI8mm};

bool is_arm(Isa isa) { return int32_t(isa) >= int32_t(Isa::kNeon); }

bool ends_with(const std::string& s, const std::string& tail) {
  return s.size() >= tail.size() && s.compare(s.size() - tail.size(), tail.size(), tail) == 0;
}

std::vector<std::string> selected_names() {
  std::vector<std::string> names;
  for (const MatmulKernelInfo& info : matmul_kernel_report()) {
    names.push_back(info.gemv_name);
    names.push_back(info.gemm_name);
  }
  return names;
}

}  // namespace

TEST_CASE("isa_name and isa_from_name round trip", "[dispatch]") {
  for (Isa isa : kAllIsas) {
    INFO(int32_t(isa));
    const std::string name = isa_name(isa);
    CHECK(name != "unknown");
    CHECK(isa_from_name(name) == isa);
  }
  CHECK_FALSE(isa_from_name("").has_value());
  CHECK_FALSE(isa_from_name("sse4").has_value());
  CHECK_FALSE(isa_from_name("avx512vnni2").has_value());
}

TEST_CASE("the host level and everything below it in its architecture are supported", "[dispatch]") {
  const Isa host = host_isa();
  CHECK(isa_supported(Isa::kRef));
  CHECK(isa_supported(host));
  for (Isa isa : kAllIsas) {
    INFO(isa_name(isa) << " on a " << isa_name(host) << " host");
    if (isa == Isa::kRef) continue;
    const bool expect = is_arm(isa) == is_arm(host) && host != Isa::kRef && isa <= host;
    CHECK(isa_supported(isa) == expect);
  }
}

TEST_CASE("every product has a kernel, with the right activation dtype", "[dispatch]") {
  for (DType w : test::kMatmulWeights) {
    INFO(dtype_name(w));
    const Result<MatmulKernelInfo> info = matmul_kernel_info(w);
    REQUIRE(info.is_ok());
    CHECK(info->weight == w);
    CHECK(info->activation == matmul_activation_dtype(w));
    CHECK(info->gemv_name != nullptr);
    CHECK(info->gemm_name != nullptr);
    CHECK(selected_ukernel(w) != nullptr);
    CHECK(reference_ukernel(w) != nullptr);
  }
  CHECK(matmul_kernel_report().size() == std::size(test::kMatmulWeights));
  // Activation-only and unknown dtypes have no product.
  CHECK(matmul_kernel_info(DType::Q8_K).status().code() == StatusCode::kUnsupported);
  CHECK(matmul_kernel_info(DType::Q8_1).status().code() == StatusCode::kUnsupported);
  CHECK(matmul_kernel_info(DType(4)).status().code() == StatusCode::kUnsupported);
}

TEST_CASE("candidate names follow loci_<weight>_..._<gemv|gemm>__<isa>", "[dispatch]") {
  // The report derives a kernel's ISA from its name, so a name must end in a
  // known ISA no higher than its candidate's (a candidate may borrow a lower
  // level's gemv).
  size_t count = 0;
  const UkernelCandidate* all = all_ukernel_candidates(&count);
  REQUIRE(count >= std::size(test::kMatmulWeights));
  for (size_t i = 0; i < count; ++i) {
    const UkernelCandidate& c = all[i];
    for (const std::string name : {c.gemv_name, c.gemm_name}) {
      INFO(name << " (candidate " << isa_name(c.isa) << ", weight " << dtype_name(c.weight) << ")");
      CHECK(name.rfind(std::string("loci_") + dtype_name(c.weight) + "_", 0) == 0);
      const size_t at = name.rfind("__");
      REQUIRE(at != std::string::npos);
      const std::optional<Isa> isa = isa_from_name(name.substr(at + 2));
      REQUIRE(isa.has_value());
      CHECK(*isa <= c.isa);
      CHECK((*isa == Isa::kRef || is_arm(*isa) == is_arm(c.isa)));
    }
    const std::string own = std::string("__") + isa_name(c.isa);
    CHECK((ends_with(c.gemv_name, own) || ends_with(c.gemm_name, own)));
  }
}

TEST_CASE("capping at ref selects ref kernels everywhere, and lifting the cap restores", "[dispatch]") {
  CapGuard guard;
  set_isa_cap(host_isa());
  CHECK(isa_cap() == host_isa());
  const std::vector<std::string> at_host = selected_names();

  set_isa_cap(Isa::kRef);
  CHECK(isa_cap() == Isa::kRef);
  for (const MatmulKernelInfo& info : matmul_kernel_report()) {
    INFO(dtype_name(info.weight) << ": " << info.gemv_name << " / " << info.gemm_name);
    CHECK(info.gemv_isa == Isa::kRef);
    CHECK(info.gemm_isa == Isa::kRef);
    CHECK(ends_with(info.gemv_name, "__ref"));
    CHECK(ends_with(info.gemm_name, "__ref"));
    CHECK(selected_ukernel(info.weight) == reference_ukernel(info.weight));
  }

  set_isa_cap(host_isa());
  CHECK(selected_names() == at_host);
}

TEST_CASE("a cap naming the other architecture leaves only ref kernels", "[dispatch]") {
  CapGuard guard;
  set_isa_cap(is_arm(host_isa()) ? Isa::kAvx512Vnni : Isa::kI8mm);
  for (const MatmulKernelInfo& info : matmul_kernel_report()) {
    INFO(dtype_name(info.weight) << ": " << info.gemm_name);
    CHECK(info.gemv_isa == Isa::kRef);
    CHECK(info.gemm_isa == Isa::kRef);
  }
}

TEST_CASE("under every cap, each product gets the best runnable candidate at or below it", "[dispatch]") {
  CapGuard guard;
  size_t count = 0;
  const UkernelCandidate* all = all_ukernel_candidates(&count);
  for (Isa cap : kAllIsas) {
    set_isa_cap(cap);
    for (DType w : test::kMatmulWeights) {
      INFO("cap " << isa_name(cap) << ", weight " << dtype_name(w));
      const UkernelCandidate* sel = selected_ukernel(w);
      REQUIRE(sel != nullptr);
      CHECK(sel->weight == w);
      CHECK(isa_supported(sel->isa));
      const bool within_cap = sel->isa == Isa::kRef || (is_arm(sel->isa) == is_arm(cap) && sel->isa <= cap);
      CHECK(within_cap);
      const Result<MatmulKernelInfo> info = matmul_kernel_info(w);
      REQUIRE(info.is_ok());
      CHECK(isa_supported(info->gemv_isa));
      CHECK(isa_supported(info->gemm_isa));
      CHECK(info->gemm_isa <= sel->isa);
      // No better candidate was passed over.
      for (size_t i = 0; i < count; ++i) {
        const UkernelCandidate& c = all[i];
        if (c.weight != w || c.isa <= sel->isa || !isa_supported(c.isa)) continue;
        const bool allowed = is_arm(c.isa) == is_arm(cap) && c.isa <= cap;
        INFO("passed over " << c.gemm_name);
        CHECK_FALSE(allowed);
      }
    }
  }
}
