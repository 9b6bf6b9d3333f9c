"""loci.Session: evaluation, logits, reset/truncate, limits, cancel and
timeout; loci.Sampler."""

import threading
import time

import numpy as np
import pytest

import loci

from conftest import golden, wait_until

ONCE = "stories260K__once__n64.json"


def long_prompt(model, n):
    words = model.tokenize("Once upon a time there was a dog named Max.", add_bos=False)
    return [model.info.bos] + [words[i % len(words)] for i in range(n - 1)]


def test_logits_shape_dtype_and_golden_values(session):
    g = golden(ONCE)
    assert session.n_vocab == g["n_vocab"]
    with pytest.raises(loci.InvalidArgumentError):
        session.logits()  # nothing evaluated yet
    session.eval(g["prompt_tokens"])
    assert session.position == len(g["prompt_tokens"])
    logits = session.logits()
    assert isinstance(logits, np.ndarray) and logits.dtype == np.float32 and logits.shape == (g["n_vocab"],)
    expected = np.array(g["last_prompt_logits"], dtype=np.float32)
    np.testing.assert_allclose(logits, expected, rtol=1e-4, atol=1e-4)
    # The logits are a copy: evaluating more does not change them.
    before = logits.copy()
    session.eval([g["generated_tokens"][0]])
    assert np.array_equal(logits, before) and not np.array_equal(session.logits(), before)


def test_all_logits_rows_match_golden_top10(session):
    g = golden(ONCE)
    rows = session.eval(g["prompt_tokens"], all_logits=True)
    assert rows.shape == (len(g["prompt_tokens"]), g["n_vocab"]) and rows.dtype == np.float32
    assert np.array_equal(rows[-1], session.logits())
    for row, entry in zip(rows, g["prompt_logits_top10"]):
        top = entry["top10"]
        ids = [i for i, _ in top]
        np.testing.assert_allclose(row[ids], [v for _, v in top], rtol=1e-4, atol=1e-4)
        assert int(np.argmax(row)) == ids[0]


def test_batched_prefill_equals_token_by_token(stories):
    tokens = stories.tokenize("Once upon a time, there was a little girl named Lily.")

    def make():
        return loci.Session(stories, n_threads=1, n_ctx=64, kv_type="f32")

    with make() as a, make() as b:
        all_rows = a.eval(tokens, all_logits=True)
        for i, t in enumerate(tokens):
            b.eval([t])
            np.testing.assert_allclose(b.logits(), all_rows[i], rtol=1e-5, atol=1e-5)


def test_reset_and_truncate(session, stories):
    tokens = stories.tokenize("Once upon a time, there was a little girl")
    rows = session.eval(tokens, all_logits=True)
    session.truncate(4)
    assert session.position == 4
    with pytest.raises(loci.InvalidArgumentError):
        session.logits()  # a truncate that dropped tokens drops the logits
    session.eval(tokens[4:])  # re-evaluating the dropped tokens restores the same state
    np.testing.assert_allclose(session.logits(), rows[-1], rtol=1e-6, atol=1e-6)
    with pytest.raises(loci.OutOfRangeError):
        session.truncate(len(tokens) + 1)
    assert session.position == len(tokens)
    session.reset()
    assert session.position == 0
    with pytest.raises(loci.InvalidArgumentError):
        session.logits()
    session.eval(tokens)
    np.testing.assert_allclose(session.logits(), rows[-1], rtol=1e-6, atol=1e-6)


def test_failed_evals_leave_the_position_unchanged(stories):
    with loci.Session(stories, n_threads=1, n_ctx=16) as s:
        assert s.n_ctx == 16
        s.eval([1, 403])
        with pytest.raises(loci.OutOfRangeError):
            s.eval(long_prompt(stories, 15))  # 2 + 15 > 16
        with pytest.raises(loci.OutOfRangeError):
            s.eval([407, stories.n_vocab])  # a token outside the vocabulary
        assert s.position == 2
        s.eval(long_prompt(stories, 14))
        assert s.position == 16
        s.eval([])  # nothing to do
        assert s.position == 16


def test_session_parameters(stories):
    with loci.Session(stories) as s:
        assert s.n_ctx == min(stories.info.n_ctx_train, 4096)
    with pytest.raises(loci.InvalidArgumentError):
        loci.Session(stories, n_threads=1, n_ctx=-1)  # refused, not wrapped to 4 billion
    with pytest.raises(loci.InvalidArgumentError):
        loci.Session(stories, kv_type="f8")
    with pytest.raises(loci.InvalidArgumentError) as e:
        loci.Session(stories, kv_type=7)  # checked by the library
    assert "kv_type" in str(e.value)
    with pytest.raises(TypeError):
        loci.Session("not a model")
    f32 = loci.Session(stories, n_threads=1, n_ctx=64, kv_type="f32")
    f16 = loci.Session(stories, n_threads=1, n_ctx=64, kv_type=loci.constants.LOCI_KV_F16)
    assert f32.memory.kv_cache > 1.9 * f16.memory.kv_cache
    f32.close()
    f16.close()
    with pytest.raises(loci.InvalidArgumentError):
        f16.eval([1])  # closed


