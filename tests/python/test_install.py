"""pip installs the package into a fresh venv with no network and no
compiler, and the installed copy works from outside the source tree."""

import os
import shutil
import subprocess
import sys
import textwrap

import pytest

from conftest import SOURCE_DIR, model_path

PACKAGE_DIR = SOURCE_DIR / "bindings" / "python"


def listing(root):
    return sorted(str(p.relative_to(root)) for p in root.rglob("*") if "__pycache__" not in p.parts)


@pytest.fixture(scope="module")
def venv(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("install")
    before = listing(PACKAGE_DIR)
    # Build from a copy: pip builds in place and would leave build/ and
    # *.egg-info in the source tree.
    src = tmp / "src"
    shutil.copytree(PACKAGE_DIR, src, ignore=shutil.ignore_patterns("build", "*.egg-info", "__pycache__"))
    # Ship the library inside the package, as a wheel for a device would.
    shutil.copy(os.path.realpath(os.environ["LOCI_LIBRARY"]), src / "loci" / "libloci.so.0")
    env_dir = tmp / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--system-site-packages", str(env_dir)], check=True)
    python = env_dir / "bin" / "python"
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "LOCI_LIBRARY")}
    r = subprocess.run([str(python), "-m", "pip", "install", "--no-index", "--no-build-isolation",
                        "--no-cache-dir", "--disable-pip-version-check", str(src)],
                       env=env, capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stdout + r.stderr
    assert listing(PACKAGE_DIR) == before, "the install changed the source tree"
    return python, tmp


def run(python, code, cwd, **env_changes):
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    env.update({k: v for k, v in env_changes.items() if v is not None})
    for k, v in env_changes.items():
        if v is None:
            env.pop(k, None)
    return subprocess.run([str(python), "-c", textwrap.dedent(code), str(model_path("stories260K.gguf"))],
                          cwd=str(cwd), env=env, capture_output=True, text=True, timeout=120)


GENERATE = """
    import sys, loci
    print(loci.__file__)
    print(loci.library_path)
    with loci.Model(sys.argv[1]) as m, loci.Session(m, n_threads=1, n_ctx=64) as s:
        print(repr(s.generate_text("Once upon a time", max_tokens=8, temperature=0).text))
    """


def test_installed_package_generates_with_loci_library(venv):
    python, tmp = venv
    r = run(python, GENERATE, tmp, LOCI_LIBRARY=os.environ["LOCI_LIBRARY"])
    assert r.returncode == 0, r.stderr
    pkg_file, lib_path, text = r.stdout.splitlines()
    assert pkg_file.startswith(str(tmp / "venv")), pkg_file  # the installed copy, not the source
    assert lib_path == os.environ["LOCI_LIBRARY"]
    assert text.startswith("', there was a little")


def test_installed_package_finds_its_bundled_library(venv):
    python, tmp = venv
    r = run(python, GENERATE, tmp, LOCI_LIBRARY=None)
    assert r.returncode == 0, r.stderr
    pkg_file, lib_path, text = r.stdout.splitlines()
    assert lib_path.startswith(os.path.dirname(pkg_file)) and lib_path.endswith("libloci.so.0")
    assert text.startswith("', there was a little")
