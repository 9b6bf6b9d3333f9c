#!/usr/bin/env bash
# Builds and runs the consumer projects in this folder, the ways a user would
# take loci. One mode per ctest test (see CMakeLists.txt here):
#   install               cmake --install into a fresh prefix, then move it
#                         (relocation) and check the tree; the next two use it
#   find-package-install  find_package(loci) from that prefix (C++ and C-only projects)
#   pkg-config            cc with `pkg-config loci` from that prefix, shared and static
#   find-package-build    find_package(loci) with loci_DIR = loci's build dir (both projects)
#   add-subdirectory      add_subdirectory(<loci source>) into a consumer
# Usage: run.sh MODE [CONFIG]. Settings come from LOCI_CONSUMER_* variables
# (below), which ctest sets. Every check that fails says what and exits 1.
set -euo pipefail

mode=${1:?usage: run.sh MODE [CONFIG]}
config=${2:-}
[ -n "$config" ] || config=Release

cmake=${LOCI_CONSUMER_CMAKE:?}
generator=${LOCI_CONSUMER_GENERATOR:?}
make_program=${LOCI_CONSUMER_MAKE_PROGRAM:-}
cc=${LOCI_CONSUMER_CC:?}
cxx=${LOCI_CONSUMER_CXX:?}
loci_src=${LOCI_CONSUMER_SOURCE_DIR:?}
loci_bin=${LOCI_CONSUMER_BINARY_DIR:?}
work=${LOCI_CONSUMER_WORK:?}
version=${LOCI_CONSUMER_VERSION:?}
abi=${LOCI_CONSUMER_ABI:?}
readelf=${LOCI_CONSUMER_READELF:-readelf}
jobs=${LOCI_CONSUMER_JOBS:-2}

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
prefix=$work/prefix

fail() {
  echo "FAIL ($mode): $*" >&2
  exit 1
}

# Runs a step, echoing it; a failing step names itself.
run() {
  local what=$1
  shift
  echo "== $what"
  "$@" || fail "$what"
}

install_dirs() {
  libdir=${LOCI_CONSUMER_LIBDIR:?}
  cmakedir=${LOCI_CONSUMER_CMAKEDIR:?}
  pcdir=${LOCI_CONSUMER_PKGCONFIGDIR:?}
}

# configure SRC BUILD [-DX=Y...]: a fresh build dir with the parent's tools.
configure() {
  local src=$1 build=$2
  shift 2
  rm -rf "$build"
  local args=(-S "$src" -B "$build" -G "$generator" -DCMAKE_C_COMPILER="$cc" -DCMAKE_CXX_COMPILER="$cxx"
    -DCMAKE_BUILD_TYPE="$config" -DCMAKE_FIND_USE_PACKAGE_REGISTRY=OFF)
  [ -z "$make_program" ] || args+=(-DCMAKE_MAKE_PROGRAM="$make_program")
  run "configure $(basename "$src") in $build" "$cmake" "${args[@]}" "$@"
}

needed() { "$readelf" -d "$1" | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p'; }

# A program that must load libloci.so.ABI, or must not load any libloci.
expect_shared() {
  needed "$1" | grep -qx "libloci.so.$abi" || fail "$1 does not link libloci.so.$abi (needs: $(needed "$1" | xargs))"
}
expect_static() {
  if needed "$1" | grep -q '^libloci'; then fail "$1 should hold loci statically but needs $(needed "$1" | xargs)"; fi
}

# Runs each program the consumer's build listed; *_shared ones load libloci.so.
run_programs() {
  local list=$1/programs-$config.txt
  [ -s "$list" ] || fail "no program list at $list"
  while read -r program; do
    case $(basename "$program") in
      *_shared) expect_shared "$program" ;;
      *) expect_static "$program" ;;
    esac
    run "run $(basename "$program")" "$program"
  done <"$list"
}

