"""Every map type the uapi defines is created from a MapSpec on the running kernel (those it
lacks are skipped with the reason), lands in its family's class, and reads back as specified
through BPF_OBJ_GET_INFO_BY_FD."""

from __future__ import annotations

import mmap

import pytest

from pybpf import features
from pybpf.errors import NotSupportedError, SyscallError
from pybpf.objects import (
    ArenaMap,
    ArrayMap,
    ArrayOfMapsMap,
    BloomFilterMap,
    CgroupStorageMap,
    FDArrayMap,
    FDHashMap,
    HashMap,
    HashOfMapsMap,
    LocalStorageMap,
    LPMTrieMap,
    Map,
    PerCPUArrayMap,
    PerCPUCgroupStorageMap,
    PerCPUHashMap,
    ProgArrayMap,
    QueueMap,
    StackMap,
    StackTraceMap,
)
from pybpf.objects._create import BPF_F_NO_PREALLOC
from pybpf.spec import MapSpec, MapType

INNER = MapSpec("inner", MapType.ARRAY, 4, 4, 2)
PAGE = mmap.PAGESIZE

# type -> (key, value, max entries, flags, map_extra, family); the shapes the kernel wants
SHAPES: dict[MapType, tuple[int, int, int, int, int, type]] = {
    MapType.HASH: (4, 8, 16, 0, 0, HashMap),
    MapType.ARRAY: (4, 8, 16, 0, 0, ArrayMap),
    MapType.PROG_ARRAY: (4, 4, 4, 0, 0, ProgArrayMap),
    MapType.PERF_EVENT_ARRAY: (4, 4, 0, 0, 0, FDArrayMap),
    MapType.PERCPU_HASH: (4, 8, 16, 0, 0, PerCPUHashMap),
    MapType.PERCPU_ARRAY: (4, 8, 16, 0, 0, PerCPUArrayMap),
    MapType.STACK_TRACE: (4, 8 * 16, 16, 0, 0, StackTraceMap),
    MapType.CGROUP_ARRAY: (4, 4, 4, 0, 0, FDArrayMap),
    MapType.LRU_HASH: (4, 8, 16, 0, 0, HashMap),
    MapType.LRU_PERCPU_HASH: (4, 8, 16, 0, 0, PerCPUHashMap),
    MapType.LPM_TRIE: (8, 4, 16, BPF_F_NO_PREALLOC, 0, LPMTrieMap),
    MapType.ARRAY_OF_MAPS: (4, 4, 4, 0, 0, ArrayOfMapsMap),
    MapType.HASH_OF_MAPS: (4, 4, 4, 0, 0, HashOfMapsMap),
    MapType.DEVMAP: (4, 4, 4, 0, 0, FDArrayMap),
    MapType.SOCKMAP: (4, 8, 4, 0, 0, FDArrayMap),
    MapType.CPUMAP: (4, 4, 2, 0, 0, FDArrayMap),
    MapType.XSKMAP: (4, 4, 4, 0, 0, FDArrayMap),
    MapType.SOCKHASH: (4, 8, 4, 0, 0, FDHashMap),
    MapType.CGROUP_STORAGE: (16, 8, 0, 0, 0, CgroupStorageMap),
    MapType.REUSEPORT_SOCKARRAY: (4, 8, 4, 0, 0, FDArrayMap),
    MapType.PERCPU_CGROUP_STORAGE: (16, 8, 0, 0, 0, PerCPUCgroupStorageMap),
    MapType.QUEUE: (0, 4, 4, 0, 0, QueueMap),
    MapType.STACK: (0, 4, 4, 0, 0, StackMap),
    MapType.SK_STORAGE: (4, 8, 0, BPF_F_NO_PREALLOC, 0, LocalStorageMap),
    MapType.DEVMAP_HASH: (4, 4, 4, 0, 0, FDHashMap),
    MapType.RINGBUF: (0, 0, PAGE, 0, 0, Map),
    MapType.INODE_STORAGE: (4, 8, 0, BPF_F_NO_PREALLOC, 0, LocalStorageMap),
    MapType.TASK_STORAGE: (4, 8, 0, BPF_F_NO_PREALLOC, 0, LocalStorageMap),
    MapType.BLOOM_FILTER: (0, 8, 64, 0, 3, BloomFilterMap),
    MapType.USER_RINGBUF: (0, 0, PAGE, 0, 0, Map),
    MapType.CGRP_STORAGE: (4, 8, 0, BPF_F_NO_PREALLOC, 0, LocalStorageMap),
    MapType.ARENA: (0, 0, 4, 1 << 10, 0, ArenaMap),
    MapType.INSN_ARRAY: (4, 16, 4, 0, 0, Map),
    MapType.RHASH: (4, 4, 4, BPF_F_NO_PREALLOC, 0, Map),
}
NOT_HERE = {
    MapType.STRUCT_OPS: "struct_ops maps need a vmlinux BTF value type id, which comes from "
    "the BTF/ELF loader (a later round)",
}


