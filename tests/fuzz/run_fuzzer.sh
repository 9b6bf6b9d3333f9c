#!/usr/bin/env bash
# Runs one libFuzzer target for a fixed time on a fresh copy of its seed
# corpus; fails if the fuzzer reports a crash, leak, timeout or OOM.
# Usage: run_fuzzer.sh FUZZER SEED_DIR WORK_DIR SECONDS MAX_LEN [libFuzzer flags...]
set -uo pipefail
fuzzer=$1 seeds=$2 work=$3 seconds=$4 max_len=$5
shift 5

rm -rf "$work"
mkdir -p "$work/corpus" "$work/artifacts"
if ! cp "$seeds"/* "$work/corpus/"; then
  echo "FAIL: no seed corpus in $seeds (build the loci_fuzzers target)"
  exit 1
fi
echo "seeds: $(ls "$work/corpus" | wc -l) files from $seeds"

# UBSan stops at the first report.
export UBSAN_OPTIONS="halt_on_error=1:print_stacktrace=1${UBSAN_OPTIONS:+:$UBSAN_OPTIONS}"

"$fuzzer" -max_total_time="$seconds" -max_len="$max_len" -timeout=10 -rss_limit_mb=2048 \
  -print_final_stats=1 -artifact_prefix="$work/artifacts/" "$@" "$work/corpus" 2>&1 | tee "$work/log.txt" |
  grep -E '^(#[0-9]+[[:space:]]+(INITED|DONE)|stat::|==[0-9]+==|SUMMARY|FUZZ_CHECK|  )' | tail -n 60
rc=${PIPESTATUS[0]}

echo "corpus after the run: $(ls "$work/corpus" | wc -l) files"
if [ "$rc" != 0 ] || [ -n "$(ls -A "$work/artifacts")" ]; then
  echo "FAIL: $(basename "$fuzzer") exited with $rc; crashing inputs:"
  ls -l "$work/artifacts"
  echo "full log: $work/log.txt"
  exit 1
fi
echo "PASS: $(basename "$fuzzer") ran ${seconds}s without a crash"
