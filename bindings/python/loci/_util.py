"""Small shared helpers: numpy detection, argument checks, token arrays."""

import array
import ctypes
import os

from ._errors import InvalidArgumentError, OutOfRangeError

# numpy is optional; LOCI_NO_NUMPY=1 forces the pure-Python paths (tests use it).
if os.environ.get("LOCI_NO_NUMPY") == "1":
    np = None
else:
    try:
        import numpy as np
    except ImportError:  # pragma: no cover - depends on the environment
        np = None

UINT32_MAX = 2**32 - 1
UINT64_MAX = 2**64 - 1


def checked_int(name, value, lo, hi):
    """`value` as an int within [lo, hi]; ctypes would silently wrap it."""
    if isinstance(value, bool) or not hasattr(value, "__index__"):
        raise TypeError("%s must be an integer, not %s" % (name, type(value).__name__))
    value = value.__index__()
    if not lo <= value <= hi:
        raise InvalidArgumentError("%s = %d is outside [%d, %d]" % (name, value, lo, hi))
    return value


def token_id(value):
    """One token id as a checked int32 (ctypes would wrap a larger one)."""
    if isinstance(value, bool) or not hasattr(value, "__index__"):
        raise TypeError("a token id must be an integer, not %s" % type(value).__name__)
    value = value.__index__()
    if not -(2**31) <= value < 2**31:
        raise OutOfRangeError("token id %d does not fit in int32" % value)
    return value


def token_array(tokens):
    """Token ids as a C int32 array (plus its length), checked for range."""
    if isinstance(tokens, int):
        tokens = [tokens]
    try:
        arr = array.array("i", tokens)
    except OverflowError:
        # As the library reports an id outside the vocabulary.
        raise OutOfRangeError("token ids must fit in int32") from None
    except TypeError:
        raise TypeError("tokens must be a sequence of integers") from None
    n = len(arr)
    if arr.itemsize != 4:  # pragma: no cover - no such platform in use
        raise RuntimeError("C int is not 32 bits here")
    if n == 0:
        return None, 0, arr
    cbuf = (ctypes.c_int32 * n).from_buffer(arr)
    return ctypes.cast(cbuf, ctypes.POINTER(ctypes.c_int32)), n, arr


def float_vector(ptr, n):
    """A copy of n floats at ptr: numpy array when numpy is present, else array('f')."""
    if np is not None:
        return np.ctypeslib.as_array(ptr, shape=(n,)).copy()
    out = array.array("f", bytes(4 * n))
    ctypes.memmove((ctypes.c_float * n).from_buffer(out), ptr, 4 * n)
    return out


def decode(data):
    return data.decode("utf-8", errors="replace")


def encode_text(name, text):
    if isinstance(text, str):
        return text.encode("utf-8")
    if isinstance(text, (bytes, bytearray, memoryview)):
        return bytes(text)
    raise TypeError("%s must be str or bytes, not %s" % (name, type(text).__name__))


class Closeable:
    """Context-manager plumbing shared by handle owners: a subclass keeps its
    native handle in self._core.handle and defines close()."""

    @property
    def closed(self):
        return self._core.handle is None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
