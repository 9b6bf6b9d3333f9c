"""ctypes mirror of loci.h: structs, callback types, function prototypes,
and finding and loading the shared library.

Every function gets argtypes and restype, so a wrong call fails in Python
instead of corrupting memory. tests/python compares the structs' sizes and
offsets with the C compiler's.
"""

import ctypes
import ctypes.util
import glob
import os
from ctypes import (
    CFUNCTYPE,
    POINTER,
    Structure,
    c_char_p,
    c_double,
    c_float,
    c_int32,
    c_int64,
    c_size_t,
    c_uint32,
    c_uint64,
    c_void_p,
)

from . import constants as C
from ._errors import AbiMismatchError, LibraryNotFoundError, error_class

# The ABI this package was written for (loci.h's LOCI_ABI_VERSION).
ABI_VERSION = C.LOCI_ABI_VERSION

# ---- Opaque handles: distinct pointer types, so handles cannot be mixed up.


class _ModelHandle(Structure):
    pass


class _SessionHandle(Structure):
    pass


class _SamplerHandle(Structure):
    pass


model_p = POINTER(_ModelHandle)
session_p = POINTER(_SessionHandle)
sampler_p = POINTER(_SamplerHandle)

# ---- Callback types. Text arrives as a pointer plus length (no NUL), so it
# is c_void_p, not c_char_p (which would read up to a NUL).

log_callback = CFUNCTYPE(None, c_void_p, c_int32, c_char_p)
cancel_callback = CFUNCTYPE(c_int32, c_void_p)
text_callback = CFUNCTYPE(c_int32, c_void_p, c_void_p, c_size_t)
alloc_fn = CFUNCTYPE(c_void_p, c_void_p, c_size_t, c_size_t)
free_fn = CFUNCTYPE(None, c_void_p, c_void_p, c_size_t)

# ---- Structs, field for field as in loci.h.


class loci_allocator(Structure):
    _fields_ = [
        ("struct_size", c_uint32),
        ("reserved", c_uint32),
        ("user", c_void_p),
        ("alloc", alloc_fn),
        ("free", free_fn),
    ]


class loci_model_params(Structure):
    _fields_ = [("struct_size", c_uint32), ("flags", c_uint32)]


class loci_model_info(Structure):
    _fields_ = [
        ("struct_size", c_uint32),
        ("n_vocab", c_int32),
        ("n_ctx_train", c_int32),
        ("n_embd", c_int32),
        ("n_layer", c_int32),
        ("n_head", c_int32),
        ("n_head_kv", c_int32),
        ("n_ff", c_int32),
        ("bos", c_int32),
        ("eos", c_int32),
        ("eot", c_int32),
        ("add_bos", c_int32),
        ("n_params", c_uint64),
        ("file_size", c_uint64),
        ("architecture", c_char_p),
        ("name", c_char_p),
    ]


class loci_session_params(Structure):
    _fields_ = [
        ("struct_size", c_uint32),
        ("n_ctx", c_uint32),
        ("n_batch", c_uint32),
        ("n_threads", c_uint32),
        ("kv_type", c_int32),
        ("timeout_ms", c_uint32),
        ("memory_budget", c_uint64),
        ("cancel", cancel_callback),
        ("cancel_user", c_void_p),
    ]


class loci_memory_estimate(Structure):
    _fields_ = [
        ("struct_size", c_uint32),
        ("reserved", c_uint32),
        ("weights_mapped", c_uint64),
        ("model_heap", c_uint64),
        ("kv_cache", c_uint64),
        ("scratch", c_uint64),
        ("total", c_uint64),
    ]


class loci_sampler_params(Structure):
    _fields_ = [
        ("struct_size", c_uint32),
        ("temperature", c_float),
        ("top_k", c_int32),
        ("top_p", c_float),
        ("min_p", c_float),
        ("repeat_penalty", c_float),
        ("repeat_last_n", c_int32),
        ("frequency_penalty", c_float),
        ("presence_penalty", c_float),
        ("reserved", c_uint32),
        ("seed", c_uint64),
    ]