mode_install() {
  install_dirs
  rm -rf "$work/stage" "$prefix"
  mkdir -p "$work"
  run "cmake --install into $work/stage" "$cmake" --install "$loci_bin" --prefix "$work/stage" --config "$config"
  # Relocation: nothing installed may depend on where the tree was put.
  mv "$work/stage" "$prefix"
  echo "== installed tree (moved to $prefix)"
  (cd "$prefix" && find . -mindepth 1 | sort)

  local f missing=()
  for f in include/loci.h include/loci/status.h include/loci/tensor.h include/loci/quant.h \
    "$libdir/libloci.a" "$libdir/libloci.so" "$libdir/libloci.so.$abi" "$libdir/libloci.so.$version" \
    "$cmakedir/lociConfig.cmake" "$cmakedir/lociConfigVersion.cmake" "$cmakedir/lociTargets.cmake" \
    "$cmakedir/lociDependencies.cmake" "$pcdir/loci.pc"; do
    [ -e "$prefix/$f" ] || missing+=("$f")
  done
  [ ${#missing[@]} = 0 ] || fail "missing from the install tree: ${missing[*]}"
  [ "$(readlink "$prefix/$libdir/libloci.so")" = "libloci.so.$abi" ] || fail "libloci.so does not point at libloci.so.$abi"
  [ "$(readlink "$prefix/$libdir/libloci.so.$abi")" = "libloci.so.$version" ] ||
    fail "libloci.so.$abi does not point at libloci.so.$version"
  "$readelf" -d "$prefix/$libdir/libloci.so.$version" | grep -q "SONAME.*\[libloci.so.$abi\]" ||
    fail "libloci.so.$version has no SONAME libloci.so.$abi"
  [ ! -e "$prefix/include/shim.h" ] && [ ! -e "$prefix/include/loci/shim.h" ] || fail "a private C ABI header was installed"
  # A path into loci's source or build tree would break on another machine.
  local leaks
  leaks=$(grep -rlF -e "$loci_src/" -e "$loci_bin" "$prefix/$cmakedir" "$prefix/$pcdir" || true)
  [ -z "$leaks" ] || fail "installed package files name loci's source or build tree: $leaks"
  echo "install tree ok"
}

# build_and_run PROJECT BUILD [-DX=Y...]: configure, build all, run what it lists.
build_and_run() {
  local project=$1 build=$2
  shift 2
  configure "$here/$project" "$build" "$@"
  run "build $project" "$cmake" --build "$build" --config "$config" -j "$jobs"
  run_programs "$build"
}

# The loci_DIR a configured consumer found.
expect_found_in() {
  local found
  found=$(sed -n 's/^loci_DIR:PATH=//p' "$1/CMakeCache.txt")
  [ "$found" = "$2" ] || fail "found loci in '$found', expected $2"
}

mode_find_package_install() {
  install_dirs
  [ -d "$prefix" ] || fail "no install tree at $prefix (the install test sets it up)"
  build_and_run find_package "$work/find-package-install" -DCMAKE_PREFIX_PATH="$prefix" \
    -DCONSUMER_EXPECT_VERSION="$version" -DCONSUMER_CHECK_VERSIONS=ON
  expect_found_in "$work/find-package-install" "$prefix/$cmakedir"
  build_and_run c_only "$work/find-package-install-c-only" -DCMAKE_PREFIX_PATH="$prefix"
  expect_found_in "$work/find-package-install-c-only" "$prefix/$cmakedir"
}

mode_find_package_build() {
  build_and_run find_package "$work/find-package-build" -Dloci_DIR="$loci_bin" -DCONSUMER_EXPECT_VERSION="$version"
  build_and_run c_only "$work/find-package-build-c-only" -Dloci_DIR="$loci_bin"
}

mode_add_subdirectory() {
  local build=$work/add-subdirectory
  configure "$here/add_subdirectory" "$build" -DCONSUMER_LOCI_SOURCE_DIR="$loci_src"
  # The consumers only: loci builds just the library they link.
  run "build consumer_cpp consumer_c" "$cmake" --build "$build" --config "$config" -j "$jobs" \
    --target consumer_cpp consumer_c
  run_programs "$build"
  # A vendored loci must add no install rules to its parent.
  rm -rf "$work/add-subdirectory-install"
  run "cmake --install the consumer" "$cmake" --install "$build" --prefix "$work/add-subdirectory-install" --config "$config"
  if [ -d "$work/add-subdirectory-install" ] && [ -n "$(find "$work/add-subdirectory-install" -type f)" ]; then
    fail "installing the consumer installed loci files: $(find "$work/add-subdirectory-install" -type f | xargs)"
  fi
}

mode_pkg_config() {
  install_dirs
  [ -d "$prefix" ] || fail "no install tree at $prefix (the install test sets it up)"
  local pc=${LOCI_CONSUMER_PKG_CONFIG:?} out=$work/pkg-config
  export PKG_CONFIG_PATH=$prefix/$pcdir${PKG_CONFIG_PATH:+:$PKG_CONFIG_PATH}
  rm -rf "$out"
  mkdir -p "$out"

  [ "$("$pc" --modversion loci)" = "$version" ] || fail "pkg-config reports version $("$pc" --modversion loci), not $version"
  local pc_prefix
  pc_prefix=$(cd "$("$pc" --variable=prefix loci)" && pwd -P) || fail "loci.pc's prefix does not exist"
  [ "$pc_prefix" = "$(cd "$prefix" && pwd -P)" ] || fail "loci.pc's prefix is $pc_prefix, not the moved tree $prefix"

  local cflags libs static_libs
  read -ra cflags <<<"$("$pc" --cflags loci)"
  read -ra libs <<<"$("$pc" --libs loci)"
  read -ra static_libs <<<"$("$pc" --static --libs loci)"
  echo "cflags: ${cflags[*]}"
  echo "libs: ${libs[*]}"
  echo "static libs: ${static_libs[*]}"
  local strict=(-std=c99 -Wall -Wextra -Werror -pedantic)

  run "cc against libloci.so" "$cc" "${strict[@]}" "${cflags[@]}" "$here/c/main.c" "${libs[@]}" -o "$out/c_shared"
  expect_shared "$out/c_shared"
  run "run c_shared" env LD_LIBRARY_PATH="$prefix/$libdir" "$out/c_shared"

  # The static form: libloci.a itself, the rest as --static lists it.
  local static_link=() replaced=0 item
  for item in "${static_libs[@]}"; do
    if [ "$item" = -lloci ]; then
      static_link+=(-Wl,-Bstatic -lloci -Wl,-Bdynamic)
      replaced=$((replaced + 1))
    else
      static_link+=("$item")
    fi
  done
  [ "$replaced" = 1 ] || fail "pkg-config --static --libs loci lists -lloci $replaced times"
  run "cc against libloci.a" "$cc" "${strict[@]}" "${cflags[@]}" "$here/c/main.c" "${static_link[@]}" -o "$out/c_static"
  expect_static "$out/c_static"
  run "run c_static" "$out/c_static"

  # Without Libs.private/Requires.private the same static link must fail:
  # otherwise the test above proved nothing about them.
  local bare=()
  for item in "${libs[@]}"; do
    if [ "$item" = -lloci ]; then bare+=(-Wl,-Bstatic -lloci -Wl,-Bdynamic); else bare+=("$item"); fi
  done
  if "$cc" "${strict[@]}" "${cflags[@]}" "$here/c/main.c" "${bare[@]}" -o "$out/c_static_bare" 2>/dev/null; then
    fail "libloci.a linked without its private libraries: the --static check is vacuous"
  fi
  echo "pkg-config consumers ok"
}

case $mode in
  install) mode_install ;;
  find-package-install) mode_find_package_install ;;
  find-package-build) mode_find_package_build ;;
  add-subdirectory) mode_add_subdirectory ;;
  pkg-config) mode_pkg_config ;;
  *) fail "unknown mode" ;;
esac
