"""Pinning maps and programs in the bpf filesystem, and opening them again — here and from
another process."""

from __future__ import annotations

import errno
import os
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest

from pybpf.errors import SyscallError
from pybpf.objects import HashMap, Map, Program, SpecError
from pybpf.objects.pin import BPFFS_ROOT
from pybpf.spec import MapSpec, MapType, ProgramSpec, ProgType
from pybpf.sys.fake import FakeBackend
from tests.objects.progs import ret


@pytest.fixture
def pin_dir(backend: str, tmp_path: Path) -> Iterator[str]:
    """A fresh directory to pin in: under /sys/fs/bpf on the kernel, tmp on the fake."""
    if backend == "fake":
        yield str(tmp_path)
        return
    path = os.path.join(BPFFS_ROOT, f"pybpf_test_{os.getpid()}")
    yield path
    if os.path.isdir(path):
        for name in os.listdir(path):
            os.unlink(os.path.join(path, name))
        os.rmdir(path)


def test_map_pin_open_unpin(pin_dir: str) -> None:
    path = os.path.join(pin_dir, "counts")
    with Map.create(MapSpec("counts", MapType.HASH, 4, 4, 4)) as m:
        m[1] = 2
        m.pin(path)
        assert m.pinned_path == path and os.path.exists(path)
        with pytest.raises(SyscallError) as info:
            m.pin(path)
        assert info.value.errno == errno.EEXIST and "already exists" in str(info.value)
    with Map.from_pin(path) as again:
        assert isinstance(again, HashMap) and again[1] == (2).to_bytes(4, "little")
        assert again.pinned_path == path and again.name == "counts"
        again.unpin()
        assert again.pinned_path is None and not os.path.exists(path)
    with pytest.raises(SyscallError) as gone:
        Map.from_pin(path)
    assert gone.value.errno == errno.ENOENT and f"nothing is pinned at {path}" in str(gone.value)


def test_program_pin_and_wrong_kinds(pin_dir: str) -> None:
    prog_path, map_path = os.path.join(pin_dir, "prog"), os.path.join(pin_dir, "map")
    with Program.load(ProgramSpec("pinned", ProgType.SOCKET_FILTER, ret(0))) as prog:
        prog.pin(prog_path)
    with Map.create(MapSpec("m", MapType.ARRAY, 4, 4, 1)) as m:
        m.pin(map_path)
    with Program.from_pin(prog_path) as again:
        assert again.name == "pinned"
    with pytest.raises(SpecError, match="holds a program, not a map"):
        Map.from_pin(prog_path)
    with pytest.raises(SpecError, match="holds a map, not a program"):
        Program.from_pin(map_path)
    with pytest.raises(SpecError, match="is a ArrayMap, not a HashMap"):
        HashMap.from_pin(map_path)
    os.unlink(prog_path)
    os.unlink(map_path)


def test_unpin_without_a_pin_is_a_clear_error(backend: str) -> None:
    with (
        Map.create(MapSpec("m", MapType.ARRAY, 4, 4, 1)) as m,
        pytest.raises(SpecError, match="is not pinned"),
    ):
        m.unpin()


def test_pin_outside_a_bpffs_is_refused(kernel: None, tmp_path: Path) -> None:
    with (
        Map.create(MapSpec("m", MapType.ARRAY, 4, 4, 1)) as m,
        pytest.raises(SpecError, match="is not on a bpf filesystem"),
    ):
        m.pin(str(tmp_path / "m"))


def test_bpffs_is_mounted_when_absent(tmp_path: Path) -> None:
    from pybpf.sys import use_backend

    class Unmounted(FakeBackend):
        def bpffs_at(self, path: str) -> bool:
            return bool(self.mounted)

    with use_backend(Unmounted()) as fake:
        from pybpf.objects.pin import ensure_bpffs

        ensure_bpffs(BPFFS_ROOT)
        assert fake.mounted == [os.path.realpath(BPFFS_ROOT)]


def test_pinned_map_is_shared_with_another_process(kernel: None) -> None:
    path = os.path.join(BPFFS_ROOT, f"pybpf_shared_{os.getpid()}")
    child = textwrap.dedent(
        f"""
        from pybpf.objects import Map
        with Map.from_pin({path!r}) as m:
            m[2] = m[1] * 2 if isinstance(m[1], int) else int.from_bytes(m[1], "little") * 2
        """
    )
    with Map.create(MapSpec("shared", MapType.HASH, 4, 8, 4)) as m:
        m[1] = 21
        m.pin(path)
        try:
            subprocess.run([sys.executable, "-c", child], check=True, timeout=60)
            assert m[2] == (42).to_bytes(8, "little")
        finally:
            m.unpin()
