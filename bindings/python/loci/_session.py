"""loci.Session (a context with its KV cache) and loci.Sampler."""

import array
import ctypes
import threading
import weakref

from . import constants as C
from ._errors import InvalidArgumentError, SessionBusyError
from ._lib import (
    check,
    lib,
    loci_sampler_params,
    loci_session_params,
    sampler_p,
    session_p,
)
from ._model import MemoryEstimate, Model, _new_estimate
from ._util import Closeable, UINT32_MAX, UINT64_MAX, checked_int, float_vector, np, token_array, token_id

_KV_TYPES = {"f16": C.LOCI_KV_F16, "f32": C.LOCI_KV_F32}


def session_params(n_ctx=0, n_threads=0, n_batch=0, kv_type="f16", timeout_ms=0, memory_budget=0):
    """A filled loci_session_params (0 means the library's default)."""
    p = loci_session_params()
    lib.loci_session_params_init(ctypes.byref(p))
    p.n_ctx = checked_int("n_ctx", n_ctx, 0, UINT32_MAX)
    p.n_threads = checked_int("n_threads", n_threads, 0, UINT32_MAX)
    p.n_batch = checked_int("n_batch", n_batch, 0, UINT32_MAX)
    p.timeout_ms = checked_int("timeout_ms", timeout_ms, 0, UINT32_MAX)
    p.memory_budget = checked_int("memory_budget", memory_budget, 0, UINT64_MAX)
    if isinstance(kv_type, str):
        if kv_type.lower() not in _KV_TYPES:
            raise InvalidArgumentError("kv_type must be 'f16' or 'f32', not %r" % kv_type)
        p.kv_type = _KV_TYPES[kv_type.lower()]
    else:
        p.kv_type = checked_int("kv_type", kv_type, -(2**31), 2**31 - 1)
    return p, None


class _SessionCore:
    """The handle, the lock that keeps it to one call at a time, and the
    generation run (if any) that must stop before the handle is freed."""

    def __init__(self, handle):
        self.handle = handle
        self.lock = threading.Lock()
        self.owner = None  # the thread inside a blocking call, if any
        self.active_run = None

    def free(self):
        handle = self.handle
        if handle is None:
            return
        run = self.active_run
        if run is not None:
            run.shutdown()
        if not self.lock.acquire(blocking=False):
            # A call runs on another thread: stop it and wait, rather than
            # free the session under it.
            lib.loci_session_cancel(handle)
            self.lock.acquire()
        try:
            self.handle = None
            lib.loci_session_free(handle)
        finally:
            self.lock.release()


class _Busy:
    """`with _Busy(core) as handle:` holds the session for one call, or refuses."""

    __slots__ = ("core",)

    def __init__(self, core):
        self.core = core

    def __enter__(self):
        if self.core.handle is None:
            raise InvalidArgumentError("the session is closed")
        if not self.core.lock.acquire(blocking=False):
            raise SessionBusyError("the session is busy: another call (an unfinished generate iterator, "
                                   "or another thread) is using it")
        self.core.owner = threading.get_ident()
        return self.core.handle

    def __exit__(self, *exc):
        self.core.owner = None
        self.core.lock.release()


