"""Finding the library, the import-time ABI check, versions, and the
pure-Python (no numpy) paths."""

import os
import shutil
import subprocess
import sys
import textwrap

import pytest

import loci
from loci import _lib

from conftest import SOURCE_DIR

PACKAGE_DIR = SOURCE_DIR / "bindings" / "python"


def run_python(code, env_changes, cwd=None):
    env = dict(os.environ)
    for k, v in env_changes.items():
        if v is None:
            env.pop(k, None)
        else:
            env[k] = v
    return subprocess.run([sys.executable, "-c", textwrap.dedent(code)], env=env, cwd=cwd,
                          capture_output=True, text=True, timeout=120)


def test_versions():
    assert loci.__version__ == "0.1.0"
    number = loci.library_version_number()
    assert loci.library_version() == "%d.%d.%d" % (number // 10000, number // 100 % 100, number % 100)
    assert loci.library_abi_version() == loci.ABI_VERSION == 0
    assert os.path.samefile(loci.library_path, os.environ["LOCI_LIBRARY"])


def test_status_strings_come_from_the_library():
    assert loci.status_string(0) == "ok"
    assert loci.status_string(loci.constants.LOCI_ERR_IO) != "unknown"
    assert loci.status_string(12345) == "unknown"


def test_abi_check_names_both_versions_and_the_path():
    with pytest.raises(loci.AbiMismatchError) as e:
        _lib.check_abi_version(3, "/some/libloci.so.3")
    msg = str(e.value)
    assert "3" in msg and "ABI version %d" % loci.ABI_VERSION in msg and "/some/libloci.so.3" in msg
    assert isinstance(e.value, ImportError) and isinstance(e.value, loci.Error)
    assert e.value.status == loci.constants.LOCI_ERR_ABI_MISMATCH
    _lib.check_abi_version(loci.ABI_VERSION, "x")  # the matching version passes


def test_import_refuses_a_library_with_another_abi():
    fake = os.environ.get("LOCI_FAKE_ABI_LIBRARY")
    if not fake:
        pytest.skip("LOCI_FAKE_ABI_LIBRARY (built by tests/python/CMakeLists.txt) is not set")
    r = run_python("""
        try:
            import loci
        except ImportError as e:
            print(type(e).__name__, e)
        else:
            print("imported")
        """, {"LOCI_LIBRARY": fake})
    assert r.returncode == 0, r.stderr
    out = r.stdout
    assert out.startswith("AbiMismatchError"), out
    assert "ABI version 7" in out and "ABI version 0" in out and fake in out


def test_a_missing_library_is_an_import_error_naming_the_path(tmp_path):
    missing = str(tmp_path / "no-such-libloci.so")
    r = run_python("""
        try:
            import loci
        except ImportError as e:
            print(type(e).__name__, e)
        """, {"LOCI_LIBRARY": missing})
    assert r.stdout.startswith("LibraryNotFoundError") and missing in r.stdout, r.stdout + r.stderr


def test_search_order():
    assert _lib.candidate_paths({"LOCI_LIBRARY": "/x/libloci.so"}) == ["/x/libloci.so"]
    paths = _lib.candidate_paths({})
    assert paths and paths[-1] == "libloci.so.%d" % loci.ABI_VERSION


def test_finds_a_library_next_to_the_package(tmp_path):
    pkg = tmp_path / "loci"
    shutil.copytree(PACKAGE_DIR / "loci", pkg, ignore=shutil.ignore_patterns("__pycache__", "*.so*"))
    lib = pkg / ("libloci.so.%d" % loci.ABI_VERSION)
    shutil.copy(os.path.realpath(os.environ["LOCI_LIBRARY"]), lib)
    r = run_python("import loci; print(loci.library_path)",
                   {"LOCI_LIBRARY": None, "PYTHONPATH": str(tmp_path)}, cwd=str(tmp_path))
    assert r.returncode == 0, r.stderr
    assert os.path.samefile(r.stdout.strip(), lib)


def test_pure_python_paths_without_numpy(stories_path):
    r = run_python("""
        import array, math, sys
        import loci
        assert not loci.has_numpy and "numpy" not in sys.modules
        with loci.Model(sys.argv[1] if len(sys.argv) > 1 else %r) as m, loci.Session(m, n_threads=1, n_ctx=64) as s:
            toks = m.tokenize("Once upon a time")
            rows = s.eval(toks, all_logits=True)
            last = s.logits()
            assert isinstance(last, array.array) and last.typecode == "f" and len(last) == m.n_vocab
            assert len(rows) == len(toks) and all(len(r) == m.n_vocab for r in rows)
            assert list(rows[-1]) == list(last)
            assert all(math.isfinite(x) for x in last)
            sampler = loci.Sampler(m, temperature=0)
            best = max(range(len(last)), key=last.__getitem__)
            assert sampler.sample(last) == best
            print("ok", best)
        """ % str(stories_path), {"LOCI_NO_NUMPY": "1"})
    assert r.returncode == 0, r.stderr
    assert r.stdout.startswith("ok")
