#!/usr/bin/env bash
# Regenerates tests/abi/exports.txt and tests/abi/libloci.abi from a native
# x86-64 build with tests on (tests/abi gives the C shims the DWARF abidw reads).
# Run it after an intended ABI change and commit both files with that change.
#   tests/abi/update-baseline.sh BUILD_DIR
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
build=${1:?usage: tests/abi/update-baseline.sh BUILD_DIR}
for tool in abidw nm readelf; do
  command -v "$tool" >/dev/null || { echo "$tool not found (Debian: abigail-tools, binutils)"; exit 1; }
done
# The baseline must describe the current sources.
cmake --build "$build" --target loci_shared -j2
lib=$(readlink -f "$build/libloci.so")
exec /usr/bin/python3 "$here/check_abi.py" update --lib "$lib"
