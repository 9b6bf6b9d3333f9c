// The XNNPACK peer (or a stand-in when XNNPACK is not found).
#include "peers/peers.h"

#if defined(LOCI_BENCH_HAVE_XNNPACK)
#include <pthreadpool.h>
#include <xnnpack.h>

#include <limits>
#include <new>
#endif

namespace loci::bench {

#if defined(LOCI_BENCH_HAVE_XNNPACK)

bool xnnpack_available() {
  static const bool ok = xnn_initialize(nullptr) == xnn_status_success;
  return ok;
}
const char* xnnpack_build() { return "XNNPACK (system library), f32 fully-connected"; }

std::unique_ptr<XnnpackFc> XnnpackFc::create() {
  if (!xnnpack_available()) return nullptr;
  std::unique_ptr<XnnpackFc> fc(new (std::nothrow) XnnpackFc());
  if (!fc || !fc->set_threads(1)) return nullptr;
  return fc;
}

bool XnnpackFc::set_threads(size_t threads) {
  if (pool_ && pthreadpool_get_threads_count(static_cast<pthreadpool_t>(pool_)) == threads) return true;
  if (pool_) pthreadpool_destroy(static_cast<pthreadpool_t>(pool_));
  pool_ = pthreadpool_create(threads);
  return pool_ != nullptr;
}

XnnpackFc::~XnnpackFc() {
  for (void* op : ops_) xnn_delete_operator(static_cast<xnn_operator_t>(op));
  if (pool_) pthreadpool_destroy(static_cast<pthreadpool_t>(pool_));
}

bool XnnpackFc::add_weights(const float* w, size_t n, size_t k) {
  xnn_operator_t op = nullptr;
  // Kernel is [output channels][input channels], loci's n x k layout; no bias, no clamp.
  const float inf = std::numeric_limits<float>::infinity();
  if (xnn_create_fully_connected_nc_f32(k, n, k, n, w, nullptr, -inf, inf, 0, &op) != xnn_status_success) return false;
  ops_.push_back(op);
  return true;
}

bool XnnpackFc::run(size_t i, const float* x, size_t m, float* y) {
  if (ops_.empty()) return false;
  auto op = static_cast<xnn_operator_t>(ops_[i % ops_.size()]);
  auto pool = static_cast<pthreadpool_t>(pool_);
  if (xnn_setup_fully_connected_nc_f32(op, m, x, y, pool) != xnn_status_success) return false;
  return xnn_run_operator(op, pool) == xnn_status_success;
}

#else

bool xnnpack_available() { return false; }
const char* xnnpack_build() { return "XNNPACK not built in"; }
std::unique_ptr<XnnpackFc> XnnpackFc::create() { return nullptr; }
bool XnnpackFc::set_threads(size_t) { return false; }
XnnpackFc::~XnnpackFc() = default;
bool XnnpackFc::add_weights(const float*, size_t, size_t) { return false; }
bool XnnpackFc::run(size_t, const float*, size_t, float*) { return false; }

#endif

}  // namespace loci::bench
