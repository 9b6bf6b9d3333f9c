"""Generation: loci_generate driven from Python, blocking or as an iterator.

loci_generate reports text through a callback, and a Python iterator cannot
yield from inside one. So the iterator runs loci_generate on a worker thread
(ctypes releases the GIL during the call) that hands pieces over a small
bounded channel. The bound keeps generation at most a few pieces ahead of the
reader; closing the channel makes the callback return nonzero, which stops
the run (LOCI_STOP_CALLBACK), and the worker is joined.
"""

import codecs
import collections
import ctypes
import enum
import threading
import weakref
from dataclasses import dataclass

from . import constants as C
from ._errors import InvalidArgumentError, SessionBusyError
from ._lib import lib, loci_generate_params, loci_generate_result, make_error, text_callback
from ._util import checked_int, token_array


class StopReason(enum.IntEnum):
    """Why generation ended (loci_stop_reason)."""

    EOG = C.LOCI_STOP_EOG
    MAX_TOKENS = C.LOCI_STOP_MAX_TOKENS
    STRING = C.LOCI_STOP_STRING
    CONTEXT_FULL = C.LOCI_STOP_CONTEXT_FULL
    CALLBACK = C.LOCI_STOP_CALLBACK


@dataclass(frozen=True)
class GenerationResult:
    """The text of a run, why it stopped, and what it cost."""

    text: str
    stop_reason: StopReason
    stop_index: int  # which stop string, for StopReason.STRING; else -1
    last_token: int  # sampled but not evaluated: eval([last_token]) to continue from it
    prompt_tokens: int
    generated_tokens: int
    prefill_seconds: float
    decode_seconds: float


def _result(text, c):
    try:
        reason = StopReason(c.stop_reason)
    except ValueError:  # a newer library's reason
        reason = c.stop_reason
    return GenerationResult(text, reason, c.stop_index, c.last_token, c.prompt_tokens, c.generated_tokens,
                            c.prefill_seconds, c.decode_seconds)


class _RunArgs:
    """Everything one loci_generate call needs, kept alive for its duration."""

    def __init__(self, session, tokens, params, stop_keep, sampler, own_sampler):
        self.tokens = tokens  # (pointer, count, backing array)
        self.params = params
        self.stop_keep = stop_keep
        self.sampler = sampler
        self.own_sampler = own_sampler  # made for this call: closed after it


def _prompt_tokens(session, prompt, add_bos):
    if isinstance(prompt, (str, bytes)):
        if add_bos is None:
            add_bos = session.position == 0  # BOS only opens a context
        return session.model.tokenize(prompt, add_bos=add_bos), True
    if add_bos is not None:
        raise TypeError("add_bos applies to text prompts only")
    return prompt, False


def _generate_params(max_tokens, stop, special, stop_at_eog, strip_leading_space, penalize_prompt):
    p = loci_generate_params()
    lib.loci_generate_params_init(ctypes.byref(p))
    if max_tokens is not None:
        p.max_tokens = checked_int("max_tokens", max_tokens, -(2**31), 2**31 - 1)
    if isinstance(stop, (str, bytes)):
        stop = [stop]
    encoded = []
    for s in stop or ():
        b = s.encode("utf-8") if isinstance(s, str) else bytes(s)
        if b"\0" in b:
            raise InvalidArgumentError("a stop string cannot contain NUL")
        encoded.append(b)
    arr = (ctypes.c_char_p * max(len(encoded), 1))(*encoded)
    if encoded:
        p.stop = ctypes.cast(arr, ctypes.POINTER(ctypes.c_char_p))
        p.n_stop = len(encoded)
    p.stop_at_eog = 1 if stop_at_eog else 0
    p.special = 1 if special else 0
    p.strip_leading_space = 1 if strip_leading_space else 0
    p.penalize_prompt = 1 if penalize_prompt else 0
    return p, (arr, encoded)


