// `loci bench` in a build without the benchmarks (LOCI_BUILD_BENCHMARKS=OFF).
#include "commands.h"

namespace loci::cli {

int bench_command(int, char**) {
  return report_error(unsupported("this loci was built without its benchmarks (configure with -DLOCI_BUILD_BENCHMARKS=ON)"));
}

}  // namespace loci::cli
