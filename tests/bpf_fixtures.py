"""Fixtures the kernel-facing test packages share (``tests/sys``, ``tests/objects``): an
fd-leak check around every test, a fake kernel, and the real one (skipped with the reason
when not root). A package's conftest imports the ones it uses."""

from __future__ import annotations

import contextlib
import gc
import os
from collections.abc import Iterator

import pytest

from pybpf.sys import use_backend
from pybpf.sys.fake import FakeBackend

ROOT_REASON = "needs root: bpf(2) requires CAP_BPF or CAP_SYS_ADMIN"


def open_fds() -> dict[int, str]:
    """This process's open fds and what they point at."""
    found = {}
    for name in os.listdir("/proc/self/fd"):
        with contextlib.suppress(OSError):  # the listing's own fd is closed already
            found[int(name)] = os.readlink(f"/proc/self/fd/{name}")
    return found


def leaked_fds(before: dict[int, str]) -> dict[int, str]:
    """The fds open now that were not open (to the same thing) in ``before``; garbage is
    collected before judging: GC closes fds too, so only what is still reachable counts."""
    leaked = {fd: t for fd, t in open_fds().items() if before.get(fd) != t}
    if leaked:
        gc.collect()
        leaked = {fd: t for fd, t in open_fds().items() if before.get(fd) != t}
    return leaked


@pytest.fixture(autouse=True)
def no_fd_leak() -> Iterator[None]:
    """Fail a test that leaves an fd open."""
    before = open_fds()
    yield
    leaked = leaked_fds(before)
    if leaked:
        pytest.fail(f"test leaked file descriptors: {leaked}")


def require_root() -> None:
    if os.geteuid() != 0:
        pytest.skip(ROOT_REASON)


@pytest.fixture
def kernel() -> None:
    """The real kernel (skipped when not root)."""
    require_root()


@pytest.fixture
def fake() -> Iterator[FakeBackend]:
    """A simulated kernel for the duration of the test."""
    with use_backend(FakeBackend()) as backend:
        yield backend  # type: ignore[misc]
