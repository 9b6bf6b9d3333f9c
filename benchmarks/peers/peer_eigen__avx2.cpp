// Eigen built with the AVX2 flags (-mavx2 -mfma -mf16c), so its float kernels
// use 8-wide FMA; only called on hosts that run AVX2. This file instantiates
// Eigen once and is linked last (see CMakeLists.txt).
#include "loci/matmul.h"
#include "peers/peer_eigen_impl.h"

namespace loci::bench {

bool eigen_available() { return isa_supported(Isa::kAvx2); }

const char* eigen_build() {
  return "Eigen " LOCI_EIGEN_VERSION ", -mavx2 -mfma -mf16c, " LOCI_EIGEN_THREADS;
}

}  // namespace loci::bench
