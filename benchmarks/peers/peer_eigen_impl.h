// The Eigen peer's body. Included by exactly one file per architecture (the one
// whose name carries the flags it is built with), so Eigen is instantiated once.
#pragma once

#include <Eigen/Core>

#if defined(_OPENMP)
#include <omp.h>
#endif

#include "peers/peers.h"

#define LOCI_EIGEN_STR_(x) #x
#define LOCI_EIGEN_STR(x) LOCI_EIGEN_STR_(x)
#define LOCI_EIGEN_VERSION \
  LOCI_EIGEN_STR(EIGEN_WORLD_VERSION) "." LOCI_EIGEN_STR(EIGEN_MAJOR_VERSION) "." LOCI_EIGEN_STR(EIGEN_MINOR_VERSION)
#if defined(_OPENMP)
#define LOCI_EIGEN_THREADS "OpenMP threads"
#else
#define LOCI_EIGEN_THREADS "1 thread (no OpenMP)"
#endif

namespace loci::bench {

int eigen_max_threads() {
#if defined(_OPENMP)
  return omp_get_num_procs();
#else
  return 1;
#endif
}

void eigen_matmul_f32(const float* x, size_t m, const float* w, size_t n, size_t k, float* y, int threads) {
  using RowMajor = Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
  Eigen::setNbThreads(threads);
  const Eigen::Map<const RowMajor> X(x, Eigen::Index(m), Eigen::Index(k));
  const Eigen::Map<const RowMajor> W(w, Eigen::Index(n), Eigen::Index(k));
  Eigen::Map<RowMajor> Y(y, Eigen::Index(m), Eigen::Index(n));
  if (m == 1) {
    // y^T = W x^T: Eigen's row-major GEMV, the fast path for one row.
    Y.row(0).transpose().noalias() = W * X.row(0).transpose();
  } else {
    Y.noalias() = X * W.transpose();
  }
}

}  // namespace loci::bench
