"""The fd-leak check that guards every test of this directory does catch a leak."""

from __future__ import annotations

import os

from pybpf.objects import Map
from pybpf.spec import MapSpec, MapType
from tests.bpf_fixtures import leaked_fds, open_fds


def test_a_leaked_map_is_caught(backend: str) -> None:
    before = open_fds()
    m = Map.create(MapSpec("leaky", MapType.HASH, 4, 4, 1))
    fd = m.fileno()
    assert fd in leaked_fds(before)
    m.close()
    assert leaked_fds(before) == {}


def test_garbage_is_not_a_leak(backend: str) -> None:
    before = open_fds()
    Map.create(MapSpec("garbage", MapType.HASH, 4, 4, 1))  # unreachable at once
    assert leaked_fds(before) == {}


def test_a_raw_fd_is_caught() -> None:
    before = open_fds()
    fd = os.open(os.devnull, os.O_RDONLY)
    try:
        assert leaked_fds(before) == {fd: os.devnull}
    finally:
        os.close(fd)
