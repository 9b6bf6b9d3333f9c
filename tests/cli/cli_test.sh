#!/usr/bin/env bash
# Runs the built `loci` command and checks what it prints and how it exits.
#   cli_test.sh LOCI SHARED_DIR CASE [ARGS...]
# Each case prints what went wrong and exits non-zero on failure.
set -u

loci=$1
shared=$2
case_name=$3
shift 3
models=$shared/models
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

fail() {
  echo "FAIL: $*" >&2
  exit 1
}

# Runs loci with stdout and stderr captured to $tmp/out and $tmp/err; sets $rc.
run_loci() {
  "$loci" "$@" >"$tmp/out" 2>"$tmp/err"
  rc=$?
}

# A wrong input: a non-zero exit that is not a signal (no crash), and stderr
# that is exactly one line reading "loci: error: ...".
expect_one_error_line() {
  run_loci "$@"
  [ "$rc" -ne 0 ] || fail "loci $* exited 0"
  [ "$rc" -lt 128 ] || fail "loci $* died with signal $((rc - 128))"
  local lines
  lines=$(wc -l <"$tmp/err")
  [ "$lines" -eq 1 ] || { cat "$tmp/err" >&2; fail "loci $* printed $lines lines on stderr, not 1"; }
  grep -q '^loci: error: .' "$tmp/err" || { cat "$tmp/err" >&2; fail "loci $*: stderr is not a 'loci: error:' line"; }
  echo "ok (exit $rc): $(cat "$tmp/err")"
}

# Input number $2 (from 1) of a llama.cpp tokenizer .inp file, byte for byte.
vocab_input() {
  awk -v want="$2" 'BEGIN { RS = "\n__ggml_vocab_test__\n" } NR == want { printf "%s", $0 }' "$1"
}

trim() { sed -e 's/^ *//' -e 's/ *$//'; }

