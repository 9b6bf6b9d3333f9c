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