class Session(Closeable):
    """A context on a model: the KV cache and everything evaluation needs,
    allocated once here.

    n_ctx: context length (0: the model's, at most 4096); n_threads: 0 = one per
    core; n_batch: tokens per forward pass (0: 64); kv_type: "f16" or "f32";
    timeout_ms: per eval/generate call (0: none); memory_budget: bytes (0: none).

    One call at a time: a second concurrent call raises SessionBusyError.
    cancel() may be called from any thread.
    """

    def __init__(self, model, n_ctx=0, n_threads=0, n_batch=0, kv_type="f16", timeout_ms=0, memory_budget=0):
        if not isinstance(model, Model):
            raise TypeError("model must be a loci.Model")
        params, _ = session_params(n_ctx, n_threads, n_batch, kv_type, timeout_ms, memory_budget)
        handle = session_p()
        check(lib.loci_session_create(model._handle, ctypes.byref(params), ctypes.byref(handle)))
        self.model = model  # keeps the Python model (tokenizer, sampler creation) alive
        self._core = _SessionCore(handle)
        self._finalizer = weakref.finalize(self, self._core.free)
        self._timeout_ms = params.timeout_ms
        self._n_vocab = lib.loci_session_n_vocab(handle)

    # ---- lifetime

    def close(self):
        """Frees the session (idempotent). A call running on another thread is
        cancelled first, and an open generate iterator is stopped."""
        core = self._core
        if core.owner == threading.get_ident():
            raise SessionBusyError("cannot close a session from inside one of its own calls")
        self._finalizer()

    def __repr__(self):
        if self.closed:
            return "<loci.Session closed>"
        return "<loci.Session position=%d n_ctx=%d>" % (self.position, self.n_ctx)

    def _use(self):
        return _Busy(self._core)

    def _handle_for_read(self):
        h = self._core.handle
        if h is None:
            raise InvalidArgumentError("the session is closed")
        return h

    # ---- getters (thread-safe in the C API, so no lock)

    @property
    def n_vocab(self):
        return self._n_vocab

    @property
    def n_ctx(self):
        return lib.loci_session_n_ctx(self._handle_for_read())

    @property
    def position(self):
        """Tokens in the cache."""
        return lib.loci_session_position(self._handle_for_read())

    @property
    def memory(self):
        """A MemoryEstimate of what this session holds."""
        e = _new_estimate()
        check(lib.loci_session_memory(self._handle_for_read(), ctypes.byref(e)))
        return MemoryEstimate._from_c(e)

    @property
    def timeout_ms(self):
        return self._timeout_ms

    @timeout_ms.setter
    def timeout_ms(self, value):
        value = checked_int("timeout_ms", value, 0, UINT32_MAX)
        with self._use() as h:
            check(lib.loci_session_set_timeout(h, value))
        self._timeout_ms = value

    # ---- evaluation

    def eval(self, tokens, all_logits=False):
        """Appends `tokens` at the current position and evaluates them.

        With all_logits=True returns every token's logits: a (count, n_vocab)
        float32 numpy array, or without numpy a list of array('f') rows.
        On failure (cancellation included) the position is unchanged.
        """
        ptr, n, _keep = token_array(tokens)
        if not all_logits:
            with self._use() as h:
                check(lib.loci_session_eval(h, ptr, n))
            return None
        nv = self._n_vocab
        if np is not None:
            out = np.empty((n, nv), dtype=np.float32)
            optr = out.ctypes.data_as(ctypes.POINTER(ctypes.c_float))
        else:
            out = array.array("f", bytes(4 * n * nv))
            optr = ctypes.cast((ctypes.c_float * max(n * nv, 1)).from_buffer(out) if n else None,
                               ctypes.POINTER(ctypes.c_float))
        with self._use() as h:
            check(lib.loci_session_eval_all(h, ptr, n, optr, n * nv))
        if np is not None:
            return out
        return [out[i * nv : (i + 1) * nv] for i in range(n)]

    def logits(self):
        """A copy of the logits after the last evaluated token (n_vocab floats):
        numpy float32 array, or array('f') without numpy."""
        with self._use() as h:
            ptr = lib.loci_session_logits(h)
            if not ptr:
                raise InvalidArgumentError("no logits: nothing evaluated since the session was "
                                           "created, reset or truncated, or the last eval failed")
            return float_vector(ptr, self._n_vocab)

    def reset(self):
        """Empties the cache."""
        with self._use() as h:
            lib.loci_session_reset(h)

    def truncate(self, position):
        """Keeps the first `position` tokens."""
        position = checked_int("position", position, 0, 2**64 - 1)
        with self._use() as h:
            check(lib.loci_session_truncate(h, position))

    def cancel(self):
        """Stops the call running on this session (from any thread), which then
        raises CancelledError. With none running, the next call stops at once."""
        h = self._core.handle
        if h is not None:
            lib.loci_session_cancel(h)

    # ---- generation (see _generate.py)

    def generate(self, prompt, max_tokens=None, temperature=None, top_k=None, top_p=None, min_p=None,
                 repeat_penalty=None, seed=None, stop=None, special=False, *, sampler=None, add_bos=None,
                 stop_at_eog=True, strip_leading_space=None, penalize_prompt=True, **sampling):
        """Streams generated text: an iterator of str pieces.

        prompt: a str (tokenized; BOS added when the session is empty, unless
        add_bos says otherwise) or a list of token ids ([] continues from the
        session's logits). Sampling arguments left at None take the library's
        defaults (temperature 0.8, top_k 40, top_p 0.95, min_p 0.05); temperature
        0 is greedy. stop: strings that end the text right before the first one.
        After the iterator ends, its .result holds the stop reason and counts.
        Closing it early (break, close(), garbage collection) stops generation.
        """
        from ._generate import GenerateStream, prepare

        run_args = prepare(self, prompt, max_tokens, stop, special, sampler, add_bos, stop_at_eog,
                           strip_leading_space, penalize_prompt,
                           dict(temperature=temperature, top_k=top_k, top_p=top_p, min_p=min_p,
                                repeat_penalty=repeat_penalty, seed=seed, **sampling))
        return GenerateStream(self, run_args)

    def generate_text(self, prompt, max_tokens=None, temperature=None, top_k=None, top_p=None, min_p=None,
                      repeat_penalty=None, seed=None, stop=None, special=False, *, sampler=None, add_bos=None,
                      stop_at_eog=True, strip_leading_space=None, penalize_prompt=True, on_text=None,
                      **sampling):
        """As generate(), but runs to the end on this thread and returns a
        GenerationResult (.text, .stop_reason, token counts, timings).

        on_text(piece) is called with each piece as it arrives; a truthy return
        stops generation (stop reason CALLBACK).
        """
        from ._generate import prepare, run_blocking

        run_args = prepare(self, prompt, max_tokens, stop, special, sampler, add_bos, stop_at_eog,
                           strip_leading_space, penalize_prompt,
                           dict(temperature=temperature, top_k=top_k, top_p=top_p, min_p=min_p,
                                repeat_penalty=repeat_penalty, seed=seed, **sampling))
        return run_blocking(self, run_args, on_text)


