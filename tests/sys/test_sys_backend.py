"""The one door to bpf(2): errors, swapping backends, the kernel backend's answers."""

from __future__ import annotations

import errno
import fcntl
import os

import pytest

from pybpf._uapi import Cmd, MapType
from pybpf.errors import SyscallError
from pybpf.sys import (
    GetIdAttr,
    KernelBackend,
    MapCreateAttr,
    bpf,
    command_name,
    current,
    map_create,
    use_backend,
)
from pybpf.sys.backend import parse_cpu_list
from pybpf.sys.fake import FakeBackend


@pytest.mark.parametrize(
    ("text", "count"), [("0", 1), ("0-1\n", 2), ("0-3,8", 5), ("0,2,4-5", 4), ("", 0)]
)
def test_cpu_lists(text: str, count: int) -> None:
    assert parse_cpu_list(text) == count


def test_command_names() -> None:
    assert command_name(Cmd.MAP_CREATE) == "BPF_MAP_CREATE"
    assert command_name(Cmd.PROG_TEST_RUN) == "BPF_PROG_TEST_RUN"
    assert command_name(999) == "bpf command 999"


def test_use_backend_swaps_and_restores() -> None:
    before = current()
    fake = FakeBackend()
    with use_backend(fake):
        assert current() is fake
        map_create(
            MapCreateAttr(map_type=MapType.HASH, key_size=4, value_size=4, max_entries=1)
        ).close()
    assert current() is before
    assert fake.calls == [Cmd.MAP_CREATE]


def test_refusal_is_a_syscall_error_naming_command_and_errno(fake: FakeBackend) -> None:
    with pytest.raises(SyscallError) as info:
        bpf(Cmd.MAP_CREATE, MapCreateAttr(map_type=MapType.HASH))  # no sizes: EINVAL
    err = info.value
    assert isinstance(err, OSError)
    assert err.errno == errno.EINVAL and err.command == "BPF_MAP_CREATE"
    assert str(err) == "BPF_MAP_CREATE: EINVAL (Invalid argument)"


def test_kernel_refusal(kernel: None) -> None:
    with pytest.raises(SyscallError) as info:
        bpf(Cmd.MAP_GET_FD_BY_ID, GetIdAttr(start_id=0xFFFFFFF0))
    assert info.value.errno == errno.ENOENT
    assert info.value.command == "BPF_MAP_GET_FD_BY_ID"


def test_kernel_fds_are_close_on_exec_and_of_their_kind(kernel: None) -> None:
    attr = MapCreateAttr(map_type=MapType.HASH, key_size=4, value_size=4, max_entries=1)
    with map_create(attr) as fd:
        assert fcntl.fcntl(fd.fileno(), fcntl.F_GETFD) & fcntl.FD_CLOEXEC
        assert current().object_kind(fd.fileno()) == "map"
    with open(os.devnull) as f:
        assert current().object_kind(f.fileno()) is None


def test_kernel_backend_knows_the_possible_cpus(kernel: None) -> None:
    with open("/sys/devices/system/cpu/possible") as f:
        assert KernelBackend().possible_cpus() == parse_cpu_list(f.read())


def test_kernel_backend_sees_the_bpffs(kernel: None) -> None:
    backend = KernelBackend()
    if not backend.bpffs_at("/sys/fs/bpf"):
        backend.mount_bpffs("/sys/fs/bpf")
    assert backend.bpffs_at("/sys/fs/bpf")
    assert not backend.bpffs_at("/proc")
