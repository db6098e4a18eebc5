"""Shared fixtures and markers."""

from __future__ import annotations

import gzip
import os
import shutil
import tempfile
from pathlib import Path

import pytest

TESTS = Path(__file__).resolve().parent
TESTDATA = TESTS / "testdata"
SHARED = TESTS.parent.parent / "shared"
CONFORMANCE = SHARED / "conformance"

# The JIT's code cache would make later test runs skip the compiles the tests exercise;
# give every test session its own (honest and isolated from the user's ~/.cache).
os.environ.setdefault("PYBPF_JIT_CACHE", tempfile.mkdtemp(prefix="pybpf-jit-cache-"))
OBJ = TESTDATA / "obj"
GOLDEN = TESTDATA / "golden"


def fixture_objects(pattern: str = "*.o") -> list[Path]:
    """The committed fixture objects (tests/testdata/obj), sorted."""
    return sorted(OBJ.glob(pattern))


def golden_dir(obj: Path) -> Path:
    """The golden directory of a fixture object (``obj/x.el.v3.o`` → ``golden/x.el.v3``)."""
    return GOLDEN / obj.name.removesuffix(".o")


def read_golden(path: Path) -> str:
    """A golden file's text, whether stored plain or as PATH.gz."""
    if path.exists():
        return path.read_text()
    return gzip.decompress(path.with_name(path.name + ".gz").read_bytes()).decode()


def has_golden(path: Path) -> bool:
    return path.exists() or path.with_name(path.name + ".gz").exists()


def tool(name: str) -> str:
    """The path of a reference tool, or skip the test saying it is absent."""
    path = shutil.which(name)
    if path is None:
        pytest.skip(f"{name} is not installed (apt-get install llvm-19 bpftool)")
    return path


def conformance_dir() -> Path:
    """../shared/conformance, or skip: the suite is read in place, never copied here."""
    if not (CONFORMANCE / "tests").is_dir():
        pytest.skip(f"bpf_conformance suite not found at {CONFORMANCE}")
    return CONFORMANCE


def is_root() -> bool:
    return os.geteuid() == 0


BPFFS = Path("/sys/fs/bpf")


def _pins() -> set[str]:
    try:
        return set(os.listdir(BPFFS))
    except OSError:  # no bpffs, or not allowed to look: nothing to check
        return set()


@pytest.fixture(scope="session", autouse=True)
def no_pins_left_behind() -> object:
    """The suite leaves /sys/fs/bpf as it found it: a test that pins (by name, or a
    directory of its own) removes what it pinned, so a second run and other tools are not
    handed stale maps."""
    before = _pins()
    yield
    left = _pins() - before
    assert not left, f"the tests left pins in {BPFFS}: {sorted(left)}"
