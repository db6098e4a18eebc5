"""The FD type: owned, closed exactly once, never 0, close-on-exec."""

from __future__ import annotations

import fcntl
import gc
import os

import pytest

from pybpf.errors import ClosedError
from pybpf.sys import FD


def _is_open(fd: int) -> bool:
    try:
        os.fstat(fd)
    except OSError:
        return False
    return True


def test_close_closes_once_and_fileno_then_raises() -> None:
    fd = FD(os.open(os.devnull, os.O_RDONLY | os.O_CLOEXEC))
    n = fd.fileno()
    fd.close()
    fd.close()  # harmless
    assert fd.closed and not _is_open(n)
    with pytest.raises(ClosedError):
        fd.fileno()
    assert repr(fd) == "FD(closed)"


def test_with_block_closes() -> None:
    with FD(os.open(os.devnull, os.O_RDONLY)) as fd:
        n = fd.fileno()
        assert int(fd) == n and _is_open(n)
    assert not _is_open(n)


def test_garbage_collection_closes() -> None:
    fd = FD(os.open(os.devnull, os.O_RDONLY))
    n = fd.fileno()
    del fd
    gc.collect()
    assert not _is_open(n)


def test_dup_is_independent_and_close_on_exec() -> None:
    with FD(os.open(os.devnull, os.O_RDONLY)) as fd, fd.dup() as twin:
        assert twin.fileno() != fd.fileno()
        assert fcntl.fcntl(twin.fileno(), fcntl.F_GETFD) & fcntl.FD_CLOEXEC
        fd.close()
        assert _is_open(twin.fileno())


def test_fd_zero_is_moved_above_zero() -> None:
    saved = os.dup(0)
    try:
        os.close(0)
        zero = os.open(os.devnull, os.O_RDONLY)
        assert zero == 0
        fd = FD(zero)
        assert fd.fileno() > 0
        assert fcntl.fcntl(fd.fileno(), fcntl.F_GETFD) & fcntl.FD_CLOEXEC
        assert not _is_open(0)
        fd.close()
    finally:
        os.dup2(saved, 0)
        os.close(saved)


def test_negative_fd_is_refused() -> None:
    with pytest.raises(ValueError):
        FD(-1)
