"""Exceptions: one loci.Error subclass per loci_status, chosen by code.

Each also derives from the built-in exception a Python caller would expect
(ValueError for bad arguments, OSError for I/O, MemoryError, ...), so generic
handlers keep working.
"""

from . import constants as C


class Error(Exception):
    """Base of every loci error. `status` is the loci_status code (int)."""

    status = C.LOCI_ERR_INTERNAL

    def __init__(self, message="", status=None):
        # One positional argument only: OSError would read two as (errno, strerror).
        super().__init__(message)
        if status is not None:
            self.status = int(status)
        self.message = message

    def __str__(self):
        return self.message


class InvalidArgumentError(Error, ValueError):
    status = C.LOCI_ERR_INVALID_ARGUMENT


class OutOfRangeError(Error, ValueError):
    status = C.LOCI_ERR_OUT_OF_RANGE


class UnsupportedError(Error, NotImplementedError):
    status = C.LOCI_ERR_UNSUPPORTED


class BufferTooSmallError(Error):
    status = C.LOCI_ERR_BUFFER_TOO_SMALL


class NotFoundError(Error, LookupError):
    status = C.LOCI_ERR_NOT_FOUND


class OutOfMemoryError(Error, MemoryError):
    status = C.LOCI_ERR_OUT_OF_MEMORY


class IoError(Error, OSError):
    status = C.LOCI_ERR_IO


class CancelledError(Error):
    status = C.LOCI_ERR_CANCELLED


class DeadlineExceededError(Error, TimeoutError):
    status = C.LOCI_ERR_DEADLINE_EXCEEDED


class InvalidModelError(Error, ValueError):
    status = C.LOCI_ERR_INVALID_MODEL


class AbiMismatchError(Error, ImportError):
    """The library and this package disagree on the ABI (also raised at import)."""

    status = C.LOCI_ERR_ABI_MISMATCH


class InternalError(Error):
    status = C.LOCI_ERR_INTERNAL


class LibraryNotFoundError(Error, ImportError):
    """No loadable libloci was found (raised at import)."""

    status = C.LOCI_ERR_IO


class SessionBusyError(InvalidArgumentError):
    """A session was used while another call (an open generate iterator) holds it."""


_BY_STATUS = {
    cls.status: cls
    for cls in (
        InvalidArgumentError,
        OutOfRangeError,
        UnsupportedError,
        BufferTooSmallError,
        NotFoundError,
        OutOfMemoryError,
        IoError,
        CancelledError,
        DeadlineExceededError,
        InvalidModelError,
        AbiMismatchError,
        InternalError,
    )
}


def error_class(status):
    """The Error subclass for a loci_status; plain Error for unknown codes."""
    return _BY_STATUS.get(int(status), Error)