class loci_generate_params(Structure):
    _fields_ = [
        ("struct_size", c_uint32),
        ("max_tokens", c_int32),
        ("stop", POINTER(c_char_p)),
        ("n_stop", c_size_t),
        ("stop_at_eog", c_int32),
        ("special", c_int32),
        ("strip_leading_space", c_int32),
        ("penalize_prompt", c_int32),
    ]


class loci_generate_result(Structure):
    _fields_ = [
        ("struct_size", c_uint32),
        ("stop_reason", c_int32),
        ("stop_index", c_int32),
        ("last_token", c_int32),
        ("prompt_tokens", c_uint64),
        ("generated_tokens", c_uint64),
        ("prefill_seconds", c_double),
        ("decode_seconds", c_double),
    ]


STRUCTS = (
    loci_allocator,
    loci_model_params,
    loci_model_info,
    loci_session_params,
    loci_memory_estimate,
    loci_sampler_params,
    loci_generate_params,
    loci_generate_result,
)

# ---- Prototypes: name -> (restype, argtypes).

_status = c_int32
_i32p = POINTER(c_int32)
_f32p = POINTER(c_float)
_sizep = POINTER(c_size_t)

PROTOTYPES = {
    "loci_version_number": (c_int32, []),
    "loci_abi_version": (c_int32, []),
    "loci_version_string": (c_char_p, []),
    "loci_status_string": (c_char_p, [c_int32]),
    "loci_last_error": (c_char_p, []),
    "loci_set_log_callback": (None, [log_callback, c_void_p, c_int32]),
    "loci_allocator_init": (None, [POINTER(loci_allocator)]),
    "loci_set_allocator": (_status, [POINTER(loci_allocator)]),
    "loci_isa_host": (c_int32, []),
    "loci_isa_cap": (c_int32, []),
    "loci_isa_active": (c_int32, []),
    "loci_set_isa_cap": (_status, [c_int32]),
    "loci_isa_name": (c_char_p, [c_int32]),
    "loci_model_params_init": (None, [POINTER(loci_model_params)]),
    "loci_model_load": (_status, [c_char_p, POINTER(loci_model_params), POINTER(model_p)]),
    "loci_model_load_from_buffer": (_status, [c_void_p, c_size_t, POINTER(loci_model_params), POINTER(model_p)]),
    "loci_model_free": (None, [model_p]),
    "loci_model_info_init": (None, [POINTER(loci_model_info)]),
    "loci_model_get_info": (_status, [model_p, POINTER(loci_model_info)]),
    "loci_model_meta_count": (c_size_t, [model_p]),
    "loci_model_meta_key": (_status, [model_p, c_size_t, POINTER(c_char_p)]),
    "loci_model_meta_type": (_status, [model_p, c_char_p, _i32p, _i32p, POINTER(c_uint64)]),
    "loci_model_meta_int": (_status, [model_p, c_char_p, POINTER(c_int64)]),
    "loci_model_meta_float": (_status, [model_p, c_char_p, POINTER(c_double)]),
    "loci_model_meta_string": (_status, [model_p, c_char_p, c_void_p, c_size_t, _sizep]),
    "loci_tokenize": (_status, [model_p, c_char_p, c_size_t, c_uint32, _i32p, c_size_t, _sizep]),
    "loci_detokenize": (_status, [model_p, _i32p, c_size_t, c_uint32, c_void_p, c_size_t, _sizep]),
    "loci_token_piece": (_status, [model_p, c_int32, c_uint32, c_void_p, c_size_t, _sizep]),
    "loci_token_is_eog": (c_int32, [model_p, c_int32]),
    "loci_session_params_init": (None, [POINTER(loci_session_params)]),
    "loci_memory_estimate_init": (None, [POINTER(loci_memory_estimate)]),
    "loci_estimate_memory": (
        _status,
        [c_char_p, POINTER(loci_session_params), POINTER(loci_memory_estimate)],
    ),
    "loci_model_estimate_memory": (
        _status,
        [model_p, POINTER(loci_session_params), POINTER(loci_memory_estimate)],
    ),
    "loci_session_create": (_status, [model_p, POINTER(loci_session_params), POINTER(session_p)]),
    "loci_session_free": (None, [session_p]),
    "loci_session_eval": (_status, [session_p, _i32p, c_size_t]),
    "loci_session_eval_all": (_status, [session_p, _i32p, c_size_t, _f32p, c_size_t]),
    "loci_session_logits": (_f32p, [session_p]),
    "loci_session_n_vocab": (c_int32, [session_p]),
    "loci_session_n_ctx": (c_size_t, [session_p]),
    "loci_session_position": (c_size_t, [session_p]),
    "loci_session_memory": (_status, [session_p, POINTER(loci_memory_estimate)]),
    "loci_session_reset": (None, [session_p]),
    "loci_session_truncate": (_status, [session_p, c_size_t]),
    "loci_session_cancel": (None, [session_p]),
    "loci_session_set_timeout": (_status, [session_p, c_uint32]),
    "loci_sampler_params_init": (None, [POINTER(loci_sampler_params)]),
    "loci_sampler_create": (_status, [model_p, POINTER(loci_sampler_params), POINTER(sampler_p)]),
    "loci_sampler_free": (None, [sampler_p]),
    "loci_sampler_sample": (_status, [sampler_p, _f32p, c_size_t, _i32p]),
    "loci_sampler_accept": (_status, [sampler_p, c_int32]),
    "loci_sampler_reset": (None, [sampler_p]),
    "loci_generate_params_init": (None, [POINTER(loci_generate_params)]),
    "loci_generate_result_init": (None, [POINTER(loci_generate_result)]),
    "loci_generate": (
        _status,
        [
            session_p,
            sampler_p,
            _i32p,
            c_size_t,
            POINTER(loci_generate_params),
            text_callback,
            c_void_p,
            POINTER(loci_generate_result),
        ],
    ),
}

