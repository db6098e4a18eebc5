"""Map type probes: can this kernel create a map of type X?

Each probe creates the smallest valid map of the type (the same shapes libbpf's
``libbpf_probe_bpf_map_type`` uses) and closes it.
"""

from __future__ import annotations

import ctypes
import functools
import mmap

from pybpf._uapi import MapType
from pybpf.errors import SyscallError
from pybpf.features._core import ENOTSUPP, Feature, conclude, create_map, kernel_name
from pybpf.features.rawbtf import storage_btf
from pybpf.sys import BtfLoadAttr, MapCreateAttr, btf_load, command_name, map_create

__all__ = ["MAP_TYPE_MIN_KERNEL", "map_type"]  # (RINGBUF: exported by pybpf.features)

BPF_F_NO_PREALLOC = 1 << 0
BPF_F_MMAPABLE = 1 << 10

MAP_TYPE_MIN_KERNEL: dict[MapType, str | None] = {
    MapType.HASH: "3.19",
    MapType.ARRAY: "3.19",
    MapType.PROG_ARRAY: "4.2",
    MapType.PERF_EVENT_ARRAY: "4.3",
    MapType.PERCPU_HASH: "4.6",
    MapType.PERCPU_ARRAY: "4.6",
    MapType.STACK_TRACE: "4.6",
    MapType.CGROUP_ARRAY: "4.8",
    MapType.LRU_HASH: "4.10",
    MapType.LRU_PERCPU_HASH: "4.10",
    MapType.LPM_TRIE: "4.11",
    MapType.ARRAY_OF_MAPS: "4.12",
    MapType.HASH_OF_MAPS: "4.12",
    MapType.DEVMAP: "4.14",
    MapType.SOCKMAP: "4.14",
    MapType.CPUMAP: "4.15",
    MapType.XSKMAP: "4.18",
    MapType.SOCKHASH: "4.18",
    MapType.CGROUP_STORAGE: "4.19",
    MapType.REUSEPORT_SOCKARRAY: "4.19",
    MapType.PERCPU_CGROUP_STORAGE: "4.20",
    MapType.QUEUE: "4.20",
    MapType.STACK: "4.20",
    MapType.SK_STORAGE: "5.2",
    MapType.DEVMAP_HASH: "5.4",
    MapType.STRUCT_OPS: "5.6",
    MapType.RINGBUF: "5.8",
    MapType.INODE_STORAGE: "5.10",
    MapType.TASK_STORAGE: "5.11",
    MapType.BLOOM_FILTER: "5.16",
    MapType.USER_RINGBUF: "6.1",
    MapType.CGRP_STORAGE: "6.2",
    MapType.ARENA: "6.9",
    MapType.INSN_ARRAY: "6.19",
    MapType.RHASH: None,
}

_STORAGE = {
    MapType.SK_STORAGE,
    MapType.INODE_STORAGE,
    MapType.TASK_STORAGE,
    MapType.CGRP_STORAGE,
}
_KEYLESS = {MapType.QUEUE, MapType.STACK, MapType.BLOOM_FILTER}


def _shape(t: MapType) -> MapCreateAttr:
    """The smallest map of type ``t`` a kernel that has the type accepts."""
    a = MapCreateAttr(map_type=t, key_size=4, value_size=4, max_entries=1)
    if t == MapType.STACK_TRACE:
        a.value_size = 8
    elif t == MapType.LPM_TRIE:
        a.key_size, a.value_size, a.map_flags = 8, 8, BPF_F_NO_PREALLOC
    elif t == MapType.RHASH:
        a.map_flags = BPF_F_NO_PREALLOC
    elif t in (MapType.CGROUP_STORAGE, MapType.PERCPU_CGROUP_STORAGE):
        a.key_size, a.value_size, a.max_entries = 16, 8, 0  # struct bpf_cgroup_storage_key
    elif t in _KEYLESS:
        a.key_size = 0
    elif t in (MapType.RINGBUF, MapType.USER_RINGBUF):
        a.key_size, a.value_size, a.max_entries = 0, 0, mmap.PAGESIZE
    elif t == MapType.ARENA:
        a.key_size, a.value_size, a.map_flags = 0, 0, BPF_F_MMAPABLE
    elif t == MapType.INSN_ARRAY:
        a.value_size = 16
    elif t == MapType.STRUCT_OPS:
        a.btf_vmlinux_value_type_id, a.value_type_btf_obj_fd = 1, -1
    return a


def _probe(t: MapType) -> bool:
    attr = _shape(t)
    if t == MapType.STRUCT_OPS:
        # An unknown vmlinux value type: ENOTSUPP means the kernel knows struct_ops maps.
        return conclude(create_map(attr), command_name(0), present=(ENOTSUPP,))
    if t in (MapType.ARRAY_OF_MAPS, MapType.HASH_OF_MAPS):
        return _probe_with_inner(attr)
    if t in _STORAGE:
        return _probe_with_btf(attr)
    return conclude(create_map(attr), command_name(0))


def _probe_with_inner(attr: MapCreateAttr) -> bool:
    inner_attr = MapCreateAttr(map_type=MapType.HASH, key_size=4, value_size=4, max_entries=1)
    inner = map_create(inner_attr)
    with inner:
        attr.inner_map_fd = inner.fileno()
        return conclude(create_map(attr), command_name(0))


def _probe_with_btf(attr: MapCreateAttr) -> bool:
    raw, key_id, value_id = storage_btf(8)
    buf = ctypes.create_string_buffer(raw, len(raw))
    try:
        btf = btf_load(BtfLoadAttr(btf=ctypes.addressof(buf), btf_size=len(raw)))
    except SyscallError as exc:
        return conclude(exc.errno or 0, exc.command)
    with btf:
        attr.btf_fd, attr.btf_key_type_id, attr.btf_value_type_id = btf.fileno(), key_id, value_id
        attr.value_size, attr.max_entries, attr.map_flags = 8, 0, BPF_F_NO_PREALLOC
        return conclude(create_map(attr), command_name(0))


@functools.cache
def map_type(t: MapType) -> Feature:
    """The feature "the kernel can create maps of type ``t``"."""
    t = MapType(t)
    return Feature(
        f"map_type {kernel_name(t)}",
        MAP_TYPE_MIN_KERNEL.get(t),
        functools.partial(_probe, t),
        "map_type",
    )


RINGBUF = map_type(MapType.RINGBUF)
"""The BPF ring buffer (Linux 5.8): the ``ringbuf`` map type."""
