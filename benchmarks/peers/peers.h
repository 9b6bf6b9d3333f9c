// Other libraries on the same f32 products, for scale: Eigen and XNNPACK.
// Each is optional; the tools print "n/a" for one that was not built in.
#pragma once

#include <cstddef>
#include <memory>
#include <vector>

namespace loci::bench {

// --- Eigen -------------------------------------------------------------------
// y (m x n) = x (m x k) * w^T, w row-major n x k, via Map'ed row-major matrices.
// Eigen multithreads only its GEMM and only through OpenMP; its GEMV is
// single-threaded whatever `threads` says.
bool eigen_available();      // built in, and the host runs the flags it was built with
const char* eigen_build();   // e.g. "Eigen 3.4.0, -mavx2 -mfma, OpenMP"
int eigen_max_threads();     // 1 without OpenMP
void eigen_matmul_f32(const float* x, size_t m, const float* w, size_t n, size_t k, float* y, int threads);

// --- XNNPACK -----------------------------------------------------------------
// Fully-connected f32 operators (xnn_create_fully_connected_nc_f32) on a
// pthreadpool of its own. XNNPACK packs the weights when an operator is made,
// so each weight copy gets its own operator, made outside the timing.
class XnnpackFc {
 public:
  static std::unique_ptr<XnnpackFc> create();  // null if XNNPACK is not built in or fails
  ~XnnpackFc();
  XnnpackFc(const XnnpackFc&) = delete;
  XnnpackFc& operator=(const XnnpackFc&) = delete;

  // Runs later calls on a pthreadpool of this many threads. False on failure.
  bool set_threads(size_t threads);
  // Adds an operator for w (n x k, row-major, as loci's weights). False on failure.
  bool add_weights(const float* w, size_t n, size_t k);
  size_t operators() const { return ops_.size(); }
  // y (m x n) = x (m x k) * w^T with operator `i % operators()`.
  bool run(size_t i, const float* x, size_t m, float* y);

 private:
  XnnpackFc() = default;
  void* pool_ = nullptr;
  std::vector<void*> ops_;
};
bool xnnpack_available();
const char* xnnpack_build();

}  // namespace loci::bench
