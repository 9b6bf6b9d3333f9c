// Counts heap allocations made by any thread while counting is on. The
// counter replaces malloc and friends for this whole test binary (glibc lets
// an executable interpose them), so operator new is counted too.
//
// It can also make one counted allocation fail (malloc returns null, so
// operator new throws std::bad_alloc) and track which counted blocks are
// still live, for the failure-injection tests.
#pragma once

#include <cstddef>

namespace loci::test {

void start_counting_allocations();
// Stops counting and returns how many allocations were made since the start.
size_t stop_counting_allocations();

// Arms a failure for the next counting period: its allocation number `n`
// (1 = the first) returns null; 0 disarms. Only that one fails.
void fail_allocation_number(size_t n);
// Whether the armed failure has happened in the current/last period.
bool injected_failure_happened();
// Blocks allocated while counting and not freed since (frees are seen after
// counting stops too, so this can be read after destroying objects).
size_t live_counted_blocks();
// The largest single request made while counting.
size_t largest_counted_request();
// True if more blocks were live at once than the tracker holds; the live
// count is then unreliable and tests must say so.
bool live_tracking_overflowed();
// Calls f on each tracked live block (LOCI_FAILPATH_DEBUG); not thread-safe.
void debug_dump_live(void (*f)(void*));

}  // namespace loci::test
