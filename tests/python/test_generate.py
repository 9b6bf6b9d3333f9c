"""Session.generate (the streaming iterator) and generate_text: golden greedy
output, stop reasons, early close, cancel and timeout, UTF-8 text."""

import ctypes
import gc
import threading
import time

import pytest

import loci
from loci import StopReason

from conftest import GOLDEN, golden, model_path, wait_until

ONCE = "stories260K__once__n64.json"


def loci_threads():
    return [t for t in threading.enumerate() if t.name == "loci-generate"]


def test_greedy_from_bos_reproduces_llama2c(stories):
    expected = (GOLDEN / "stories260K.llama2c-expected-greedy-200.txt").read_text(encoding="utf-8")
    with loci.Session(stories, n_threads=1, n_ctx=256) as s:
        r = s.generate_text("", max_tokens=200, temperature=0)
    assert r.text == expected
    assert r.stop_reason == StopReason.MAX_TOKENS and r.generated_tokens == 200 and r.prompt_tokens == 1


def test_greedy_tokens_by_hand_match_golden_ids(stories):
    # The same run driven through eval + Sampler, one token at a time.
    ids = [int(x) for x in (GOLDEN / "stories260K.greedy-200-token-ids.txt").read_text().split()]
    with loci.Session(stories, n_threads=1, n_ctx=256) as s, loci.Sampler(stories, temperature=0) as greedy:
        out = [stories.info.bos]
        s.eval(out)
        while len(out) < len(ids):
            out.append(greedy.sample(s.logits()))
            s.eval(out[-1:])
    assert out == ids


@pytest.mark.parametrize("name", ["stories260K__once__n64.json", "stories260K__once__n64__kvf16.json",
                                  "stories260K-q8_0__once__n64.json", "tinyllama-v0-q4_0__once__n64.json"])
def test_streamed_greedy_text_matches_golden(name):
    g = golden(name)
    kv = "f16" if "kvf16" in name else "f32"
    with loci.Model(model_path(g["model_file"])) as m, loci.Session(m, n_threads=1, n_ctx=256, kv_type=kv) as s:
        stream = s.generate(g["prompt"], max_tokens=g["n_generated"], temperature=0, stop_at_eog=False)
        pieces = list(stream)
    assert all(isinstance(p, str) and p for p in pieces)
    assert "".join(pieces) == g["generated_text"] == stream.text
    r = stream.result
    assert r.stop_reason == StopReason.MAX_TOKENS == stream.stop_reason
    assert (r.prompt_tokens, r.generated_tokens) == (len(g["prompt_tokens"]), g["n_generated"])
    assert r.last_token == g["generated_tokens"][-1]
    assert r.prefill_seconds >= 0 and r.decode_seconds > 0


def test_prompt_as_token_ids_and_continuing(session, stories):
    g = golden(ONCE)
    first = session.generate_text(g["prompt_tokens"], max_tokens=10, temperature=0)
    assert first.prompt_tokens == 5 and session.position == 5 + 10 - 1  # the last token is not evaluated
    # Continue: evaluate the last token, then generate from the session's logits.
    session.eval([first.last_token])
    more = session.generate_text([], max_tokens=10, temperature=0)
    assert more.prompt_tokens == 0
    assert first.text + more.text == g["generated_text"][: len(first.text + more.text)]
    assert first.text + more.text == stories.detokenize(g["generated_tokens"][:20])


def test_text_prompt_adds_bos_only_to_an_empty_session(session, stories):
    r = session.generate_text("Once upon a time", max_tokens=1, temperature=0)
    assert r.prompt_tokens == len(stories.tokenize("Once upon a time"))
    r = session.generate_text(" there", max_tokens=1, temperature=0)
    assert r.prompt_tokens == len(stories.tokenize(" there", add_bos=False))


def test_stop_strings(session, stories):
    g = golden(ONCE)
    full = g["generated_text"]
    r = session.generate_text(g["prompt"], max_tokens=64, temperature=0, stop=["Lily"])
    assert r.text == full[: full.index("Lily")] and r.stop_reason == StopReason.STRING and r.stop_index == 0
    session.reset()
    r = session.generate_text(g["prompt"], max_tokens=64, temperature=0, stop=["no such text", "park"])
    assert r.text == full[: full.index("park")] and r.stop_index == 1
    session.reset()
    pieces = list(session.generate(g["prompt"], max_tokens=64, temperature=0, stop="."))  # one string is fine
    assert "".join(pieces) == full[: full.index(".")]
    session.reset()
    with pytest.raises(loci.InvalidArgumentError):
        session.generate_text(g["prompt"], stop=[""])  # refused by the library