case $case_name in
  golden)
    # Greedy from BOS: byte for byte the llama2.c text (which, like loci after
    # an empty prompt, has no leading space).
    run_loci run -m "$models/stories260K.gguf" -p "" -n 200 --temp 0 -t 2
    [ "$rc" -eq 0 ] || { cat "$tmp/err" >&2; fail "exit $rc"; }
    cmp "$tmp/out" "$models/golden/stories260K.llama2c-expected-greedy-200.txt" ||
      fail "stdout differs from the golden text"
    grep -q 'prefill 1 tokens' "$tmp/err" || fail "no prefill statistics on stderr"
    grep -q 'decode  200 tokens' "$tmp/err" || fail "no decode statistics on stderr"
    grep -q 'KV cache' "$tmp/err" || fail "no memory report on stderr"
    ;;

  stop)
    # --stop cuts right before the first occurrence, which is never printed.
    golden=$(cat "$models/golden/stories260K.llama2c-expected-greedy-200.txt")
    for stop in "Lily" "big, red" "."; do
      run_loci run -m "$models/stories260K.gguf" -n 200 --temp 0 --stop "$stop" --stop "not there"
      [ "$rc" -eq 0 ] || fail "exit $rc"
      expected=${golden%%"$stop"*}
      [ "$(cat "$tmp/out"; echo x)" = "${expected}x" ] || fail "--stop '$stop': got '$(cat "$tmp/out")'"
      grep -q 'stopped: stop_string' "$tmp/err" || fail "--stop '$stop': no stop_string reason"
    done
    ;;

  seed)
    # The same seed gives the same text; the prompt is echoed first.
    run_loci run -m "$models/stories260K.gguf" -p "Once upon a time" -n 40 --seed 1234 --temp 1
    first=$(cat "$tmp/out")
    run_loci run -m "$models/stories260K.gguf" -p "Once upon a time" -n 40 --seed 1234 --temp 1
    [ "$(cat "$tmp/out")" = "$first" ] || fail "two runs with --seed 1234 differ"
    case $first in "Once upon a time"?*) ;; *) fail "the prompt is not echoed: '$first'" ;; esac
    # The prompt from stdin (-f -) gives the same text.
    printf 'Once upon a time' | "$loci" run -m "$models/stories260K.gguf" -f - -n 40 --seed 1234 --temp 1 >"$tmp/out2" 2>/dev/null
    [ "$(cat "$tmp/out2")" = "$first" ] || fail "the prompt from stdin gives different text"
    ;;

  max-tokens)
    # -n bounds the tokens; a small context stops generation when it is full.
    run_loci run -m "$models/stories260K.gguf" -n 7 --temp 0
    grep -q 'decode  7 tokens.*stopped: max_tokens' "$tmp/err" || { cat "$tmp/err" >&2; fail "-n 7"; }
    run_loci run -m "$models/stories260K.gguf" -c 16 --temp 0
    grep -q 'decode  16 tokens.*stopped: context_full' "$tmp/err" || { cat "$tmp/err" >&2; fail "-c 16"; }
    ;;

  tokenize-model)
    # The prompt tokens llama.cpp produced for the golden run.
    expected=$(grep -o '"prompt_tokens": \[[^]]*\]' "$models/golden/stories260K__once__n64.json" |
      sed -e 's/.*\[//' -e 's/\]//' -e 's/,//g')
    run_loci tokenize -m "$models/stories260K.gguf" --ids "Once upon a time"
    [ "$rc" -eq 0 ] || fail "exit $rc"
    [ "$(cat "$tmp/out")" = "$expected" ] || fail "got '$(cat "$tmp/out")', expected '$expected'"
    # The listing form: one `id -> 'piece'` line per token.
    run_loci tokenize -m "$models/stories260K.gguf" "Once upon a time"
    [ "$(wc -l <"$tmp/out")" -eq 5 ] || fail "listing has $(wc -l <"$tmp/out") lines, expected 5"
    grep -q "^ *403 -> ' Once'$" "$tmp/out" || { cat "$tmp/out" >&2; fail "no line for ' Once'"; }
    ;;

  tokenize-vocab)
    # `loci tokenize --ids` on a vocab-only file equals llama.cpp's vectors
    # (made without BOS and without parsing special tokens).
    vocab=$1
    shift
    inp=$shared/tokenizer/$vocab.inp
    out=$shared/tokenizer/$vocab.out
    n=$(wc -l <"$out")
    for ((i = 1; i <= n; i++)); do
      vocab_input "$inp" "$i" >"$tmp/in"
      "$loci" tokenize -m "$shared/tokenizer/$vocab" --ids --no-bos --no-parse-special - <"$tmp/in" >"$tmp/ids" 2>"$tmp/err" ||
        { cat "$tmp/err" >&2; fail "input $i: exit $?"; }
      got=$(trim <"$tmp/ids")
      want=$(sed -n "${i}p" "$out" | trim)
      [ "$got" = "$want" ] || fail "input $i ('$(cat "$tmp/in")'): got '$got', expected '$want'"
    done
    echo "ok: $n inputs"
    ;;

  info)
    # Tensor count and file type; stories260K has 5 layers of 9 tensors plus
    # token_embd, output_norm and output.
    run_loci info "$models/stories260K-q4_0.gguf"
    [ "$rc" -eq 0 ] || { cat "$tmp/err" >&2; fail "exit $rc"; }
    grep -q '^tensors: 48$' "$tmp/out" || fail "no 'tensors: 48'"
    grep -q '^file type: Q4_0 (MOSTLY_Q4_0, 2)' "$tmp/out" || fail "no Q4_0 file type"
    grep -q 'general.architecture  *string  *"llama"' "$tmp/out" || fail "no general.architecture line"
    grep -q 'tokenizer.ggml.tokens  *array\[string\] x 512  *\["<unk>", "<s>", "</s>",' "$tmp/out" ||
      fail "no array preview for tokenizer.ggml.tokens"
    grep -q 'blk.0.ffn_down.weight  *f16  *\[172, 64\]' "$tmp/out" || fail "no typed, shaped tensor line"
    grep -q '^  KV cache ' "$tmp/out" || fail "no memory estimate"
    run_loci info "$models/synth-kq-q4_k_m.gguf"
    grep -q '^file type: Q4_K - Medium (MOSTLY_Q4_K_M, 15)' "$tmp/out" || fail "no Q4_K_M file type"
    # No general.file_type: guessed from the tensors, as llama.cpp does.
    run_loci info "$models/stories260K.gguf" -c 64
    grep -q '^file type: all F32 .*guessed' "$tmp/out" || fail "no guessed file type"
    grep -q 'context 64' "$tmp/out" || fail "-c 64 not used for the estimate"
    # A vocab-only file has metadata and no tensors.
    run_loci info "$shared/tokenizer/ggml-vocab-gpt-2.gguf"
    [ "$rc" -eq 0 ] || { cat "$tmp/err" >&2; fail "vocab-only: exit $rc"; }
    grep -q '^tensors: 0$' "$tmp/out" || fail "vocab-only: no 'tensors: 0'"
    ;;

  bench)
    # A synthetic stories15M at 1 thread: JSON with llama-bench's field names,
    # one object per test, as many samples as repetitions, and a real speed.
    run_loci bench --synthetic stories15m:q4_0 -p 16 -n 4 -r 2 -t 1 -o json --no-bandwidth
    [ "$rc" -eq 0 ] || { cat "$tmp/err" >&2; fail "json: exit $rc"; }
    grep -q 'synthetic:stories15m:q4_0 t1 pp16: 2/2' "$tmp/err" || { cat "$tmp/err" >&2; fail "no progress on stderr"; }
    /usr/bin/python3 - "$tmp/out" <<'PY' || fail "bad JSON"
