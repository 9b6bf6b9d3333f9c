// Counts heap allocations made by any thread while counting is on. The
// counter replaces malloc and friends for this whole test binary (glibc lets
// an executable interpose them), so operator new is counted too.
#pragma once

#include <cstddef>

namespace loci::test {

void start_counting_allocations();
// Stops counting and returns how many allocations were made since the start.
size_t stop_counting_allocations();

}  // namespace loci::test
