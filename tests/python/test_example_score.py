"""examples/python/score.py on stories260K: finite perplexities, natural
sentences ranked above the same words shuffled, numpy and pure Python agree."""

import math
import os
import subprocess
import sys

import pytest

from conftest import SOURCE_DIR, model_path

SCRIPT = SOURCE_DIR / "examples" / "python" / "score.py"
# Pairs: a sentence in the style stories260K learned, and its words shuffled.
PAIRS = [
    ("Once upon a time, there was a little girl named Lily.", "Lily named girl little a was there time, a upon Once."),
    ("She loved to play outside in the park.", "park the outside in loved play She to."),
    ("One day, she saw a big, red ball.", "ball red big, a saw she day, One."),
]


def run_score(args, **env_changes):
    env = dict(os.environ, **env_changes)
    r = subprocess.run([sys.executable, str(SCRIPT), "--model", str(model_path("stories260K.gguf")),
                        "--threads", "1"] + args,
                       env=env, capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    assert lines[0].split()[:5] == ["rank", "tokens", "sum", "lp", "mean"]
    rows = {}
    for line in lines[1:]:
        rank, tokens, total, mean, ppl, text = line.split(None, 5)
        rows[text] = dict(rank=int(rank), tokens=int(tokens), sum=float(total), mean=float(mean), ppl=float(ppl))
    return rows


@pytest.fixture(scope="module")
def scored():
    return run_score([text for pair in PAIRS for text in pair])


def test_every_prompt_gets_a_finite_perplexity(scored):
    assert len(scored) == 2 * len(PAIRS)
    for text, row in scored.items():
        assert math.isfinite(row["ppl"]) and row["ppl"] >= 1.0, text
        assert row["sum"] <= 0 and row["sum"] == pytest.approx(row["mean"] * (row["tokens"] - 1), abs=2e-3)
        assert row["ppl"] == pytest.approx(math.exp(-row["mean"]), rel=1e-3)
    assert sorted(r["rank"] for r in scored.values()) == list(range(1, 2 * len(PAIRS) + 1))


def test_natural_sentences_beat_shuffled_words(scored):
    for natural, shuffled in PAIRS:
        assert scored[natural]["ppl"] < scored[shuffled]["ppl"] / 10
    worst_natural = max(scored[n]["rank"] for n, _ in PAIRS)
    best_shuffled = min(scored[s]["rank"] for _, s in PAIRS)
    assert worst_natural < best_shuffled


def test_pure_python_path_agrees_and_file_input_works(scored, tmp_path):
    prompts = tmp_path / "prompts.txt"
    prompts.write_text("\n".join(PAIRS[0]) + "\n\n", encoding="utf-8")
    plain = run_score(["--file", str(prompts)], LOCI_NO_NUMPY="1")
    assert set(plain) == set(PAIRS[0])
    for text, row in plain.items():
        assert row["tokens"] == scored[text]["tokens"]
        assert row["mean"] == pytest.approx(scored[text]["mean"], abs=2e-4)
