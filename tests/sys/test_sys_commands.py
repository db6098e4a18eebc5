"""The thin command functions, run against the fake kernel and the real one alike.

Every scenario runs twice: on :class:`~pybpf.sys.fake.FakeBackend` and (as root) on the
kernel, with the same expected results — which also pins the fake to the kernel's behaviour.
"""

from __future__ import annotations

import ctypes
import errno
import os
import sys
from collections.abc import Callable, Iterator

import pytest

from pybpf._uapi import MapType, ProgType
from pybpf.errors import SyscallError
from pybpf.sys import (
    FD,
    MapBatchAttr,
    MapCreateAttr,
    MapElemAttr,
    MapInfo,
    ProgInfo,
    ProgLoadAttr,
    TestRunAttr,
    current,
    map_create,
    map_delete_batch,
    map_delete_elem,
    map_freeze,
    map_get_fd_by_id,
    map_get_next_id,
    map_get_next_key,
    map_lookup_and_delete_elem,
    map_lookup_batch,
    map_lookup_elem,
    map_update_batch,
    map_update_elem,
    obj_get,
    obj_get_info_by_fd,
    obj_pin,
    prog_get_fd_by_id,
    prog_load,
    prog_test_run,
    use_backend,
)
from pybpf.sys.fake import FakeBackend

ANY, NOEXIST, EXIST = 0, 1, 2


@pytest.fixture(params=["fake", "kernel"])
def backend(request: pytest.FixtureRequest) -> Iterator[str]:
    if request.param == "kernel":
        if os.geteuid() != 0:
            pytest.skip("needs root: bpf(2) requires CAP_BPF or CAP_SYS_ADMIN")
        yield "kernel"
        return
    with use_backend(FakeBackend()):
        yield "fake"


class Elem:
    """A map fd with prepared key/value buffers, as the objects layer uses them."""

    def __init__(self, fd: FD, key_size: int, value_size: int) -> None:
        self.fd, self.ks, self.vs = fd, key_size, value_size
        self.key = ctypes.create_string_buffer(max(1, key_size))
        self.value = ctypes.create_string_buffer(max(1, value_size))
        self.attr = MapElemAttr(map_fd=fd.fileno(), key=ctypes.addressof(self.key))
        self.attr.value = ctypes.addressof(self.value)
        self.dattr = MapElemAttr(map_fd=fd.fileno(), key=ctypes.addressof(self.key))

    def u32(self, n: int) -> None:
        self.key.raw = n.to_bytes(4, sys.byteorder)

    def put(self, k: int, v: bytes, flags: int = ANY) -> None:
        self.u32(k)
        self.value.raw = v
        self.attr.flags = flags
        map_update_elem(self.attr)
        self.attr.flags = 0

    def get(self, k: int) -> bytes:
        self.u32(k)
        map_lookup_elem(self.attr)
        return self.value.raw[: self.vs]


def _map(t: MapType, ks: int, vs: int, n: int) -> FD:
    return map_create(MapCreateAttr(map_type=t, key_size=ks, value_size=vs, max_entries=n))


def _errno(call: Callable[[], object]) -> int:
    try:
        call()
    except SyscallError as exc:
        return exc.errno or 0
    return 0


def test_hash_element_commands(backend: str) -> None:
    with _map(MapType.HASH, 4, 8, 2) as fd:
        m = Elem(fd, 4, 8)
        m.put(1, b"a" * 8)
        assert m.get(1) == b"a" * 8
        assert _errno(lambda: m.get(2)) == errno.ENOENT
        assert _errno(lambda: m.put(1, b"b" * 8, NOEXIST)) == errno.EEXIST
        assert _errno(lambda: m.put(2, b"b" * 8, EXIST)) == errno.ENOENT
        m.put(2, b"b" * 8)
        assert _errno(lambda: m.put(3, b"c" * 8)) == errno.E2BIG  # full
        m.u32(2)
        map_delete_elem(m.dattr)
        assert _errno(lambda: map_delete_elem(m.dattr)) == errno.ENOENT
        assert _errno(lambda: map_delete_elem(m.attr)) == errno.EINVAL  # value set: refused


def test_array_element_commands(backend: str) -> None:
    with _map(MapType.ARRAY, 4, 4, 2) as fd:
        m = Elem(fd, 4, 4)
        assert m.get(1) == bytes(4)
        m.put(1, b"wxyz")
        assert m.get(1) == b"wxyz"
        assert _errno(lambda: m.get(2)) == errno.ENOENT
        assert _errno(lambda: m.put(2, b"0000")) == errno.E2BIG
        assert _errno(lambda: m.put(0, b"0000", NOEXIST)) == errno.EEXIST
        m.u32(0)
        assert _errno(lambda: map_delete_elem(m.dattr)) == errno.EINVAL


def test_next_key_walks_every_key(backend: str) -> None:
    with _map(MapType.HASH, 4, 4, 8) as fd:
        m = Elem(fd, 4, 4)
        for k in (3, 5, 7):
            m.put(k, b"vvvv")
        seen, attr = [], MapElemAttr(map_fd=fd.fileno(), value=ctypes.addressof(m.value))
        while _errno(lambda: map_get_next_key(attr)) == 0:
            seen.append(int.from_bytes(m.value.raw[:4], sys.byteorder))
            m.key.raw = m.value.raw[:4]
            attr.key = ctypes.addressof(m.key)
        assert sorted(seen) == [3, 5, 7]


