#!/usr/bin/env python3
"""Scores text under a model: the log-probability of each prompt's tokens
(each given the ones before it), their sum and mean, and the perplexity.

  score.py --model stories260K.gguf "Once upon a time" "time a upon Once"
  score.py --model stories260K.gguf --file prompts.txt   # one prompt per line

One eval per prompt returns every position's logits; the log-softmax runs in
numpy when it is installed, else in plain Python.
"""

import argparse
import math
import sys

import loci


def log_softmax_at(row, index):
    """log p(index) under the logits `row` (numpy array or array('f'))."""
    if loci.has_numpy:
        import numpy as np

        row = row.astype(np.float64)
        top = row.max()
        return float(row[index] - top - np.log(np.exp(row - top).sum()))
    top = max(row)
    return row[index] - top - math.log(math.fsum(math.exp(x - top) for x in row))


def score(session, model, text):
    """(token count, per-token log-probs) of `text`, BOS first and unscored."""
    tokens = model.tokenize(text, add_bos=True)
    session.reset()
    rows = session.eval(tokens, all_logits=True)
    # The logits after token i predict token i + 1.
    return len(tokens), [log_softmax_at(rows[i], tokens[i + 1]) for i in range(len(tokens) - 1)]


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("prompts", nargs="*", help="texts to score")
    ap.add_argument("--model", required=True, help="a GGUF file")
    ap.add_argument("--file", help="read prompts from this file, one per line")
    ap.add_argument("--n-ctx", type=int, default=0, help="context length (0: the model's, at most 4096)")
    ap.add_argument("--threads", type=int, default=0, help="compute threads (default 0: one per core)")
    args = ap.parse_args(argv)

    prompts = list(args.prompts)
    if args.file:
        with open(args.file, encoding="utf-8") as f:
            prompts += [line.rstrip("\n") for line in f if line.strip()]
    if not prompts:
        ap.error("give prompts as arguments or with --file")

    with loci.Model(args.model) as model, \
            loci.Session(model, n_ctx=args.n_ctx, n_threads=args.threads) as session:
        results = []
        for text in prompts:
            try:
                n, logprobs = score(session, model, text)
            except loci.OutOfRangeError as e:  # longer than the context
                print("skipped %r: %s" % (text, e), file=sys.stderr)
                continue
            total = sum(logprobs)
            mean = total / len(logprobs) if logprobs else float("nan")
            results.append((text, n, total, mean, math.exp(-mean) if logprobs else float("nan")))

    ranks = {id(r): i + 1 for i, r in enumerate(sorted(results, key=lambda r: r[4]))}
    print("%4s %6s %10s %9s %11s  %s" % ("rank", "tokens", "sum lp", "mean lp", "perplexity", "text"))
    for r in results:
        text, n, total, mean, ppl = r
        print("%4d %6d %10.3f %9.4f %11.3f  %s" % (ranks[id(r)], n, total, mean, ppl, text))
    return 0


if __name__ == "__main__":
    sys.exit(main())
