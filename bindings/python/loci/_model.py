"""loci.Model: a loaded GGUF model, its facts, metadata and tokenizer."""

import ctypes
import os
import weakref
from dataclasses import dataclass, field
from typing import Dict, Tuple, Union

from . import constants as C
from ._errors import InvalidArgumentError
from ._lib import check, lib, loci_model_info, loci_memory_estimate, model_p
from ._util import Closeable, decode, encode_text, token_array, token_id

Scalar = Union[int, float, bool, str]


@dataclass(frozen=True)
class ModelInfo:
    """loci_model_info's fields, plus the GGUF metadata."""

    n_vocab: int
    n_ctx_train: int
    n_embd: int
    n_layer: int
    n_head: int
    n_head_kv: int
    n_ff: int
    bos: int
    eos: int
    eot: int
    add_bos: bool
    n_params: int
    file_size: int
    architecture: str
    name: str
    # key -> value, for scalar and string values.
    metadata: Dict[str, Scalar] = field(default_factory=dict, repr=False)
    # key -> (element type, length) for array values (a LOCI_META_* code).
    metadata_arrays: Dict[str, Tuple[int, int]] = field(default_factory=dict, repr=False)


@dataclass(frozen=True)
class MemoryEstimate:
    """loci_memory_estimate, in bytes."""

    weights_mapped: int
    model_heap: int
    kv_cache: int
    scratch: int
    total: int

    @classmethod
    def _from_c(cls, e):
        return cls(e.weights_mapped, e.model_heap, e.kv_cache, e.scratch, e.total)


def _new_estimate():
    e = loci_memory_estimate()
    lib.loci_memory_estimate_init(ctypes.byref(e))
    return e


class _ModelCore:
    """The handle and what must outlive it; freed by close() or by finalize."""

    def __init__(self, handle, keepalive=None):
        self.handle = handle
        self.keepalive = keepalive  # the buffer of from_buffer()

    def free(self):
        handle, self.handle = self.handle, None
        if handle:
            lib.loci_model_free(handle)
        self.keepalive = None


_INT_TYPES = {
    C.LOCI_META_UINT8, C.LOCI_META_INT8, C.LOCI_META_UINT16, C.LOCI_META_INT16,
    C.LOCI_META_UINT32, C.LOCI_META_INT32, C.LOCI_META_UINT64, C.LOCI_META_INT64,
}
_FLOAT_TYPES = {C.LOCI_META_FLOAT32, C.LOCI_META_FLOAT64}


def _grow_call(call, first_capacity):
    """Runs call(buffer, capacity, out_length) with a buffer that fits, retrying
    once at the size a LOCI_ERR_BUFFER_TOO_SMALL reports. Returns the bytes."""
    capacity = max(int(first_capacity), 16)
    for _ in range(2):
        buf = ctypes.create_string_buffer(capacity)
        out_len = ctypes.c_size_t(0)
        status = call(buf, capacity, ctypes.byref(out_len))
        if status == C.LOCI_ERR_BUFFER_TOO_SMALL and out_len.value + 1 > capacity:
            capacity = out_len.value + 1
            continue
        check(status)
        return buf.raw[: out_len.value]
    check(status)  # pragma: no cover - a second too-small answer is a library bug
    raise AssertionError("unreachable")