def test_max_tokens_and_context_full(stories):
    with loci.Session(stories, n_threads=1, n_ctx=32) as s:
        r = s.generate_text("Once upon a time", max_tokens=5, temperature=0)
        assert r.stop_reason == StopReason.MAX_TOKENS and r.generated_tokens == 5
        s.reset()
        r = s.generate_text("Once upon a time", temperature=0)  # no limit: the context fills
        assert r.stop_reason == StopReason.CONTEXT_FULL and s.position == s.n_ctx
        assert r.generated_tokens == s.n_ctx - r.prompt_tokens + 1


def test_end_of_generation():
    # tinyllama-v0 ends this story with EOS well before 400 tokens.
    with loci.Model(model_path("tinyllama-v0-q4_0.gguf")) as m, loci.Session(m, n_threads=1, n_ctx=512) as s:
        r = s.generate_text("Once upon a time", max_tokens=400, temperature=0)
        assert r.stop_reason == StopReason.EOG and r.generated_tokens < 400
        assert m.is_eog(r.last_token)
        s.reset()
        r2 = s.generate_text("Once upon a time", max_tokens=r.generated_tokens + 5, temperature=0, stop_at_eog=False)
        assert r2.text.startswith(r.text) and r2.generated_tokens == r.generated_tokens + 5


def test_closing_the_iterator_early_stops_the_worker(stories):
    with loci.Session(stories, n_threads=1, n_ctx=2048) as s:
        stream = s.generate("Once upon a time", temperature=0)
        taken = [next(stream) for _ in range(3)]
        stream.close()
        assert not loci_threads()
        r = stream.result
        assert r.stop_reason == StopReason.CALLBACK
        # The bounded hand-over keeps the worker only a few pieces ahead.
        assert 3 <= r.generated_tokens <= 3 + 16 + 4 and s.position < 40
        assert stream.text == "".join(taken)
        with pytest.raises(StopIteration):
            next(stream)
        s.eval([403])  # the session is free again


def test_break_and_garbage_collection_stop_the_worker(stories):
    with loci.Session(stories, n_threads=1, n_ctx=2048) as s:
        for i, _ in enumerate(s.generate("Once upon a time", temperature=0)):
            if i == 2:
                break
        gc.collect()
        assert wait_until(lambda: not loci_threads())
        s.eval([403])
        # Never started: nothing runs and nothing is held.
        s.generate("Once upon a time")
        gc.collect()
        s.eval([403])


def test_the_session_is_busy_while_an_iterator_is_open(stories):
    with loci.Session(stories, n_threads=1, n_ctx=2048) as s:
        stream = s.generate("Once upon a time", temperature=0)
        next(stream)
        with pytest.raises(loci.SessionBusyError):
            s.eval([403])
        with pytest.raises(loci.SessionBusyError):
            next(s.generate("x"))
        with stream:
            pass  # the context manager closes it
        s.eval([403])


def test_closing_the_session_stops_its_iterator(stories):
    s = loci.Session(stories, n_threads=1, n_ctx=2048)
    stream = s.generate("Once upon a time", temperature=0)
    next(stream)
    s.close()
    assert not loci_threads()
    rest = list(stream)  # ends (at most the pieces already handed over)
    assert len(rest) <= 16


def test_errors_in_the_worker_surface_in_the_iterator(session, stories):
    stream = session.generate([1, stories.n_vocab])
    with pytest.raises(loci.OutOfRangeError):
        next(stream)
    assert stream.result is None
    with pytest.raises(loci.InvalidArgumentError) as e:
        list(session.generate([]))  # nothing evaluated: no logits to sample from
    assert "logits" in str(e.value)
    session.eval([1])  # the failed runs released the session


def cancel_when(event, session):
    """A thread that cancels `session` once `event` is set: the cancel lands
    while generation runs, however slow the machine is."""
    t = threading.Thread(target=lambda: event.wait(30) and session.cancel())
    t.start()
    return t


def test_cancel_from_another_thread_ends_the_iterator(stories):
    with loci.Session(stories, n_threads=1, n_ctx=2048) as s:
        stream = s.generate("Once upon a time", temperature=0)
        started = threading.Event()
        canceller = cancel_when(started, s)
        pieces = []
        with pytest.raises(loci.CancelledError):
            for piece in stream:
                pieces.append(piece)
                if len(pieces) == 5:
                    started.set()
                time.sleep(0.002)  # a slow reader keeps the run far from its end
        canceller.join()
        # Cancelled mid-run: at most the pieces already handed over followed.
        assert 5 <= len(pieces) <= 5 + 16 + 2
        assert stream.result is None and not loci_threads()
        s.eval([403])