import json, sys
runs = json.load(open(sys.argv[1]))
assert [(r["n_prompt"], r["n_gen"]) for r in runs] == [(16, 0), (0, 4)], runs
for r in runs:
    for key in ("model_filename", "model_type", "model_size", "model_n_params", "n_threads", "avg_ts",
                "stddev_ts", "samples_ts", "samples_ns", "cpu_info", "loci_version", "peak_rss_bytes"):
        assert key in r, key
    assert r["model_filename"] == "synthetic:stories15m:q4_0" and r["n_threads"] == 1
    assert r["model_type"].startswith("llama 15M Q4_0"), r["model_type"]
    assert 15e6 < r["model_n_params"] < 16e6, r["model_n_params"]
    assert len(r["samples_ts"]) == 2 and r["avg_ts"] > 0 and r["peak_rss_bytes"] > r["model_size"]
PY
    # A file and the default markdown table, with the bandwidth column filled for tg.
    run_loci bench -m "$models/stories260K.gguf" -p 8 -n 8 -r 1 -t 1
    [ "$rc" -eq 0 ] || { cat "$tmp/err" >&2; fail "md: exit $rc"; }
    grep -q '^read bandwidth: .* GB/s at 1 thread' "$tmp/out" || fail "no bandwidth line"
    grep -q '^| model | size | params | threads | test | t/s | % bw | peak RSS |$' "$tmp/out" || fail "no table header"
    grep -q '^| llama .* | 1 | pp8 | [0-9.]* ± [0-9.]* |  | [0-9]* MiB |$' "$tmp/out" || { cat "$tmp/out" >&2; fail "no pp8 row"; }
    grep -q '^| llama .* | 1 | tg8 | [0-9.]* ± [0-9.]* | [0-9]*% | [0-9]* MiB |$' "$tmp/out" || { cat "$tmp/out" >&2; fail "no tg8 row"; }
    grep -q 'f32: gemv loci_f32_gemv__' "$tmp/out" || fail "no kernel line"
    run_loci bench -m "$models/stories260K.gguf" -p 8 -n 0 -r 3 -t 1 -o csv --no-bandwidth
    [ "$(wc -l <"$tmp/out")" -eq 2 ] || fail "csv: not a header and one row"
    head -1 "$tmp/out" | grep -q '^build_commit,.*,model_filename,.*,avg_ts,stddev_ts,.*samples_ns,samples_ts$' ||
      fail "csv: bad header"
    for bad in "-p x" "-p -1" "-t 0" "-o xml" "--synthetic llama-7b:q4_0" "--synthetic llama-1b:q9_0"; do
      # shellcheck disable=SC2086
      expect_one_error_line bench -q --synthetic stories15m:q4_0 $bad
    done
    expect_one_error_line bench -p 8
    # -q: progress lines would share stderr with the error.
    expect_one_error_line bench -q -m "$tmp/missing.gguf"
    ;;
  bench-missing)
    expect_one_error_line bench --synthetic stories15m:q4_0
    grep -q 'built without its benchmarks' "$tmp/err" || fail "the error does not say why"
    ;;
  synth)
    # The same seed writes the same bytes, another seed other weights, and the
    # file is a loadable model with the shape's tensors (6 layers x 9 + 2).
    run_loci synth stories15m:q8_0 -o "$tmp/a.gguf"
    [ "$rc" -eq 0 ] || { cat "$tmp/err" >&2; fail "exit $rc"; }
    grep -q '^wrote .*a.gguf: stories15m:q8_0' "$tmp/err" || fail "no summary line"
    run_loci synth stories15m:q8_0 -o "$tmp/b.gguf"
    cmp -s "$tmp/a.gguf" "$tmp/b.gguf" || fail "the same seed wrote different files"
    run_loci synth stories15m:q8_0 -o "$tmp/c.gguf" --seed 2
    ! cmp -s "$tmp/a.gguf" "$tmp/c.gguf" || fail "seeds 1 and 2 wrote the same file"
    run_loci info "$tmp/a.gguf"
    grep -q '^tensors: 56$' "$tmp/out" || fail "not 56 tensors"
    grep -q '^file type: Q8_0 (MOSTLY_Q8_0, 7)' "$tmp/out" || fail "not Q8_0"
    run_loci run -m "$tmp/a.gguf" -p "Once" -n 4 -s 1
    [ "$rc" -eq 0 ] || { cat "$tmp/err" >&2; fail "the synthetic file does not run"; }
    run_loci synth --list
    grep -q '^llama-1b ' "$tmp/out" && grep -q '^qwen2.5-0.5b ' "$tmp/out" && grep -q '^tinyllama-1.1b ' "$tmp/out" ||
      fail "--list misses a shape"
    expect_one_error_line synth stories15m:q8_0
    expect_one_error_line synth nosuch:q8_0 -o "$tmp/x.gguf"
    expect_one_error_line synth stories15m:q8_0 -o "$tmp/no/such/dir/x.gguf"
    [ ! -e "$tmp/no/such/dir/x.gguf.tmp" ] || fail "a partial file was left behind"
    ;;
  quantize)
    # loci's Q8_0 and Q4_0 files are byte for byte the files llama.cpp's
    # quantizer wrote from the same F32 model (see the shared README).
    for type in q8_0 q4_0; do
      run_loci quantize "$models/stories260K.gguf" "$tmp/$type.gguf" $type
      [ "$rc" -eq 0 ] || { cat "$tmp/err" >&2; fail "$type: exit $rc"; }
      grep -q "^\[  48/  48\] " "$tmp/err" || fail "$type: no progress line for the last tensor"
      cmp "$tmp/$type.gguf" "$models/stories260K-$type.gguf" || fail "$type: differs from llama.cpp's file"
    done
    expect_one_error_line quantize "$models/stories260K-q8_0.gguf" "$tmp/x.gguf" q4_0
    expect_one_error_line quantize "$models/stories260K.gguf" "$tmp/x.gguf" q9_0
    [ ! -e "$tmp/x.gguf" ] || fail "a refused quantize wrote a file"
    ;;
  help)
    for args in "--help" "run --help" "info --help" "tokenize --help" "--version"; do
      # shellcheck disable=SC2086
      run_loci $args
      [ "$rc" -eq 0 ] || fail "loci $args exited $rc"
      [ -s "$tmp/out" ] || fail "loci $args printed nothing"
    done
    run_loci run --help
    grep -q -- '--repeat-last-n' "$tmp/out" || fail "run --help does not list --repeat-last-n"
    ;;

  bad-inputs)
    expect_one_error_line run -m "$models/no-such-model.gguf" -n 1
    expect_one_error_line run -m "$models/legacy/stories260K-gguf-v1-f32.gguf" -n 1
    grep -q 'version' "$tmp/err" || fail "the v1 error does not name the version"
    expect_one_error_line run -m "$models/legacy/stories260K-gguf-v2-q8_0-unaligned-rows.gguf" -n 1
    expect_one_error_line info "$models/legacy/stories260K-gguf-v1-f32.gguf"
    expect_one_error_line tokenize -m "$models/no-such-model.gguf" hello
    expect_one_error_line run -m "$models/stories260K.gguf" --no-such-flag
    grep -q -- "'--no-such-flag'" "$tmp/err" || fail "the error does not name the flag"
    expect_one_error_line run -m "$models/stories260K.gguf" --temp warm
    grep -q -- "'--temp'" "$tmp/err" || fail "the error does not name --temp"
    expect_one_error_line run -m "$models/stories260K.gguf" -n
    expect_one_error_line run -m "$models/stories260K.gguf" --kv-type q8_0
    expect_one_error_line run -m "$models/stories260K.gguf" --top-p 2
    expect_one_error_line run -m "$models/stories260K.gguf" -c 4 -p "a prompt longer than four tokens"
    expect_one_error_line run -p "no model"
    expect_one_error_line tokenize -m "$models/stories260K.gguf"
    expect_one_error_line no-such-command
    expect_one_error_line info "$models/README.md"
    ;;

  *)
    fail "unknown case '$case_name'"
    ;;
esac
echo "ok: $case_name"