class Model(Closeable):
    """A GGUF model (llama or qwen2), memory-mapped and validated.

    Use as a context manager or call close(); sessions made from it stay valid
    after it closes (the library keeps what they need).
    """

    def __init__(self, path):
        path = os.fspath(path)
        handle = model_p()
        check(lib.loci_model_load(os.fsencode(path), None, ctypes.byref(handle)))
        self._init(handle, None, path)

    @classmethod
    def from_buffer(cls, data, alignment=4096):
        """Loads a GGUF image held in memory (bytes, bytearray, mmap, numpy ...).

        The library reads the buffer in place, so it needs LOCI_BUFFER_PADDING
        readable bytes after the data and the file's alignment: this copies
        the image once into an aligned, padded block that lives with the model.
        `alignment` must be a power of two at least general.alignment.
        """
        if alignment <= 0 or alignment & (alignment - 1):
            raise InvalidArgumentError("alignment must be a power of two")
        src = memoryview(data).cast("B")
        size = src.nbytes
        block = (ctypes.c_uint8 * (size + C.LOCI_BUFFER_PADDING + alignment))()  # zeroed
        start = (-ctypes.addressof(block)) % alignment
        memoryview(block).cast("B")[start : start + size] = src
        handle = model_p()
        check(lib.loci_model_load_from_buffer(ctypes.addressof(block) + start, size, None,
                                              ctypes.byref(handle)))
        self = cls.__new__(cls)
        self._init(handle, block, None)
        return self

    def _init(self, handle, keepalive, path):
        self._core = _ModelCore(handle, keepalive)
        self._finalizer = weakref.finalize(self, self._core.free)
        self.path = path
        self._info = None

    # ---- lifetime

    def close(self):
        """Frees the model now (idempotent)."""
        self._finalizer()

    def __repr__(self):
        if self.closed:
            return "<loci.Model closed>"
        i = self.info
        return "<loci.Model %s %r n_vocab=%d n_layer=%d>" % (i.architecture, i.name, i.n_vocab, i.n_layer)

    @property
    def _handle(self):
        h = self._core.handle
        if h is None:
            raise InvalidArgumentError("the model is closed")
        return h

    # ---- facts

    @property
    def info(self):
        """A ModelInfo (read once, then cached)."""
        if self._info is None:
            c = loci_model_info()
            lib.loci_model_info_init(ctypes.byref(c))
            check(lib.loci_model_get_info(self._handle, ctypes.byref(c)))
            metadata, arrays = self._read_metadata()
            self._info = ModelInfo(
                n_vocab=c.n_vocab, n_ctx_train=c.n_ctx_train, n_embd=c.n_embd, n_layer=c.n_layer,
                n_head=c.n_head, n_head_kv=c.n_head_kv, n_ff=c.n_ff, bos=c.bos, eos=c.eos, eot=c.eot,
                add_bos=bool(c.add_bos), n_params=c.n_params, file_size=c.file_size,
                architecture=decode(c.architecture or b""), name=decode(c.name or b""),
                metadata=metadata, metadata_arrays=arrays,
            )
        return self._info

    @property
    def n_vocab(self):
        return self.info.n_vocab

    @property
    def metadata(self):
        return self.info.metadata

    def _read_metadata(self):
        h = self._handle
        values, arrays = {}, {}
        for i in range(lib.loci_model_meta_count(h)):
            key = ctypes.c_char_p()
            check(lib.loci_model_meta_key(h, i, ctypes.byref(key)))
            kind, elem, length = ctypes.c_int32(), ctypes.c_int32(), ctypes.c_uint64()
            check(lib.loci_model_meta_type(h, key.value, ctypes.byref(kind), ctypes.byref(elem),
                                           ctypes.byref(length)))
            name = decode(key.value)
            if kind.value == C.LOCI_META_ARRAY:
                arrays[name] = (elem.value, length.value)
            else:
                values[name] = self._meta_value(key.value, kind.value)
        return values, arrays

    def _meta_value(self, key, kind):
        h = self._handle
        if kind in _INT_TYPES or kind == C.LOCI_META_BOOL:
            v = ctypes.c_int64()
            status = lib.loci_model_meta_int(h, key, ctypes.byref(v))
            if status == C.LOCI_ERR_INVALID_ARGUMENT and kind == C.LOCI_META_UINT64:
                # Above INT64_MAX: the C API offers only the float view.
                d = ctypes.c_double()
                check(lib.loci_model_meta_float(h, key, ctypes.byref(d)))
                return int(d.value)
            check(status)
            return bool(v.value) if kind == C.LOCI_META_BOOL else v.value
        if kind in _FLOAT_TYPES:
            d = ctypes.c_double()
            check(lib.loci_model_meta_float(h, key, ctypes.byref(d)))
            return d.value
        if kind == C.LOCI_META_STRING:
            raw = _grow_call(lambda buf, cap, n: lib.loci_model_meta_string(h, key, buf, cap, n), 64)
            return decode(raw)
        raise InvalidArgumentError("metadata %r has unknown type %d" % (decode(key), kind))

    def estimate_memory(self, **kwargs):
        """What one session with these parameters (see Session) would use."""
        from ._session import session_params  # avoid an import cycle

        params, _keep = session_params(**kwargs)
        e = _new_estimate()
        check(lib.loci_model_estimate_memory(self._handle, ctypes.byref(params), ctypes.byref(e)))
        return MemoryEstimate._from_c(e)

    # ---- tokens

    def tokenize(self, text, add_bos=True, special=False):
        """Token ids of `text` (str or UTF-8 bytes).

        add_bos: add BOS/EOS as the vocabulary asks (LOCI_TOKENIZE_ADD_SPECIAL).
        special: turn control-token text such as "<|im_end|>" into its token.
        """
        data = encode_text("text", text)
        flags = (C.LOCI_TOKENIZE_ADD_SPECIAL if add_bos else 0) | (C.LOCI_TOKENIZE_PARSE_SPECIAL if special else 0)
        capacity = len(data) + 8  # tokens are rarely more than bytes; retried if so
        for _ in range(2):
            out = (ctypes.c_int32 * capacity)()
            count = ctypes.c_size_t(0)
            status = lib.loci_tokenize(self._handle, data, len(data), flags, out, capacity, ctypes.byref(count))
            if status == C.LOCI_ERR_BUFFER_TOO_SMALL and count.value > capacity:
                capacity = count.value
                continue
            check(status)
            return list(out[: count.value])
        check(status)  # pragma: no cover

    def detokenize_bytes(self, tokens, special=False):
        """The exact bytes of `tokens` (which may end inside a UTF-8 character)."""
        ptr, n, _keep = token_array(tokens)
        flags = C.LOCI_DETOKENIZE_SPECIAL if special else 0
        h = self._handle
        return _grow_call(lambda buf, cap, out: lib.loci_detokenize(h, ptr, n, flags, buf, cap, out), 8 * n + 16)

    def detokenize(self, tokens, special=False):
        """Text of `tokens`; bytes that are not valid UTF-8 become U+FFFD."""
        return decode(self.detokenize_bytes(tokens, special))

    def token_piece_bytes(self, token, special=False):
        flags = C.LOCI_DETOKENIZE_SPECIAL if special else 0
        h = self._handle
        token = token_id(token)
        return _grow_call(lambda buf, cap, out: lib.loci_token_piece(h, token, flags, buf, cap, out), 32)

    def token_piece(self, token, special=False):
        """One token's text as generation shows it (a word start keeps its space)."""
        return decode(self.token_piece_bytes(token, special))

    def is_eog(self, token):
        """True if `token` ends generation (EOS, EOT, ...)."""
        return bool(lib.loci_token_is_eog(self._handle, token_id(token)))

    # ---- convenience

    def session(self, **kwargs):
        """A new Session on this model (see loci.Session)."""
        from ._session import Session

        return Session(self, **kwargs)


def estimate_memory(path, **session_params):
    """What loading `path` and one session with these parameters would use."""
    from ._session import session_params as make_params

    params, _keep = make_params(**session_params)
    e = _new_estimate()
    check(lib.loci_estimate_memory(os.fsencode(os.fspath(path)), ctypes.byref(params), ctypes.byref(e)))
    return MemoryEstimate._from_c(e)