# ---- Finding and loading the library.


def _next_to_package():
    """libloci.so* files in the package's folder, the SONAME first."""
    here = os.path.dirname(os.path.abspath(__file__))
    found = glob.glob(os.path.join(here, "libloci.so*"))
    preferred = ["libloci.so.%d" % ABI_VERSION, "libloci.so"]
    return sorted(found, key=lambda p: (preferred.index(os.path.basename(p))
                                        if os.path.basename(p) in preferred else len(preferred), p))


def candidate_paths(environ=None):
    """Where to look, in order. LOCI_LIBRARY, when set, is the only place."""
    environ = os.environ if environ is None else environ
    explicit = environ.get("LOCI_LIBRARY")
    if explicit:
        return [explicit]
    paths = _next_to_package()
    system = ctypes.util.find_library("loci")
    paths += [p for p in (system, "libloci.so.%d" % ABI_VERSION) if p]
    return paths


def _load():
    tried = []
    for path in candidate_paths():
        try:
            return ctypes.CDLL(path), path
        except OSError as e:
            tried.append("%s (%s)" % (path, e))
    raise LibraryNotFoundError(
        "loci: cannot load the loci shared library; tried: " + "; ".join(tried)
        + ". Set LOCI_LIBRARY to the path of libloci.so." + str(ABI_VERSION)
    )


def check_abi_version(library_abi, path, expected=ABI_VERSION):
    """Raises AbiMismatchError unless the library's ABI is the one this package speaks."""
    if library_abi != expected:
        raise AbiMismatchError(
            "loci: the library at %s has ABI version %d, but this Python package was written "
            "for ABI version %d; install a matching library or package" % (path, library_abi, expected)
        )


def _bind(lib, path):
    abi = lib.loci_abi_version
    abi.restype, abi.argtypes = c_int32, []
    check_abi_version(abi(), path)
    for name, (restype, argtypes) in PROTOTYPES.items():
        try:
            fn = getattr(lib, name)
        except AttributeError:
            raise AbiMismatchError(
                "loci: the library at %s (ABI %d) lacks %s; it is older than this package"
                % (path, ABI_VERSION, name)
            ) from None
        fn.restype, fn.argtypes = restype, argtypes


lib, path = _load()
_bind(lib, path)

# ---- Status checks.


def last_error():
    return (lib.loci_last_error() or b"").decode("utf-8", "replace")


def make_error(status):
    """The exception for a failed call; read on the thread that made the call."""
    message = last_error() or (lib.loci_status_string(status) or b"unknown").decode()
    return error_class(status)(message, status)


def check(status):
    if status != C.LOCI_OK:
        raise make_error(status)
