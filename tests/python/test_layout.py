"""The package's ctypes mirrors against loci.h as the C compiler sees it:
struct sizes and offsets, #define values, and every function's prototype."""

import ctypes
import os
import re
import subprocess

import pytest

import loci
from loci import _lib
from loci import constants

HEADER = os.environ.get("LOCI_HEADER") or str(
    __import__("conftest").SOURCE_DIR / "capi" / "loci.h")


def header_text():
    with open(HEADER, encoding="utf-8") as f:
        text = f.read()
    return re.sub(r"/\*.*?\*/", " ", text, flags=re.S)  # drop comments


@pytest.fixture(scope="module")
def layout():
    exe = os.environ.get("LOCI_STRUCT_LAYOUT")
    if not exe:
        pytest.skip("LOCI_STRUCT_LAYOUT (the built struct_layout program) is not set")
    out = subprocess.run([exe], check=True, capture_output=True, text=True).stdout
    structs, fields, defines = {}, {}, {}
    for line in out.splitlines():
        kind, *rest = line.split()
        if kind == "struct":
            structs[rest[0]] = int(rest[1])
        elif kind == "field":
            fields.setdefault(rest[0], []).append((rest[1], int(rest[2]), int(rest[3])))
        elif kind == "define":
            defines[rest[0]] = int(rest[1])
    return structs, fields, defines


def header_structs():
    """struct name -> field names, parsed from the header."""
    out = {}
    for name, body, _ in re.findall(r"typedef struct (\w+) \{(.*?)\} (\w+);", header_text(), flags=re.S):
        names = []
        for decl in body.split(";"):
            decl = decl.strip()
            if not decl:
                continue
            m = re.search(r"\(\*\s*(\w+)\)", decl) or re.search(r"(\w+)\s*$", decl)
            names.append(m.group(1))
        out[name] = names
    return out


def header_defines():
    names = re.findall(r"^#define (LOCI_\w+)(?!\()\s+\S", header_text(), flags=re.M)
    return [n for n in names if n not in ("LOCI_API", "LOCI_H_")]


def test_every_header_struct_is_mirrored_and_printed(layout):
    structs, fields, _ = layout
    parsed = header_structs()
    assert len(parsed) >= 8
    mirrors = {s.__name__: s for s in _lib.STRUCTS}
    assert set(parsed) == set(mirrors), "structs in loci.h vs in the package"
    assert set(parsed) == set(structs), "structs in loci.h vs printed by struct_layout.c"
    for name, names in parsed.items():
        assert [f[0] for f in mirrors[name]._fields_] == names, name
        assert [f[0] for f in fields[name]] == names, name


def test_struct_sizes_and_offsets_match_the_compiler(layout):
    structs, fields, _ = layout
    for mirror in _lib.STRUCTS:
        name = mirror.__name__
        assert ctypes.sizeof(mirror) == structs[name], name
        for field, offset, size in fields[name]:
            desc = getattr(mirror, field)
            assert (desc.offset, desc.size) == (offset, size), "%s.%s" % (name, field)


def test_defines_match_the_compiler(layout):
    _, _, defines = layout
    names = header_defines()
    assert len(names) > 40
    assert set(names) == set(defines), "#defines in loci.h vs printed by struct_layout.c"
    for name in names:
        assert getattr(constants, name) == defines[name], name


def test_enums_follow_the_constants():
    assert loci.ABI_VERSION == constants.LOCI_ABI_VERSION
    for reason in loci.StopReason:
        assert getattr(constants, "LOCI_STOP_" + {"EOG": "EOG", "STRING": "STRING"}.get(
            reason.name, reason.name)) == reason
    for isa in loci.Isa:
        assert getattr(constants, "LOCI_ISA_" + isa.name) == isa
    for level in loci.LogLevel:
        assert getattr(constants, "LOCI_LOG_" + level.name) == level
    for name in dir(constants):
        if name.startswith("LOCI_ERR_"):
            cls = loci.error_class(getattr(constants, name))
            assert cls is not loci.Error and cls.status == getattr(constants, name), name


# C parameter/return types -> what the ctypes side must be.
_SCALARS = {
    "int32_t": ctypes.c_int32, "loci_status": ctypes.c_int32, "loci_isa": ctypes.c_int32,
    "loci_log_level": ctypes.c_int32, "uint32_t": ctypes.c_uint32, "size_t": ctypes.c_size_t,
}


def header_functions():
    """name -> (return type, [parameter types]) for every LOCI_API function."""
    out = {}
    for ret, name, params in re.findall(r"LOCI_API\s+([^;(]*?)\s*\b(loci_\w+)\(([^)]*)\);", header_text(), flags=re.S):
        params = " ".join(params.split())
        types = [] if params in ("", "void") else [re.sub(r"\s*\b\w+$", "", p.strip()) for p in params.split(",")]
        out[name] = (" ".join(ret.split()), types)
    return out


def _compatible(c_type, ct):
    c_type = c_type.replace("const ", "").strip()
    if c_type == "void":
        return ct is None
    if c_type in _SCALARS:
        return ct is _SCALARS[c_type]
    if c_type.endswith("*") or c_type.endswith("_callback"):
        # Any pointer-like ctypes type; the struct pointers must name the struct.
        base = c_type.rstrip("*").strip()
        if base in ("loci_model", "loci_session", "loci_sampler"):
            handle = getattr(_lib, base[len("loci_"):] + "_p")
            return ct is (handle if c_type.count("*") == 1 else ctypes.POINTER(handle))
        if base.startswith("loci_") and base.endswith(("_params", "_info", "_estimate", "_result", "allocator")):
            return ct is ctypes.POINTER(getattr(_lib, base))
        return ct in (ctypes.c_char_p, ctypes.c_void_p) or hasattr(ct, "_type_") or hasattr(ct, "_flags_")
    return False


def test_every_function_has_a_matching_prototype():
    funcs = header_functions()
    assert len(funcs) >= 50
    assert set(funcs) == set(_lib.PROTOTYPES), "functions in loci.h vs prototypes in the package"
    for name, (ret, params) in funcs.items():
        restype, argtypes = _lib.PROTOTYPES[name]
        fn = getattr(_lib.lib, name)
        assert fn.restype is restype and list(fn.argtypes) == list(argtypes), name
        assert len(argtypes) == len(params), "%s: %d parameters in loci.h" % (name, len(params))
        assert _compatible(ret, restype), "%s returns %s" % (name, ret)
        for i, (c_type, ct) in enumerate(zip(params, argtypes)):
            assert _compatible(c_type, ct), "%s parameter %d: %s vs %r" % (name, i, c_type, ct)


def test_wrong_calls_fail_in_python():
    # argtypes make a wrong handle type or a missing argument a Python error.
    with pytest.raises(ctypes.ArgumentError):
        _lib.lib.loci_session_position(_lib.model_p())
    with pytest.raises(TypeError):
        _lib.lib.loci_session_position()


def test_init_functions_set_struct_size():
    for mirror in _lib.STRUCTS:
        init = getattr(_lib.lib, mirror.__name__ + "_init", None) or {
            "loci_allocator": _lib.lib.loci_allocator_init}.get(mirror.__name__)
        s = mirror()
        init(ctypes.byref(s))
        assert s.struct_size == ctypes.sizeof(mirror), mirror.__name__