def test_cancel_from_another_thread_stops_generate_text(stories):
    with loci.Session(stories, n_threads=1, n_ctx=2048) as s:
        seen = []
        started = threading.Event()
        canceller = cancel_when(started, s)

        def on_text(piece):
            seen.append(piece)
            if len(seen) == 5:
                started.set()
            time.sleep(0.002)

        with pytest.raises(loci.CancelledError):
            s.generate_text("Once upon a time", temperature=0, on_text=on_text)
        canceller.join()
        assert 5 <= len(seen) < 1000


def test_timeout_ends_generation_with_deadline_exceeded(stories):
    with loci.Session(stories, n_threads=1, n_ctx=2048, timeout_ms=50) as s:
        t0 = time.monotonic()
        with pytest.raises(loci.DeadlineExceededError):
            for _ in s.generate("Once upon a time", temperature=0):
                time.sleep(0.005)  # a slow reader: 2000 tokens would take 10 s
        assert 0.05 <= time.monotonic() - t0 < 10
        t0 = time.monotonic()
        with pytest.raises(loci.DeadlineExceededError):
            s.generate_text("Once upon a time", temperature=0, on_text=lambda p: time.sleep(0.005))
        assert 0.05 <= time.monotonic() - t0 < 10


def test_on_text_can_stop_generate_text(session):
    r = session.generate_text("Once upon a time", temperature=0, on_text=lambda p: "Lily" in p)
    assert r.stop_reason == StopReason.CALLBACK and r.text.endswith("Lily")


def test_exceptions_in_on_text_propagate(session):
    def boom(piece):
        raise KeyError("from on_text")

    with pytest.raises(KeyError):
        session.generate_text("Once upon a time", on_text=boom)
    session.eval([403])


def test_sampling_arguments(session, stories):
    a = session.generate_text("Once upon a time", max_tokens=30, temperature=1.0, seed=42)
    session.reset()
    b = session.generate_text("Once upon a time", max_tokens=30, temperature=1.0, seed=42)
    assert a.text == b.text
    session.reset()
    with loci.Sampler(stories, temperature=0) as greedy:
        c = session.generate_text("Once upon a time", max_tokens=30, sampler=greedy)
        assert not greedy.closed  # a sampler passed in is the caller's
    assert c.text == golden(ONCE)["generated_text"][: len(c.text)] and len(c.text) > 50
    with pytest.raises(TypeError):
        session.generate_text("x", sampler=greedy, temperature=0)
    with pytest.raises(TypeError):
        session.generate_text("x", no_such_option=1)
    with pytest.raises(loci.InvalidArgumentError):
        session.generate_text("x", top_p=0.0)


@pytest.mark.parametrize("seed", [1, 7, 99])
def test_streamed_text_equals_detokenized_tokens(stories, seed):
    # High-temperature sampling reaches byte tokens and non-ASCII pieces; the
    # same draw by hand gives the token ids, whose detokenized text must be
    # exactly what the stream produced.
    kw = dict(temperature=3.0, top_k=0, top_p=1.0, min_p=0.0, seed=seed)
    prompt = stories.tokenize("Once upon a time")
    with loci.Session(stories, n_threads=1, n_ctx=512) as s, loci.Sampler(stories, **kw) as sampler:
        stream = s.generate(prompt, max_tokens=300, **kw)
        text = "".join(stream)
        s.reset()
        s.eval(prompt)
        ids = []
        while True:
            t = sampler.sample(s.logits())
            if stories.is_eog(t) or len(ids) == stream.result.generated_tokens:
                break
            ids.append(t)
            s.eval([t])
    assert len(ids) == stream.result.generated_tokens
    assert stories.detokenize(prompt + ids)[len("Once upon a time"):] == text
    assert any(ord(c) > 127 for c in text) or any(stories.token_piece_bytes(t)[0] >= 0x80 for t in ids)


def test_pieces_split_inside_a_character_decode_whole(session):
    # The worker decodes incrementally, so even bytes split mid-character
    # (which loci itself never sends) come out as whole characters.
    stream = session.generate("x")
    run = stream._run
    data = "é日🙂".encode()
    for chunk in (data[:1], data[1:3], data[3:4], data[4:8], data[8:]):
        buf = ctypes.create_string_buffer(chunk)
        assert run._on_bytes(None, ctypes.addressof(buf), len(chunk)) == 0
    got = []
    while run.channel.items:
        got.append(run.channel.items.popleft())
    assert "".join(got) == "é日🙂" and all("\ufffd" not in p for p in got)
    stream.close()
