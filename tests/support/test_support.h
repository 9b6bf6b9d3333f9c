// Helpers shared by loci's tests.
#pragma once

#include <cstdint>
#include <random>
#include <string>
#include <vector>

namespace loci::test {

// The seed for this process's random data: LOCI_TEST_SEED if set, else fresh
// from the OS. Printed once, so a failing run can be replayed.
uint64_t seed();
// A generator seeded from seed() and `stream`, so each test gets its own data.
std::mt19937_64 rng(uint64_t stream);
std::vector<float> random_floats(std::mt19937_64& g, size_t n, float lo = -1.0f, float hi = 1.0f);
std::vector<uint8_t> random_bytes(std::mt19937_64& g, size_t n);

// The shared-data folder: LOCI_SHARED_DIR (set by ctest from the CMake setting
// of the same name), else ../shared relative to the working directory.
std::string shared_dir();
bool file_exists(const std::string& path);

}  // namespace loci::test
