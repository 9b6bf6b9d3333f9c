// Eigen built for the aarch64 baseline, so its float kernels use NEON. This
// file instantiates Eigen once and is linked last (see CMakeLists.txt).
#include "loci/matmul.h"
#include "peers/peer_eigen_impl.h"

namespace loci::bench {

bool eigen_available() { return isa_supported(Isa::kNeon); }

const char* eigen_build() {
  return "Eigen " LOCI_EIGEN_VERSION ", NEON, " LOCI_EIGEN_THREADS;
}

}  // namespace loci::bench