def test_queue_push_pop_and_freeze(backend: str) -> None:
    with _map(MapType.QUEUE, 0, 4, 2) as fd:
        buf = ctypes.create_string_buffer(4)
        attr = MapElemAttr(map_fd=fd.fileno(), value=ctypes.addressof(buf))
        for v in (b"1111", b"2222"):
            buf.raw = v
            map_update_elem(attr)
        buf.raw = b"3333"
        assert _errno(lambda: map_update_elem(attr)) == errno.E2BIG
        map_lookup_and_delete_elem(attr)
        assert buf.raw == b"1111"
        map_freeze(fd.fileno())
        assert _errno(lambda: map_freeze(fd.fileno())) == errno.EPERM  # no longer writable
        assert _errno(lambda: map_update_elem(attr)) == errno.EPERM


def test_batch_commands(backend: str) -> None:
    with _map(MapType.HASH, 4, 4, 16) as fd:
        keys = (ctypes.c_uint32 * 10)(*range(10))
        values = (ctypes.c_uint32 * 10)(*range(100, 110))
        attr = MapBatchAttr(map_fd=fd.fileno(), count=10)
        attr.keys, attr.values = ctypes.addressof(keys), ctypes.addressof(values)
        map_update_batch(attr)
        assert attr.count == 10
        out_k, out_v = (ctypes.c_uint32 * 16)(), (ctypes.c_uint32 * 16)()
        token = ctypes.c_uint64()
        walk = MapBatchAttr(map_fd=fd.fileno(), count=16, out_batch=ctypes.addressof(token))
        walk.keys, walk.values = ctypes.addressof(out_k), ctypes.addressof(out_v)
        assert _errno(lambda: map_lookup_batch(walk)) == errno.ENOENT  # the walk ended
        pairs = sorted(zip(out_k[: walk.count], out_v[: walk.count], strict=True))
        assert pairs == [(k, k + 100) for k in range(10)]
        gone = MapBatchAttr(map_fd=fd.fileno(), count=5, keys=ctypes.addressof(keys))
        map_delete_batch(gone)
        assert gone.count == 5


def test_pin_get_ids_and_info(backend: str, tmp_path: object) -> None:
    root = "/sys/fs/bpf" if backend == "kernel" else str(tmp_path)
    path = os.path.join(root, f"pybpf_sys_test_{os.getpid()}")
    with _map(MapType.HASH, 4, 8, 4) as fd:
        info = MapInfo()
        obj_get_info_by_fd(fd.fileno(), info)
        assert (info.type, info.key_size, info.value_size, info.max_entries) == (1, 4, 8, 4)
        obj_pin(fd.fileno(), path)
        try:
            assert _errno(lambda: obj_pin(fd.fileno(), path)) == errno.EEXIST
            with obj_get(path) as again:
                same = MapInfo()
                obj_get_info_by_fd(again.fileno(), same)
                assert same.id == info.id
        finally:
            os.unlink(path)
        assert _errno(lambda: obj_get(path)) == errno.ENOENT
        assert map_get_next_id(info.id - 1) == info.id
        with map_get_fd_by_id(info.id) as by_id:
            assert current().object_kind(by_id.fileno()) == "map"


def _load(insns: bytes, log: ctypes.Array[ctypes.c_char] | None = None) -> tuple[FD, ProgLoadAttr]:
    code, lic = ctypes.create_string_buffer(insns, len(insns)), ctypes.create_string_buffer(b"GPL")
    attr = ProgLoadAttr(prog_type=ProgType.SOCKET_FILTER, insn_cnt=len(insns) // 8)
    attr.insns, attr.license, attr.prog_name = ctypes.addressof(code), ctypes.addressof(lic), b"t"
    if log is not None:
        attr.log_level, attr.log_size, attr.log_buf = 1, len(log), ctypes.addressof(log)
    attr._keep = (code, lic)
    return prog_load(attr), attr


RET7 = bytes.fromhex("b7000000070000009500000000000000")


def test_program_load_test_run_and_info(backend: str) -> None:
    fd, _ = _load(RET7)
    with fd:
        data = ctypes.create_string_buffer(b"\0" * 64, 64)
        out = ctypes.create_string_buffer(64)
        run = TestRunAttr(prog_fd=fd.fileno(), data_in=ctypes.addressof(data), data_size_in=64)
        run.data_out, run.data_size_out, run.repeat = ctypes.addressof(out), 64, 1
        prog_test_run(run)
        assert run.retval == 7
        info = ProgInfo()
        obj_get_info_by_fd(fd.fileno(), info)
        assert (info.type, info.name, info.xlated_prog_len) == (ProgType.SOCKET_FILTER, b"t", 16)
        with prog_get_fd_by_id(info.id) as again:
            assert current().object_kind(again.fileno()) == "prog"


def test_refused_program_writes_a_log_and_reports_its_true_size(backend: str) -> None:
    log = ctypes.create_string_buffer(4096)
    no_exit = bytes.fromhex("b700000007000000")
    with pytest.raises(SyscallError) as info:
        _load(no_exit, log)
    assert info.value.errno in (errno.EINVAL, errno.EACCES)
    assert b"last insn is not an exit or jmp" in log.value
    tiny = ctypes.create_string_buffer(8)
    with pytest.raises(SyscallError) as again:
        _load(no_exit, tiny)
    assert again.value.errno in (errno.EINVAL, errno.EACCES, errno.ENOSPC)
