"""loci: run GGUF language models (llama, qwen2) on-device, through the
library's stable C ABI (ctypes; no compiler needed).

    import loci
    with loci.Model("stories260K.gguf") as model:
        session = loci.Session(model, n_ctx=256)
        for piece in session.generate("Once upon a time", max_tokens=32, temperature=0):
            print(piece, end="", flush=True)

The shared library is found through the LOCI_LIBRARY environment variable (a
path), else a libloci.so* next to this package, else the system's search path.
"""

__version__ = "0.1.0"

import enum as _enum

from . import constants
from ._errors import (
    AbiMismatchError,
    BufferTooSmallError,
    CancelledError,
    DeadlineExceededError,
    Error,
    InternalError,
    InvalidArgumentError,
    InvalidModelError,
    IoError,
    LibraryNotFoundError,
    NotFoundError,
    OutOfMemoryError,
    OutOfRangeError,
    SessionBusyError,
    UnsupportedError,
    error_class,
)
from ._lib import ABI_VERSION, lib as _clib, path as library_path
from ._generate import GenerateStream, GenerationResult, StopReason
from ._model import MemoryEstimate, Model, ModelInfo, estimate_memory
from ._session import Sampler, Session
from ._util import np as _np

has_numpy = _np is not None


class Isa(_enum.IntEnum):
    """Instruction-set levels (loci_isa)."""

    REF = constants.LOCI_ISA_REF
    AVX2 = constants.LOCI_ISA_AVX2
    AVX512 = constants.LOCI_ISA_AVX512
    AVX512VNNI = constants.LOCI_ISA_AVX512VNNI
    NEON = constants.LOCI_ISA_NEON
    DOTPROD = constants.LOCI_ISA_DOTPROD
    I8MM = constants.LOCI_ISA_I8MM


class LogLevel(_enum.IntEnum):
    ERROR = constants.LOCI_LOG_ERROR
    WARN = constants.LOCI_LOG_WARN
    INFO = constants.LOCI_LOG_INFO
    DEBUG = constants.LOCI_LOG_DEBUG


def library_version():
    """The loaded library's version string ("0.1.0")."""
    return _clib.loci_version_string().decode()


def library_version_number():
    """The loaded library's LOCI_VERSION_NUMBER (major*10000 + minor*100 + patch)."""
    return _clib.loci_version_number()


def library_abi_version():
    return _clib.loci_abi_version()


def status_string(status):
    """The library's name for a status code ("ok", "invalid_argument", ...)."""
    return _clib.loci_status_string(int(status)).decode()


def _as_isa(isa):
    if isinstance(isa, str):
        try:
            return Isa[isa.upper()]
        except KeyError:
            raise InvalidArgumentError("unknown ISA name %r" % isa) from None
    return int(isa)


def _isa(value):
    try:
        return Isa(value)
    except ValueError:
        return value


def isa_host():
    """The best ISA level this CPU supports."""
    return _isa(_clib.loci_isa_host())


def isa_cap():
    return _isa(_clib.loci_isa_cap())


def isa_active():
    """The level kernels run at: the host's, lowered to the cap."""
    return _isa(_clib.loci_isa_active())


def set_isa_cap(isa):
    """Caps kernel choice (an Isa, its int, or a name such as "avx2"); set it
    before any session runs."""
    from ._lib import check

    check(_clib.loci_set_isa_cap(_as_isa(isa)))


def isa_name(isa):
    return _clib.loci_isa_name(_as_isa(isa)).decode()


_log_callback = None  # the ctypes thunk must outlive its registration


def set_log_callback(callback, max_level=LogLevel.INFO):
    """Sends library messages at `max_level` and more severe to
    callback(level: LogLevel, message: str); None turns logging off.
    The callback may run on any thread inside a loci call; its exceptions are
    swallowed (they cannot cross the C library)."""
    global _log_callback
    from ._lib import log_callback

    if callback is None:
        _clib.loci_set_log_callback(log_callback(), None, int(max_level))  # a NULL pointer
        _log_callback = None
        return

    def forward(_user, level, message):
        try:
            callback(_isa_level(level), (message or b"").decode("utf-8", "replace"))
        except BaseException:  # noqa: BLE001 - must not unwind into C
            pass

    thunk = log_callback(forward)
    _clib.loci_set_log_callback(thunk, None, int(max_level))
    _log_callback = thunk


def _isa_level(level):
    try:
        return LogLevel(level)
    except ValueError:
        return level


__all__ = [
    "ABI_VERSION", "AbiMismatchError", "BufferTooSmallError", "CancelledError", "DeadlineExceededError",
    "Error", "GenerateStream", "GenerationResult", "InternalError", "InvalidArgumentError",
    "InvalidModelError", "IoError", "Isa", "LibraryNotFoundError", "LogLevel", "MemoryEstimate", "Model",
    "ModelInfo", "NotFoundError", "OutOfMemoryError", "OutOfRangeError", "Sampler", "Session",
    "SessionBusyError", "StopReason", "UnsupportedError", "constants", "error_class", "estimate_memory",
    "has_numpy", "isa_active", "isa_cap", "isa_host", "isa_name", "library_abi_version", "library_path",
    "library_version", "library_version_number", "set_isa_cap", "set_log_callback", "status_string",
]
