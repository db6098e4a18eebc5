"""A simulated kernel for tests: :class:`FakeBackend`.

It answers bpf(2) commands the way Linux does for what map and program logic needs to be tested
without root: hash-like maps (hash, LRU, per-CPU), array-like maps (array, per-CPU array),
queues and stacks, element and batch operations with their flags and errnos, freezing, program
loads (accepting any program that ends in ``exit``, with a verifier-style log), test runs,
pins, ids and info. Anything else is refused with EINVAL, as an old kernel would.

Fds are real descriptors (``memfd_create``), so closing, ``dup`` and fd-leak checks behave as
with the kernel; each fake object is found by the inode of its fd.

Use it with :func:`pybpf.sys.use_backend`::

    with use_backend(FakeBackend()):
        m = Map.create(MapSpec("m", MapType.HASH, 4, 8, 16))
"""

from __future__ import annotations

import ctypes
import errno
import hashlib
import os
import sys
import time
from collections import OrderedDict, deque
from collections.abc import Callable, Iterable

from pybpf._records import field, record
from pybpf._uapi import Cmd, MapType
from pybpf.sys.attrs import (
    Attr,
    BtfLoadAttr,
    GetIdAttr,
    InfoAttr,
    MapBatchAttr,
    MapCreateAttr,
    MapElemAttr,
    ObjAttr,
    ProgLoadAttr,
    TestRunAttr,
)
from pybpf.sys.backend import Backend
from pybpf.sys.info import BtfInfo, MapInfo, ProgInfo

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (PEP 781's idiom)
if TYPE_CHECKING:
    from typing import Any

__all__ = ["FakeBackend", "Refusal"]

_HASHES = {MapType.HASH, MapType.LRU_HASH, MapType.PERCPU_HASH, MapType.LRU_PERCPU_HASH}
_ARRAYS = {MapType.ARRAY, MapType.PERCPU_ARRAY}
_PERCPU = {MapType.PERCPU_HASH, MapType.LRU_PERCPU_HASH, MapType.PERCPU_ARRAY}
_FIFO = {MapType.QUEUE, MapType.STACK}
_NAME_CHARS = set(b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.")
_BTF_MAGIC = b"\x9f\xeb"


@record
class _Obj:
    kind: str
    id: int


@record
class _Map(_Obj):
    type: int = 0
    key_size: int = 0
    value_size: int = 0
    max_entries: int = 0
    flags: int = 0
    name: bytes = b""
    elem_size: int = 0  # value bytes as user space sees them (per-CPU: all CPUs)
    frozen: bool = False
    btf_id: int = 0
    hash: OrderedDict[bytes, bytes] = field(default_factory=OrderedDict)
    array: list[bytes] = field(default_factory=list)
    fifo: deque[bytes] = field(default_factory=deque)


@record
class _Prog(_Obj):
    type: int = 0
    name: bytes = b""
    insns: bytes = b""
    map_ids: tuple[int, ...] = ()
    load_time: int = 0
    gpl: bool = False


@record
class _Btf(_Obj):
    data: bytes = b""


def _read(addr: int, size: int) -> bytes:
    return ctypes.string_at(addr, size) if size else b""


def _write(addr: int, data: bytes) -> None:
    if data:
        ctypes.memmove(addr, data, len(data))


class FakeBackend(Backend):
    """A simulated kernel (see the module docstring).

    Args:
        cpus: how many possible CPUs per-CPU values span.
        missing: commands to refuse with EINVAL, to imitate a kernel that lacks them
            (``{Cmd.MAP_LOOKUP_BATCH}`` makes batch operations absent).
    """

    def __init__(self, *, cpus: int = 2, missing: Iterable[int] = ()) -> None:
        self.cpus = cpus
        self.missing = {int(c) for c in missing}
        self.calls: list[int] = []
        self.mounted: list[str] = []
        self._by_ino: dict[int, _Obj] = {}
        self._by_id: dict[int, _Obj] = {}
        self._pins: dict[str, _Obj] = {}
        self._last_id = 0
        self._handlers: dict[int, Callable[[Any], int]] = {
            Cmd.MAP_CREATE: self._map_create,
            Cmd.MAP_LOOKUP_ELEM: self._lookup,
            Cmd.MAP_UPDATE_ELEM: self._update,
            Cmd.MAP_DELETE_ELEM: self._delete,
            Cmd.MAP_GET_NEXT_KEY: self._next_key,
            Cmd.MAP_LOOKUP_AND_DELETE_ELEM: self._lookup_and_delete,
            Cmd.MAP_FREEZE: self._freeze,
            Cmd.MAP_LOOKUP_BATCH: lambda a: self._lookup_batch(a, delete=False),
            Cmd.MAP_LOOKUP_AND_DELETE_BATCH: lambda a: self._lookup_batch(a, delete=True),
            Cmd.MAP_UPDATE_BATCH: self._update_batch,
            Cmd.MAP_DELETE_BATCH: self._delete_batch,
            Cmd.PROG_LOAD: self._prog_load,
            Cmd.PROG_TEST_RUN: self._test_run,
            Cmd.OBJ_PIN: self._pin,
            Cmd.OBJ_GET: self._get_pinned,
            Cmd.OBJ_GET_INFO_BY_FD: self._info,
            Cmd.BTF_LOAD: self._btf_load,
            Cmd.MAP_GET_NEXT_ID: lambda a: self._next_id(a, "map"),
            Cmd.PROG_GET_NEXT_ID: lambda a: self._next_id(a, "prog"),
            Cmd.BTF_GET_NEXT_ID: lambda a: self._next_id(a, "btf"),
            Cmd.LINK_GET_NEXT_ID: lambda a: self._next_id(a, "link"),
            Cmd.MAP_GET_FD_BY_ID: lambda a: self._fd_by_id(a, "map"),
            Cmd.PROG_GET_FD_BY_ID: lambda a: self._fd_by_id(a, "prog"),
            Cmd.BTF_GET_FD_BY_ID: lambda a: self._fd_by_id(a, "btf"),
        }

    # -- the Backend interface -------------------------------------------------------------
    def call(self, cmd: int, attr: Attr) -> int:
        self.calls.append(int(cmd))
        handler = self._handlers.get(cmd)
        if handler is None or cmd in self.missing:
            return -errno.EINVAL
        try:
            return handler(attr)
        except Refusal as exc:
            return -exc.errno

    def object_kind(self, fd: int) -> str | None:
        obj = self._lookup_fd(fd)
        return obj.kind if obj else None

    def possible_cpus(self) -> int:
        return self.cpus

    def bpffs_at(self, path: str) -> bool:
        return os.path.isdir(path)

    def mount_bpffs(self, path: str) -> None:
        self.mounted.append(path)

    # -- objects and fds -------------------------------------------------------------------
    def _new_fd(self, obj: _Obj) -> int:
        fd = os.memfd_create(f"pybpf-fake-{obj.kind}", os.MFD_CLOEXEC)
        self._by_ino[os.fstat(fd).st_ino] = obj
        return fd

    def _new_id(self) -> int:
        self._last_id += 1
        return self._last_id

    def _lookup_fd(self, fd: int) -> _Obj | None:
        if fd >= 1 << 31:  # a negative fd, as the kernel reads a __u32
            return None
        try:
            return self._by_ino.get(os.fstat(fd).st_ino)
        except OSError:
            return None

    def _obj(self, fd: int, kind: type[_Obj]) -> Any:
        obj = self._lookup_fd(fd)
        if obj is None:
            raise Refusal(errno.EBADF)
        if not isinstance(obj, kind):
            raise Refusal(errno.EINVAL)
        return obj

    # -- maps ------------------------------------------------------------------------------
    def _map_create(self, a: MapCreateAttr) -> int:
        m = _Map("map", 0, a.map_type, a.key_size, a.value_size, a.max_entries, a.map_flags)
        _check_map(m, a)
        m.name = a.map_name
        per_cpu = m.type in _PERCPU
        m.elem_size = (-(-m.value_size // 8) * 8) * self.cpus if per_cpu else m.value_size
        if m.type in _ARRAYS:
            m.array = [bytes(m.elem_size)] * m.max_entries
        m.id = self._new_id()
        self._by_id[m.id] = m
        return self._new_fd(m)

    def _index(self, m: _Map, key: bytes) -> int:
        return int.from_bytes(key, sys.byteorder)

    def _lookup(self, a: MapElemAttr) -> int:
        m: _Map = self._obj(a.map_fd, _Map)
        _write(a.value, self._get(m, _read(a.key, m.key_size)))
        return 0

    def _get(self, m: _Map, key: bytes) -> bytes:
        if m.type in _FIFO:
            if not m.fifo:
                raise Refusal(errno.ENOENT)
            return m.fifo[0] if m.type == MapType.QUEUE else m.fifo[-1]
        if m.type in _ARRAYS:
            i = self._index(m, key)
            if i >= m.max_entries:
                raise Refusal(errno.ENOENT)
            return m.array[i]
        if key not in m.hash:
            raise Refusal(errno.ENOENT)
        return m.hash[key]

    def _update(self, a: MapElemAttr) -> int:
        m: _Map = self._obj(a.map_fd, _Map)
        self._put(m, _read(a.key, m.key_size), _read(a.value, m.elem_size), a.flags)
        return 0

    def _put(self, m: _Map, key: bytes, value: bytes, flags: int) -> None:
        if flags & ~0x7 or flags & 0x4 or (flags & 3) == 3:
            raise Refusal(errno.EINVAL)
        if m.frozen:
            raise Refusal(errno.EPERM)
        if m.type in _FIFO:
            return self._push(m, value, flags)
        if m.type in _ARRAYS:
            i = self._index(m, key)
            if i >= m.max_entries:
                raise Refusal(errno.E2BIG)
            if flags == 1:
                raise Refusal(errno.EEXIST)
            m.array[i] = value
            return None
        return self._put_hash(m, key, value, flags)

    def _put_hash(self, m: _Map, key: bytes, value: bytes, flags: int) -> None:
        exists = key in m.hash
        if flags == 1 and exists:
            raise Refusal(errno.EEXIST)
        if flags == 2 and not exists:
            raise Refusal(errno.ENOENT)
        if not exists and len(m.hash) >= m.max_entries:
            if m.type not in (MapType.LRU_HASH, MapType.LRU_PERCPU_HASH):
                raise Refusal(errno.E2BIG)
            m.hash.popitem(last=False)
        m.hash[key] = value

    def _push(self, m: _Map, value: bytes, flags: int) -> None:
        if len(m.fifo) >= m.max_entries:
            if flags != 2:
                raise Refusal(errno.E2BIG)
            m.fifo.popleft()
        m.fifo.append(value)

    def _delete(self, a: MapElemAttr) -> int:
        if a.value or a.flags:  # CHECK_ATTR: nothing may follow the key
            raise Refusal(errno.EINVAL)
        m: _Map = self._obj(a.map_fd, _Map)
        self._remove(m, _read(a.key, m.key_size))
        return 0

    def _remove(self, m: _Map, key: bytes) -> None:
        if m.frozen:
            raise Refusal(errno.EPERM)
        if m.type in _ARRAYS or m.type in _FIFO:
            raise Refusal(errno.EINVAL)
        if key not in m.hash:
            raise Refusal(errno.ENOENT)
        del m.hash[key]

    def _next_key(self, a: MapElemAttr) -> int:
        if a.flags:
            raise Refusal(errno.EINVAL)
        m: _Map = self._obj(a.map_fd, _Map)
        if m.type in _FIFO:
            raise Refusal(errno.EINVAL)
        keys = self._keys(m)
        cur = _read(a.key, m.key_size) if a.key else None
        pos = keys.index(cur) + 1 if cur in keys else 0
        if pos >= len(keys):
            raise Refusal(errno.ENOENT)
        _write(a.value, keys[pos])
        return 0

    def _keys(self, m: _Map) -> list[bytes]:
        if m.type in _ARRAYS:
            return [i.to_bytes(4, sys.byteorder) for i in range(m.max_entries)]
        return list(m.hash)

    def _lookup_and_delete(self, a: MapElemAttr) -> int:
        m: _Map = self._obj(a.map_fd, _Map)
        if m.type in _FIFO:
            if not m.fifo:
                raise Refusal(errno.ENOENT)
            value = m.fifo.popleft() if m.type == MapType.QUEUE else m.fifo.pop()
        else:
            key = _read(a.key, m.key_size)
            value = self._get(m, key)
            self._remove(m, key)
        _write(a.value, value)
        return 0

    def _freeze(self, a: MapElemAttr) -> int:
        m: _Map = self._obj(a.map_fd, _Map)
        if m.frozen:  # a frozen map's fd can no longer write: the kernel says EPERM
            raise Refusal(errno.EPERM)
        m.frozen = True
        return 0

    # -- batches ---------------------------------------------------------------------------
    def _lookup_batch(self, a: MapBatchAttr, *, delete: bool) -> int:
        m: _Map = self._obj(a.map_fd, _Map)
        if m.type in _FIFO or (delete and m.type in _ARRAYS):
            raise Refusal(errno.EINVAL)
        keys = self._keys(m)
        start = int.from_bytes(_read(a.in_batch, 4), "little") if a.in_batch else 0
        chunk = keys[start : start + a.count]
        for i, key in enumerate(chunk):
            _write(a.keys + i * m.key_size, key)
            _write(a.values + i * m.elem_size, self._get(m, key))
            if delete:
                del m.hash[key]
        end = start + len(chunk)
        _write(a.out_batch, (0 if delete else end).to_bytes(4, "little"))
        a.count = len(chunk)
        if end >= len(keys) or (delete and not m.hash):
            raise Refusal(errno.ENOENT)
        return 0

    def _update_batch(self, a: MapBatchAttr) -> int:
        m: _Map = self._obj(a.map_fd, _Map)
        if a.elem_flags & ~0x4 or a.flags:  # batches take only BPF_F_LOCK
            raise Refusal(errno.EINVAL)
        total, a.count = a.count, 0
        for i in range(total):
            key = _read(a.keys + i * m.key_size, m.key_size)
            self._put(m, key, _read(a.values + i * m.elem_size, m.elem_size), a.elem_flags)
            a.count = i + 1
        return 0

    def _delete_batch(self, a: MapBatchAttr) -> int:
        m: _Map = self._obj(a.map_fd, _Map)
        total, a.count = a.count, 0
        for i in range(total):
            self._remove(m, _read(a.keys + i * m.key_size, m.key_size))
            a.count = i + 1
        return 0

    # -- programs --------------------------------------------------------------------------
    def _prog_load(self, a: ProgLoadAttr) -> int:
        if not a.insn_cnt or not a.insns or not a.license:
            raise Refusal(errno.EINVAL)
        insns = _read(a.insns, a.insn_cnt * 8)
        if any(c not in _NAME_CHARS for c in a.prog_name):
            raise Refusal(errno.EINVAL)
        map_ids = self._prog_maps(insns)
        if insns[-8] != 0x95:
            return self._refuse(a, "last insn is not an exit or jmp\n")
        log = f"processed {a.insn_cnt} insns (limit 1000000)\n"
        self._write_log(a, log)
        license = ctypes.string_at(a.license)
        p = _Prog("prog", self._new_id(), a.prog_type, a.prog_name, insns, map_ids)
        p.load_time, p.gpl = time.monotonic_ns(), license in (b"GPL", b"Dual BSD/GPL")
        self._by_id[p.id] = p
        return self._new_fd(p)

    def _prog_maps(self, insns: bytes) -> tuple[int, ...]:
        ids = []
        for at in range(0, len(insns), 8):
            if insns[at] == 0x18 and insns[at + 1] >> 4 in (1, 2):
                fd = int.from_bytes(insns[at + 4 : at + 8], "little", signed=True)
                ids.append(self._obj(fd, _Map).id)
        return tuple(dict.fromkeys(ids))

    def _refuse(self, a: ProgLoadAttr, message: str) -> int:
        self._write_log(a, f"0: (b7) r0 = 0\n{message}")
        raise Refusal(errno.EACCES)

    def _write_log(self, a: ProgLoadAttr, text: str) -> None:
        if not a.log_level or not a.log_buf:
            return
        data = text.encode() + b"\0"
        a.log_true_size = len(data)
        if len(data) > a.log_size:
            _write(a.log_buf, data[: a.log_size - 1] + b"\0")
            raise Refusal(errno.ENOSPC)
        _write(a.log_buf, data)

    def _test_run(self, a: TestRunAttr) -> int:
        p: _Prog = self._obj(a.prog_fd, _Prog)
        first = p.insns[:8]
        a.retval = int.from_bytes(first[4:], "little") if first[:2] == b"\xb7\x00" else 0
        a.duration = 1
        data = _read(a.data_in, a.data_size_in)
        if a.data_out:
            if a.data_size_out < len(data):
                a.data_size_out = len(data)
                raise Refusal(errno.ENOSPC)
            _write(a.data_out, data)
        a.data_size_out = len(data)
        if a.ctx_out:
            _write(a.ctx_out, _read(a.ctx_in, min(a.ctx_size_in, a.ctx_size_out)))
        return 0

    # -- BTF, pins, ids and info -----------------------------------------------------------
    def _btf_load(self, a: BtfLoadAttr) -> int:
        data = _read(a.btf, a.btf_size)
        if data[:2] != _BTF_MAGIC:
            raise Refusal(errno.EINVAL)
        b = _Btf("btf", self._new_id(), data)
        self._by_id[b.id] = b
        return self._new_fd(b)

    def _pin(self, a: ObjAttr) -> int:
        obj = self._lookup_fd(a.bpf_fd)
        if obj is None:
            raise Refusal(errno.EBADF)
        path = os.fsdecode(ctypes.string_at(a.pathname))
        try:
            os.close(os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600))
        except OSError as exc:
            raise Refusal(exc.errno or errno.EINVAL) from None
        self._pins[os.path.realpath(path)] = obj
        return 0

    def _get_pinned(self, a: ObjAttr) -> int:
        path = os.path.realpath(os.fsdecode(ctypes.string_at(a.pathname)))
        obj = self._pins.get(path)
        if obj is None or not os.path.exists(path):
            raise Refusal(errno.ENOENT)
        return self._new_fd(obj)

    def _next_id(self, a: GetIdAttr, kind: str) -> int:
        ids = sorted(i for i, o in self._by_id.items() if o.kind == kind and i > a.start_id)
        if not ids:
            raise Refusal(errno.ENOENT)
        a.next_id = ids[0]
        return 0

    def _fd_by_id(self, a: GetIdAttr, kind: str) -> int:
        obj = self._by_id.get(a.start_id)
        if obj is None or obj.kind != kind:
            raise Refusal(errno.ENOENT)
        return self._new_fd(obj)

    def _info(self, a: InfoAttr) -> int:
        obj = self._lookup_fd(a.bpf_fd)
        if obj is None:
            raise Refusal(errno.EBADF)
        info = _INFO_FILLERS[type(obj)](obj, a.info, a.info_len)
        a.info_len = min(a.info_len, ctypes.sizeof(info))
        _write(a.info, ctypes.string_at(ctypes.addressof(info), a.info_len))
        return 0


class Refusal(Exception):
    """Raised inside a fake command handler to refuse with ``errno`` (subclasses of
    :class:`FakeBackend` use it to imitate other kernels)."""

    def __init__(self, err: int) -> None:
        super().__init__(err)
        self.errno = err


def _check_map(m: _Map, a: MapCreateAttr) -> None:
    known = _HASHES | _ARRAYS | _FIFO
    bad_name = any(c not in _NAME_CHARS for c in a.map_name)
    if m.type not in known or bad_name or not m.max_entries or not m.value_size:
        raise Refusal(errno.EINVAL)
    if m.type in _FIFO and m.key_size:
        raise Refusal(errno.EINVAL)
    if m.type in _ARRAYS and m.key_size != 4:
        raise Refusal(errno.EINVAL)
    if m.type in _HASHES and not m.key_size:
        raise Refusal(errno.EINVAL)


def _map_info(m: _Map, addr: int, size: int) -> MapInfo:
    return MapInfo(
        type=m.type,
        id=m.id,
        key_size=m.key_size,
        value_size=m.value_size,
        max_entries=m.max_entries,
        map_flags=m.flags,
        name=m.name,
        btf_id=m.btf_id,
    )


def _prog_info(p: _Prog, addr: int, size: int) -> ProgInfo:
    user = ProgInfo.from_buffer_copy(_read(addr, size).ljust(ctypes.sizeof(ProgInfo), b"\0"))
    info = ProgInfo(type=p.type, id=p.id, name=p.name, load_time=p.load_time)
    info.gpl_compatible = int(p.gpl)
    info.tag[:] = hashlib.sha1(p.insns).digest()[:8]
    info.xlated_prog_len, info.nr_map_ids = len(p.insns), len(p.map_ids)
    if user.xlated_prog_insns and user.xlated_prog_len >= len(p.insns):
        _write(user.xlated_prog_insns, p.insns)
        info.xlated_prog_insns = user.xlated_prog_insns
    if user.map_ids and user.nr_map_ids:
        ids = p.map_ids[: user.nr_map_ids]
        _write(user.map_ids, b"".join(i.to_bytes(4, "little") for i in ids))
        info.map_ids = user.map_ids
    return info


def _btf_info(b: _Btf, addr: int, size: int) -> BtfInfo:
    user = BtfInfo.from_buffer_copy(_read(addr, size).ljust(ctypes.sizeof(BtfInfo), b"\0"))
    if user.btf and user.btf_size >= len(b.data):
        _write(user.btf, b.data)
    return BtfInfo(btf=user.btf, btf_size=len(b.data), id=b.id)


_INFO_FILLERS: dict[type, Callable[[Any, int, int], Any]] = {
    _Map: _map_info,
    _Prog: _prog_info,
    _Btf: _btf_info,
}