def prepare(session, prompt, max_tokens, stop, special, sampler, add_bos, stop_at_eog, strip_leading_space,
            penalize_prompt, sampling):
    """Checks and converts a generate call's arguments (nothing runs yet)."""
    from ._session import Sampler

    tokens, from_text = _prompt_tokens(session, prompt, add_bos)
    if strip_leading_space is None:
        # Text generated from nothing (an empty prompt on an empty session)
        # should not begin with SPM's word-start space.
        strip_leading_space = from_text and len(prompt) == 0 and session.position == 0
    params, keep = _generate_params(max_tokens, stop, special, stop_at_eog, strip_leading_space, penalize_prompt)
    tokens = token_array(tokens)
    given = {k: v for k, v in sampling.items() if v is not None}
    if sampler is not None:
        if given:
            raise TypeError("pass either sampler= or sampling arguments, not both: %s" % ", ".join(sorted(given)))
        if not isinstance(sampler, Sampler):
            raise TypeError("sampler must be a loci.Sampler")
        return _RunArgs(session, tokens, params, keep, sampler, False)
    return _RunArgs(session, tokens, params, keep, Sampler(session.model, **given), True)


class _Hold:
    """Takes the session's and the sampler's locks for one run; release() once."""

    def __init__(self, session, sampler):
        self.session_core = session._core
        self.sampler = sampler
        self.released = False

    def acquire(self):
        core = self.session_core
        if core.handle is None:
            raise InvalidArgumentError("the session is closed")
        if not core.lock.acquire(blocking=False):
            raise SessionBusyError("the session is busy: another call (an unfinished generate iterator, "
                                   "or another thread) is using it")
        try:
            self.sampler_handle = self.sampler._acquire()
        except BaseException:
            core.lock.release()
            raise
        return core.handle, self.sampler_handle

    def release(self):
        if not self.released:
            self.released = True
            self.sampler._lock.release()
            self.session_core.lock.release()


def _call_generate(session_handle, sampler_handle, args, callback, out):
    ptr, n, _ = args.tokens
    lib.loci_generate_result_init(ctypes.byref(out))
    return lib.loci_generate(session_handle, sampler_handle, ptr, n, ctypes.byref(args.params), callback, None,
                             ctypes.byref(out))


def run_blocking(session, args, on_text=None):
    """generate_text(): the whole run on the calling thread."""
    pieces = []
    decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
    failure = []

    def on_bytes(_user, text, length):
        try:
            piece = decoder.decode(ctypes.string_at(text, length))
            if piece:
                pieces.append(piece)
                if on_text is not None and on_text(piece):
                    return 1
            return 0
        except BaseException as e:  # an exception cannot cross the C frames: stop, re-raise after
            failure.append(e)
            return 1

    callback = text_callback(on_bytes)
    hold = _Hold(session, args.sampler)
    sh, mh = hold.acquire()
    session._core.owner = threading.get_ident()
    try:
        out = loci_generate_result()
        status = _call_generate(sh, mh, args, callback, out)
        error = make_error(status) if status != C.LOCI_OK else None
    finally:
        session._core.owner = None
        hold.release()
        if args.own_sampler:
            args.sampler.close()
    if failure:
        raise failure[0]
    if error is not None:
        raise error
    tail = decoder.decode(b"", final=True)
    if tail:
        pieces.append(tail)
    return _result("".join(pieces), out)


class _Channel:
    """A bounded hand-over queue whose close() wakes both sides."""

    def __init__(self, capacity):
        self.items = collections.deque()
        self.capacity = capacity
        self.cond = threading.Condition()
        self.closed = False  # by the reader: the writer must stop
        self.done = False  # by the writer: nothing more will come

    def put(self, item):
        """False once the reader has closed the channel."""
        with self.cond:
            while len(self.items) >= self.capacity and not self.closed:
                self.cond.wait()
            if self.closed:
                return False
            self.items.append(item)
            self.cond.notify_all()
            return True

    def finish(self):
        with self.cond:
            self.done = True
            self.cond.notify_all()

    def get(self):
        """The next item, or None when the writer has finished and all is read."""
        with self.cond:
            while not self.items and not self.done:
                self.cond.wait()
            if self.items:
                item = self.items.popleft()
                self.cond.notify_all()
                return item
            return None

    def close(self):
        with self.cond:
            self.closed = True
            self.items.clear()
            self.cond.notify_all()


