// Stands in for the Eigen peer when Eigen is not found or the architecture has
// no Eigen peer file.
#include "peers/peers.h"

namespace loci::bench {

bool eigen_available() { return false; }
const char* eigen_build() { return "Eigen not built in"; }
int eigen_max_threads() { return 1; }
void eigen_matmul_f32(const float*, size_t, const float*, size_t, size_t, float*, int) {}

}  // namespace loci::bench