_SAMPLER_FIELDS = ("temperature", "top_k", "top_p", "min_p", "repeat_penalty", "repeat_last_n",
                   "frequency_penalty", "presence_penalty", "seed")


def sampler_params(**kwargs):
    """A filled loci_sampler_params; None keeps the library default."""
    p = loci_sampler_params()
    lib.loci_sampler_params_init(ctypes.byref(p))
    for name, value in kwargs.items():
        if name not in _SAMPLER_FIELDS:
            raise TypeError("unknown sampling parameter %r" % name)
        if value is None:
            continue
        if name in ("top_k", "repeat_last_n"):
            value = checked_int(name, value, -(2**31), 2**31 - 1)
        elif name == "seed":
            value = checked_int(name, value, 0, UINT64_MAX)
        else:
            value = float(value)
        setattr(p, name, value)
    return p


class Sampler:
    """Picks tokens from logits: penalties -> top_k -> top_p -> min_p ->
    temperature -> a seeded draw. Same seed, same tokens, on every platform.

    Keyword arguments left at None take the library's defaults (temperature
    0.8, top_k 40, top_p 0.95, min_p 0.05, repeat_penalty 1, repeat_last_n 64).
    """

    def __init__(self, model, temperature=None, top_k=None, top_p=None, min_p=None, repeat_penalty=None,
                 repeat_last_n=None, frequency_penalty=None, presence_penalty=None, seed=None):
        if not isinstance(model, Model):
            raise TypeError("model must be a loci.Model")
        p = sampler_params(temperature=temperature, top_k=top_k, top_p=top_p, min_p=min_p,
                           repeat_penalty=repeat_penalty, repeat_last_n=repeat_last_n,
                           frequency_penalty=frequency_penalty, presence_penalty=presence_penalty, seed=seed)
        handle = sampler_p()
        check(lib.loci_sampler_create(model._handle, ctypes.byref(p), ctypes.byref(handle)))
        self.model = model
        self.params = {name: getattr(p, name) for name in _SAMPLER_FIELDS}
        self._n_vocab = model.n_vocab
        self._holder = [handle]
        self._lock = threading.Lock()
        self._finalizer = weakref.finalize(self, _free_sampler, self._holder)

    def close(self):
        self._finalizer()

    @property
    def closed(self):
        return self._holder[0] is None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def _acquire(self):
        if self._holder[0] is None:
            raise InvalidArgumentError("the sampler is closed")
        if not self._lock.acquire(blocking=False):
            raise SessionBusyError("the sampler is in use by another call")
        return self._holder[0]

    def sample(self, logits):
        """A token id drawn from n_vocab float32 logits (numpy array, array('f'),
        or any float sequence). Does not record it: see accept()."""
        if np is not None and not isinstance(logits, array.array):
            buf = np.ascontiguousarray(logits, dtype=np.float32).ravel()
            n, ptr = buf.size, buf.ctypes.data_as(ctypes.POINTER(ctypes.c_float))
        else:
            buf = logits if isinstance(logits, array.array) and logits.typecode == "f" else array.array("f", logits)
            n = len(buf)
            ptr = ctypes.cast((ctypes.c_float * max(n, 1)).from_buffer(buf) if n else None,
                              ctypes.POINTER(ctypes.c_float))
        out = ctypes.c_int32()
        h = self._acquire()
        try:
            check(lib.loci_sampler_sample(h, ptr, n, ctypes.byref(out)))
        finally:
            self._lock.release()
        return out.value

    def accept(self, token):
        """Adds a token to the repeat-penalty history."""
        token = token_id(token)
        h = self._acquire()
        try:
            check(lib.loci_sampler_accept(h, token))
        finally:
            self._lock.release()

    def reset(self):
        """Clears the history and restarts the random draw from the seed."""
        h = self._acquire()
        try:
            lib.loci_sampler_reset(h)
        finally:
            self._lock.release()


def _free_sampler(holder):
    handle, holder[0] = holder[0], None
    if handle:
        lib.loci_sampler_free(handle)