class _Run:
    """The worker's side of a streaming run. Holds no reference to the
    GenerateStream, so an abandoned stream can be collected and stop it."""

    CAPACITY = 16

    def __init__(self, session, args):
        self.args = args
        self.channel = _Channel(self.CAPACITY)
        self.decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
        self.error = None
        self.out = loci_generate_result()
        self.finished = False
        self.callback = text_callback(self._on_bytes)
        self.hold = _Hold(session, args.sampler)
        self.session_core = session._core
        self.thread = None

    def start(self):
        sh, mh = self.hold.acquire()
        self.session_core.active_run = self
        self.thread = threading.Thread(target=self._work, args=(sh, mh), name="loci-generate", daemon=True)
        try:
            self.thread.start()
        except BaseException:
            self.session_core.active_run = None
            self.hold.release()
            raise

    def _on_bytes(self, _user, text, length):
        try:
            piece = self.decoder.decode(ctypes.string_at(text, length))
            return 0 if not piece or self.channel.put(piece) else 1
        except BaseException as e:
            self.error = e
            return 1

    def _work(self, sh, mh):
        try:
            status = _call_generate(sh, mh, self.args, self.callback, self.out)
            if status != C.LOCI_OK:
                self.error = self.error or make_error(status)  # last_error is per thread: read it here
            else:
                tail = self.decoder.decode(b"", final=True)
                if tail:
                    self.channel.put(tail)
                self.finished = True
        except BaseException as e:  # pragma: no cover - ctypes itself failing
            self.error = e
        finally:
            if self.session_core.active_run is self:
                self.session_core.active_run = None
            self.hold.release()
            if self.args.own_sampler:
                self.args.sampler.close()
            self.channel.finish()

    def shutdown(self):
        """Stops the worker (at its next piece) and waits for it."""
        self.channel.close()
        t = self.thread
        if t is not None and t is not threading.current_thread():
            t.join()


class GenerateStream:
    """Iterator of generated text pieces (str). See Session.generate().

    After it ends: .result is a GenerationResult (None if the run failed or
    never started); .text is everything yielded so far. A failure (for example
    CancelledError, DeadlineExceededError) is raised by the next() that
    reaches it, after the text streamed before it.
    """

    def __init__(self, session, args):
        self._session = session
        self._run = _Run(session, args)
        self._finalizer = weakref.finalize(self, self._run.shutdown)
        self._pieces = []
        self._ended = False
        self.result = None

    def __iter__(self):
        return self

    def __next__(self):
        if self._ended:
            raise StopIteration
        run = self._run
        if run.thread is None:
            run.start()
        piece = run.channel.get()
        if piece is not None:
            self._pieces.append(piece)
            return piece
        self._end()
        if run.error is not None:
            raise run.error
        raise StopIteration

    def _end(self):
        self._ended = True
        self._finalizer()  # joins the worker
        run = self._run
        if run.error is None and (run.finished or run.out.stop_reason):
            self.result = _result(self.text, run.out)

    def close(self):
        """Stops generation now (the result's stop reason is then CALLBACK)."""
        if not self._ended:
            self._end()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    @property
    def text(self):
        return "".join(self._pieces)

    def __getattr__(self, name):
        # stop_reason, generated_tokens, ... straight from the result.
        if name in GenerationResult.__dataclass_fields__ and name != "text":
            result = self.__dict__.get("result")
            return None if result is None else getattr(result, name)
        raise AttributeError(name)
