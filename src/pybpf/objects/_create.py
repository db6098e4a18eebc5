"""Turning a :class:`~pybpf.spec.MapSpec` into a kernel map: checks, fix-ups, fallbacks.

Before the system call: sizes and flags each map type insists on are checked (a clear
:class:`SpecError` instead of a bare EINVAL); a few fields are fixed up the way libbpf and
cilium/ebpf do (perf event arrays sized to the possible CPUs, ring buffers rounded to a power
of two of pages, ``BPF_F_NO_PREALLOC`` for types that require it); the name is cleaned,
shortened, or left out where the kernel lacks object names; maps that demand BTF get a
synthesized one. After a refusal: EINVAL for a type the kernel lacks becomes
:class:`~pybpf.errors.NotSupportedError`.
"""

from __future__ import annotations

import errno
import mmap

from pybpf._records import replace
from pybpf._uapi import MapType
from pybpf.btf import BTF
from pybpf.errors import NotSupportedError, SyscallError
from pybpf.features import OBJ_NAME, OBJ_NAME_DOT, have, kernel_name, map_type
from pybpf.features.rawbtf import storage_btf
from pybpf.objects._errors import SpecError, with_hint
from pybpf.objects._memlock import memlock_raised
from pybpf.objects.btf import BTFHandle
from pybpf.spec import MapSpec
from pybpf.sys import FD, MapCreateAttr, current, map_create

__all__ = ["BPF_F_MMAPABLE", "BPF_F_NO_PREALLOC", "create", "object_name"]

BPF_F_NO_PREALLOC = 1 << 0
BPF_F_NUMA_NODE = 1 << 2
BPF_F_MMAPABLE = 1 << 10
_NAME_LEN = 15  # BPF_OBJ_NAME_LEN - 1

_KEY4 = {
    MapType.ARRAY,
    MapType.PERCPU_ARRAY,
    MapType.PROG_ARRAY,
    MapType.PERF_EVENT_ARRAY,
    MapType.CGROUP_ARRAY,
    MapType.ARRAY_OF_MAPS,
    MapType.DEVMAP,
    MapType.CPUMAP,
    MapType.XSKMAP,
    MapType.SOCKMAP,
    MapType.REUSEPORT_SOCKARRAY,
    MapType.STACK_TRACE,
    MapType.SK_STORAGE,
    MapType.INODE_STORAGE,
    MapType.TASK_STORAGE,
    MapType.CGRP_STORAGE,
}
_KEYLESS = {
    MapType.QUEUE,
    MapType.STACK,
    MapType.BLOOM_FILTER,
    MapType.RINGBUF,
    MapType.USER_RINGBUF,
    MapType.ARENA,
}
_VALUELESS = {MapType.RINGBUF, MapType.USER_RINGBUF, MapType.ARENA}
_FD_VALUES = {
    MapType.PROG_ARRAY,
    MapType.PERF_EVENT_ARRAY,
    MapType.CGROUP_ARRAY,
    MapType.ARRAY_OF_MAPS,
    MapType.HASH_OF_MAPS,
    MapType.XSKMAP,
}
_LOCAL_STORAGE = {
    MapType.SK_STORAGE,
    MapType.INODE_STORAGE,
    MapType.TASK_STORAGE,
    MapType.CGRP_STORAGE,
}
_NO_ENTRIES = _LOCAL_STORAGE | {MapType.CGROUP_STORAGE, MapType.PERCPU_CGROUP_STORAGE}
_NEED_NO_PREALLOC = _LOCAL_STORAGE | {MapType.LPM_TRIE}
_MAPS_OF_MAPS = {MapType.ARRAY_OF_MAPS, MapType.HASH_OF_MAPS}


_NAME_CHARS_NO_DOT = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_")
_NAME_CHARS = _NAME_CHARS_NO_DOT | {"."}


def object_name(name: str) -> bytes:
    """A kernel object name: at most 15 characters of ``[A-Za-z0-9_.]`` (others become
    ``_``; dots too on kernels before 5.2), or empty where the kernel has no names (< 4.15)."""
    if not name or not have(OBJ_NAME):
        return b""
    allowed = _NAME_CHARS if have(OBJ_NAME_DOT) else _NAME_CHARS_NO_DOT
    return "".join(c if c in allowed else "_" for c in name[:_NAME_LEN]).encode("ascii")


def _fixup(spec: MapSpec) -> MapSpec:
    changes: dict[str, object] = {}
    t = spec.type
    if t == MapType.PERF_EVENT_ARRAY and spec.max_entries == 0:
        changes["max_entries"] = current().possible_cpus()
    if t in (MapType.RINGBUF, MapType.USER_RINGBUF):
        changes["max_entries"] = _ring_size(spec.max_entries)
    if t in _NEED_NO_PREALLOC:
        changes["flags"] = spec.flags | BPF_F_NO_PREALLOC
    if t == MapType.ARENA:
        changes["flags"] = spec.flags | BPF_F_MMAPABLE
    return replace(spec, **changes) if changes else spec