def test_every_uapi_map_type_has_a_case() -> None:
    listed = set(SHAPES) | set(NOT_HERE)
    assert listed == {t for t in MapType if t != MapType.UNSPEC}


@pytest.mark.parametrize("t", list(SHAPES), ids=features.kernel_name)
def test_create_every_map_type(kernel: None, t: MapType) -> None:
    ks, vs, n, flags, extra, family = SHAPES[t]
    spec = MapSpec(f"t_{t.name.lower()}"[:15], t, ks, vs, n, flags, map_extra=extra)
    if t in (MapType.ARRAY_OF_MAPS, MapType.HASH_OF_MAPS):
        spec.inner_map = INNER
    try:
        m = Map.create(spec)
    except NotSupportedError as exc:
        pytest.skip(f"this kernel lacks it: {exc}")
    with m:
        assert type(m) is family
        info = m.info()
        assert info.type == t and info.name == spec.name
        assert (info.key_size, info.value_size) == (ks, vs)
        if t != MapType.PERF_EVENT_ARRAY:
            assert info.max_entries == n
        assert info.flags & flags == flags
        assert info.map_extra == extra


def test_numa_node_and_name_and_flags(kernel: None) -> None:
    numa = 1 << 2  # BPF_F_NUMA_NODE: place the map on node 0 explicitly
    spec = MapSpec("with.a-long-name!", MapType.HASH, 4, 4, 4, BPF_F_NO_PREALLOC | numa)
    with Map.create(spec) as m:
        info = m.info()
    assert info.name == "with.a_long_nam"  # 15 characters, bad ones replaced
    assert info.flags & BPF_F_NO_PREALLOC and info.flags & numa
    with pytest.raises(SyscallError):  # there is no NUMA node 4095 here
        Map.create(MapSpec("far", MapType.HASH, 4, 4, 4, numa_node=4095))


def test_btf_key_and_value_types_are_given_to_the_kernel(kernel: None) -> None:
    from pybpf.features.rawbtf import storage_btf

    raw, key_id, value_id = storage_btf(8)
    spec = MapSpec(
        "btf_typed", MapType.HASH, 4, 8, 4, btf=raw, key_type=key_id, value_type=value_id
    )
    with Map.create(spec) as m:
        info = m.info()
    assert info.btf_id and (info.btf_key_type_id, info.btf_value_type_id) == (key_id, value_id)


@pytest.mark.parametrize("t", list(NOT_HERE), ids=features.kernel_name)
def test_types_not_created_here(kernel: None, t: MapType) -> None:
    pytest.skip(NOT_HERE[t])


def test_struct_ops_without_btf_is_a_clear_error(kernel: None) -> None:
    from pybpf.objects import SpecError

    with pytest.raises(SpecError, match="vmlinux BTF value type"):
        Map.create(MapSpec("ops", MapType.STRUCT_OPS, 4, 64, 1))


def test_missing_type_is_not_supported_error(kernel: None) -> None:
    if features.have(features.map_type(MapType.RHASH)):
        pytest.skip("this kernel has rhash maps")
    with pytest.raises(NotSupportedError) as info:
        Map.create(MapSpec("rh", MapType.RHASH, 4, 4, 4, BPF_F_NO_PREALLOC))
    assert info.value.feature == "map_type rhash"
    assert not isinstance(info.value, SyscallError)
