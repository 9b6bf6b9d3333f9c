"""Shared fixtures: where the models and golden files are, and loaded models.

Run by ctest with LOCI_LIBRARY, PYTHONPATH and LOCI_SHARED_DIR set (see
CMakeLists.txt). By hand:
  LOCI_LIBRARY=build/libloci.so PYTHONPATH=bindings/python \
    /usr/bin/python3 -m pytest -q tests/python

Sessions use n_threads=1: on a machine busy with other work, a second compute
thread makes each token wait for a core, and the tests run far slower.
"""

import json
import os
import pathlib
import time

import pytest

import loci

HERE = pathlib.Path(__file__).resolve().parent
SOURCE_DIR = pathlib.Path(os.environ.get("LOCI_SOURCE_DIR", HERE.parent.parent))
SHARED_DIR = pathlib.Path(os.environ.get("LOCI_SHARED_DIR", SOURCE_DIR.parent / "shared"))
MODELS = SHARED_DIR / "models"
GOLDEN = MODELS / "golden"


def model_path(name):
    path = MODELS / name
    if not path.exists():
        pytest.skip("shared model %s is not present" % path)
    return path


def golden(name):
    path = GOLDEN / name
    if not path.exists():
        pytest.skip("golden file %s is not present" % path)
    with open(path, encoding="utf-8") as f:
        return json.load(f)


@pytest.fixture(scope="session")
def stories_path():
    return model_path("stories260K.gguf")


@pytest.fixture(scope="session")
def stories(stories_path):
    with loci.Model(stories_path) as m:
        yield m


@pytest.fixture
def session(stories):
    with loci.Session(stories, n_threads=1, n_ctx=256, kv_type="f32") as s:
        yield s


def wait_until(predicate, seconds=10.0):
    """Polls predicate until it holds; False if it never did in time."""
    deadline = time.monotonic() + seconds
    while not predicate():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.001)
    return True