def _ring_size(size: int) -> int:
    """The smallest power-of-two multiple of the page size holding ``size`` bytes."""
    pages = max(1, -(-size // mmap.PAGESIZE))
    return mmap.PAGESIZE * (1 << (pages - 1).bit_length())


def _check(spec: MapSpec) -> None:
    t, name = spec.type, kernel_name(spec.type) if isinstance(spec.type, MapType) else spec.type
    if t in _KEY4 and spec.key_size != 4:
        raise SpecError(f"map {spec.name!r}: {name} maps have 4-byte keys, not {spec.key_size}")
    if t in _KEYLESS and spec.key_size:
        raise SpecError(f"map {spec.name!r}: {name} maps have no key (key_size 0)")
    if t in _VALUELESS and spec.value_size:
        raise SpecError(f"map {spec.name!r}: {name} maps have no value (value_size 0)")
    if t in _FD_VALUES and spec.value_size != 4:
        raise SpecError(f"map {spec.name!r}: {name} values are 4-byte fds or ids")
    if t not in _KEYLESS and t not in _NO_ENTRIES and t != MapType.STRUCT_OPS and not spec.key_size:
        raise SpecError(f"map {spec.name!r}: key_size must be positive")
    if t not in _VALUELESS and not spec.value_size:
        raise SpecError(f"map {spec.name!r}: value_size must be positive")
    if t in _NO_ENTRIES and spec.max_entries:
        raise SpecError(f"map {spec.name!r}: {name} maps take max_entries 0")
    if t not in _NO_ENTRIES and not spec.max_entries:
        raise SpecError(f"map {spec.name!r}: max_entries must be positive")
    if t == MapType.STRUCT_OPS:
        raise SpecError(
            f"map {spec.name!r}: struct_ops maps need their vmlinux BTF value type; "
            "load them from an object file"
        )


def _attr(spec: MapSpec) -> MapCreateAttr:
    attr = MapCreateAttr(
        map_type=spec.type,
        key_size=spec.key_size,
        value_size=spec.value_size,
        max_entries=spec.max_entries,
        map_flags=spec.flags,
        map_name=object_name(spec.kernel_name or spec.name),
        map_extra=spec.map_extra,
    )
    if spec.numa_node or spec.flags & BPF_F_NUMA_NODE:  # node 0 needs the flag to count
        attr.map_flags |= BPF_F_NUMA_NODE
        attr.numa_node = spec.numa_node
    return attr


def _btf(spec: MapSpec, attr: MapCreateAttr, owned: list[object]) -> None:
    """Point ``attr`` at the spec's BTF, or at a synthesized one where the type needs BTF."""
    btf = spec.btf
    key_id, value_id = spec.key_type or 0, spec.value_type or 0
    if btf is None and spec.type in _LOCAL_STORAGE:
        btf, key_id, value_id = storage_btf(spec.value_size)
    if btf is None:
        return
    if isinstance(btf, BTF):  # parsed: load the blob it was parsed from
        if btf.base is not None:
            raise SpecError(f"map {spec.name!r}: split BTF cannot be loaded for a map")
        btf = bytes(btf.data)
    if isinstance(btf, (bytes, bytearray)):
        handle = BTFHandle.load(bytes(btf))
        owned.append(handle)
        btf = handle
    if not hasattr(btf, "fileno"):
        raise SpecError(
            f"map {spec.name!r}: BTF of type {type(btf).__name__} cannot be loaded; "
            "give a BTF, raw BTF bytes or a BTFHandle"
        )
    attr.btf_fd = btf.fileno()
    attr.btf_key_type_id, attr.btf_value_type_id = key_id, value_id


def create(spec: MapSpec, inner: object | None = None) -> tuple[FD, MapSpec]:
    """Create the map ``spec`` describes; returns its fd and the spec as created.

    ``inner`` (a map or an fd) is the template of a map of maps' values; without it the
    spec's ``inner_map`` is created for the purpose and closed afterwards.

    Raises:
        SpecError: the spec breaks a rule of its map type (before any system call).
        NotSupportedError: the kernel lacks the map type.
        SyscallError: another refusal, with a hint where one helps.
    """
    spec = _fixup(spec)
    _check(spec)
    attr = _attr(spec)
    owned: list[object] = []
    try:
        _btf(spec, attr, owned)
        if spec.type in _MAPS_OF_MAPS:
            attr.inner_map_fd = _inner_fd(spec, inner, owned)
        return _create(attr, spec), spec
    finally:
        for obj in owned:
            obj.close()  # type: ignore[attr-defined]


def _inner_fd(spec: MapSpec, inner: object | None, owned: list[object]) -> int:
    if inner is None:
        if spec.inner_map is None:
            raise SpecError(f"map {spec.name!r}: a map of maps needs an inner map spec")
        fd, _ = create(spec.inner_map)
        owned.append(fd)
        return fd.fileno()
    if isinstance(inner, int):
        return inner
    return inner.fileno()  # type: ignore[attr-defined, no-any-return]


def _create(attr: MapCreateAttr, spec: MapSpec) -> FD:
    try:
        return map_create(attr)
    except SyscallError as exc:
        if not memlock_raised(exc.errno or 0):
            raise _explain(exc, spec) from None
    try:
        return map_create(attr)  # once more, RLIMIT_MEMLOCK lifted
    except SyscallError as exc:
        raise _explain(exc, spec) from None


def _explain(exc: SyscallError, spec: MapSpec) -> Exception:
    if exc.errno == errno.EINVAL and isinstance(spec.type, MapType):
        feature = map_type(spec.type)
        try:
            if not have(feature):
                return NotSupportedError(feature.name, feature.min_kernel)
        except SyscallError:
            pass
        hint = f"the kernel refused map {spec.name!r}; check its sizes and flags"
        return with_hint(exc, hint)
    if exc.errno == errno.E2BIG:
        return with_hint(exc, f"map {spec.name!r} is too large for the kernel")
    return with_hint(exc)