def test_cancel_from_another_thread_stops_an_eval(stories):
    tokens = long_prompt(stories, 2048)  # about a second of prefill
    with loci.Session(stories, n_threads=1, n_ctx=2048) as s:
        timer = threading.Timer(0.05, s.cancel)
        timer.start()
        t0 = time.monotonic()
        with pytest.raises(loci.CancelledError) as e:
            s.eval(tokens)
        timer.join()
        assert e.value.status == loci.constants.LOCI_ERR_CANCELLED
        assert s.position == 0
        # The request was consumed: the session works again.
        s.eval(tokens[:8])
        assert s.position == 8
        assert time.monotonic() - t0 < 30


def test_cancel_before_a_call_stops_that_call_only(session):
    session.cancel()
    with pytest.raises(loci.CancelledError):
        session.eval([1, 403])
    session.eval([1, 403])
    assert session.position == 2


def test_timeout_raises_deadline_exceeded(stories):
    tokens = long_prompt(stories, 2048)
    with loci.Session(stories, n_threads=1, n_ctx=2048, timeout_ms=20) as s:
        assert s.timeout_ms == 20
        with pytest.raises(loci.DeadlineExceededError) as e:
            s.eval(tokens)
        assert isinstance(e.value, TimeoutError) and "20 ms" in str(e.value)
        assert s.position == 0
        s.timeout_ms = 0
        s.eval(tokens[:64])
        assert s.position == 64


def test_a_second_call_while_one_runs_is_refused(stories):
    tokens = long_prompt(stories, 2048)
    with loci.Session(stories, n_threads=1, n_ctx=2048) as s:
        errors = []
        worker = threading.Thread(target=lambda: errors.append(pytest.raises(loci.CancelledError, s.eval, tokens)))
        worker.start()
        assert wait_until(s._core.lock.locked)
        with pytest.raises(loci.SessionBusyError):
            s.eval([1])
        assert s.position == 0  # getters stay usable
        s.cancel()
        worker.join()
        assert errors


def test_sampler_greedy_and_seeded(session, stories):
    session.eval(stories.tokenize("Once upon a time"))
    logits = session.logits()
    with loci.Sampler(stories, temperature=0) as greedy:
        assert greedy.sample(logits) == int(np.argmax(logits))
        assert greedy.sample(list(map(float, logits))) == int(np.argmax(logits))  # any float sequence
        with pytest.raises(loci.InvalidArgumentError):
            greedy.sample(logits[:-1])  # not n_vocab values
    draws = []
    for _ in range(2):
        with loci.Sampler(stories, temperature=1.5, top_k=0, top_p=1.0, min_p=0.0, seed=1234) as s:
            draws.append([s.sample(logits) for _ in range(50)])
    assert draws[0] == draws[1] and len(set(draws[0])) > 3
    with loci.Sampler(stories, temperature=1.5, top_k=0, top_p=1.0, min_p=0.0, seed=1234) as s:
        first = [s.sample(logits) for _ in range(5)]
        s.reset()
        assert [s.sample(logits) for _ in range(5)] == first
        s.accept(first[0])
        with pytest.raises(loci.OutOfRangeError):
            s.accept(stories.n_vocab)
    with pytest.raises(loci.InvalidArgumentError):
        loci.Sampler(stories, top_p=0.0)
    with pytest.raises(loci.InvalidArgumentError):
        loci.Sampler(stories, temperature=float("nan"))


def test_repeat_penalty_changes_the_choice(session, stories):
    session.eval(stories.tokenize("Once upon a time"))
    logits = session.logits()
    best = int(np.argmax(logits))
    with loci.Sampler(stories, temperature=0, repeat_penalty=1e6) as s:
        s.accept(best)
        assert s.sample(logits) != best


def test_closing_a_session_while_another_thread_evaluates(stories):
    s = loci.Session(stories, n_threads=1, n_ctx=2048)
    errors = []

    def work():
        try:
            s.eval(long_prompt(stories, 2048))
        except loci.Error as e:
            errors.append(e)

    worker = threading.Thread(target=work)
    worker.start()
    assert wait_until(s._core.lock.locked)
    s.close()  # cancels the eval, waits for it, then frees
    worker.join()
    assert s.closed and len(errors) == 1 and isinstance(errors[0], loci.CancelledError)


def test_closing_a_session_from_inside_its_own_call_is_refused(session):
    with pytest.raises(loci.SessionBusyError):
        session.generate_text("Once upon a time", max_tokens=5, on_text=lambda p: session.close())
    assert not session.closed
    session.eval([1])
