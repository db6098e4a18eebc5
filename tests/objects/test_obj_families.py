"""The map families beyond hash and array: per-CPU, queue/stack, bloom, LPM, fd-valued maps,
storage, stack traces, mmap'able arrays and arenas."""

from __future__ import annotations

import ipaddress
import os
import socket

import pytest

from pybpf.errors import NotSupportedError, SyscallError
from pybpf.objects import (
    ArenaMap,
    ArrayMap,
    ArrayOfMapsMap,
    BloomFilterMap,
    CodecError,
    FDArrayMap,
    HashOfMapsMap,
    LocalStorageMap,
    LPMKey,
    LPMTrieMap,
    Map,
    PerCPUArrayMap,
    PerCPUHashMap,
    QueueMap,
    RawCodec,
    SpecError,
    StackMap,
    StackTraceMap,
    UpdateFlags,
    possible_cpus,
)
from pybpf.spec import MapSpec, MapType
from pybpf.sys import current

MMAPABLE = 1 << 10


# -- per-CPU ---------------------------------------------------------------------------------
def test_per_cpu_values_are_lists_one_per_cpu(backend: str) -> None:
    cpus = possible_cpus()
    assert cpus == current().possible_cpus() >= 1
    with Map.create(MapSpec("pc_hash", MapType.PERCPU_HASH, 4, 4, 8)) as m:
        assert isinstance(m, PerCPUHashMap)
        m[1] = [i.to_bytes(4, "little") for i in range(cpus)]
        assert m[1] == [i.to_bytes(4, "little") for i in range(cpus)]
        m[2] = 9  # one value: every CPU
        assert m[2] == [(9).to_bytes(4, "little")] * cpus
        m.codec = m.per_cpu(RawCodec(4, 4, int_keys=True, int_values=True))
        assert sorted(m.items()) == [(1, list(range(cpus))), (2, [9] * cpus)]
        with pytest.raises(CodecError, match=f"this machine has {cpus} CPUs"):
            m[3] = [0] * (cpus + 1)


def test_per_cpu_array_pads_each_value_to_8_bytes(backend: str) -> None:
    cpus = possible_cpus()
    with Map.create(MapSpec("pc_arr", MapType.PERCPU_ARRAY, 4, 12, 2)) as m:
        assert isinstance(m, PerCPUArrayMap)
        m[1] = [bytes([i]) * 12 for i in range(cpus)]
        assert m[1] == [bytes([i]) * 12 for i in range(cpus)]
        assert m[0] == [bytes(12)] * cpus and len(m) == 2


# -- queue, stack, bloom ---------------------------------------------------------------------
def test_queue_is_fifo_and_stack_is_lifo(backend: str) -> None:
    with (
        Map.create(MapSpec("q", MapType.QUEUE, 0, 4, 3)) as q,
        Map.create(MapSpec("s", MapType.STACK, 0, 4, 3)) as s,
    ):
        assert isinstance(q, QueueMap) and isinstance(s, StackMap)
        for v in (1, 2, 3):
            q.push(v)
            s.push(v)
        assert q.peek() == (1).to_bytes(4, "little") == q.pop()
        assert s.peek() == (3).to_bytes(4, "little") == s.pop()
        assert q.drain() == [(2).to_bytes(4, "little"), (3).to_bytes(4, "little")]
        with pytest.raises(KeyError, match="queue map 'q' is empty"):
            q.pop()
        with pytest.raises(KeyError):
            q.peek()


def test_full_queue_refuses_or_drops_the_oldest(backend: str) -> None:
    with Map.create(MapSpec("q2", MapType.QUEUE, 0, 4, 2)) as q:
        assert isinstance(q, QueueMap)
        q.push(1)
        q.push(2)
        with pytest.raises(SyscallError, match=r"UpdateFlags\.EXIST"):
            q.push(3)
        q.push(3, UpdateFlags.EXIST)
        assert [int.from_bytes(v, "little") for v in q.drain()] == [2, 3]


def test_bloom_filter(kernel: None) -> None:
    with Map.create(MapSpec("bloom", MapType.BLOOM_FILTER, 0, 8, 100, map_extra=3)) as b:
        assert isinstance(b, BloomFilterMap)
        b.add(42)
        b.add(b"abcdefgh")
        assert 42 in b and b"abcdefgh" in b
        assert sum(v in b for v in range(1000, 1100)) < 20  # false positives stay rare
        with pytest.raises(CodecError):
            b.add(b"short")


# -- LPM trie --------------------------------------------------------------------------------
def test_lpm_trie_keys(kernel: None) -> None:
    with Map.create(MapSpec("routes", MapType.LPM_TRIE, 8, 4, 16)) as m:
        assert isinstance(m, LPMTrieMap)
        m[ipaddress.ip_network("10.0.0.0/8")] = 1
        m[(16, ipaddress.ip_address("10.1.0.0"))] = 2
        m[(24, 0x0A010200)] = 3
        m[(32, b"\x0a\x01\x02\x03")] = 4
        assert m[(32, ipaddress.ip_address("10.9.9.9"))] == (1).to_bytes(4, "little")
        assert m[(32, ipaddress.ip_address("10.1.9.9"))] == (2).to_bytes(4, "little")
        assert m[(32, ipaddress.ip_address("10.1.2.9"))] == (3).to_bytes(4, "little")
        assert (32, b"\x0b\x00\x00\x00") not in m
        keys = sorted(m.keys())
        assert keys[0] == LPMKey(8, b"\x0a\x00\x00\x00")
        assert keys[0].network == ipaddress.ip_network("10.0.0.0/8")
        with pytest.raises(CodecError, match="prefixlen 33"):
            m[(33, 0)] = 0
        with pytest.raises(CodecError, match="LPM key data is 16 bytes"):
            m[(8, ipaddress.ip_address("::1"))] = 0


# -- fd-valued maps --------------------------------------------------------------------------
def test_maps_of_maps_store_maps_and_read_ids(kernel: None) -> None:
    inner = MapSpec("inner", MapType.ARRAY, 4, 4, 1)
    with (
        Map.create(MapSpec("aom", MapType.ARRAY_OF_MAPS, 4, 4, 4, inner_map=inner)) as aom,
        Map.create(MapSpec("hom", MapType.HASH_OF_MAPS, 4, 4, 4, inner_map=inner)) as hom,
        Map.create(inner) as a,
    ):
        assert isinstance(aom, ArrayOfMapsMap) and isinstance(hom, HashOfMapsMap)
        a[0] = 7
        aom[2] = a
        hom[b"key!"] = a.fileno()
        assert aom[2] == a.info().id == hom[b"key!"]
        assert list(aom) == [2] and len(aom) == 1 and 1 not in aom
        with aom.get_map(2) as again:
            assert again[0] == (7).to_bytes(4, "little")
        del aom[2]
        assert len(aom) == 0
        with pytest.raises(KeyError):
            aom.get_map(2)


def test_inner_map_of_another_shape_is_refused(kernel: None) -> None:
    inner = MapSpec("inner", MapType.ARRAY, 4, 4, 1)
    with (
        Map.create(MapSpec("aom2", MapType.ARRAY_OF_MAPS, 4, 4, 2, inner_map=inner)) as aom,
        Map.create(MapSpec("other", MapType.HASH, 4, 4, 1)) as other,
        pytest.raises(SyscallError),
    ):
        aom[0] = other


def test_map_of_maps_needs_an_inner_map(backend: str) -> None:
    with pytest.raises(SpecError, match="needs an inner map"):
        Map.create(MapSpec("aom3", MapType.ARRAY_OF_MAPS, 4, 4, 2))


def test_sockmap_stores_sockets(kernel: None) -> None:
    with (
        Map.create(MapSpec("socks", MapType.SOCKMAP, 4, 8, 4)) as m,
        socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s,
    ):
        assert isinstance(m, FDArrayMap)
        s.bind(("127.0.0.1", 0))
        m[1] = s
        so_cookie = 57  # SO_COOKIE
        cookie = int.from_bytes(s.getsockopt(socket.SOL_SOCKET, so_cookie, 8), "little")
        assert m[1] == cookie and list(m) == [1]
        del m[1]
        assert len(m) == 0


def test_devmap_and_cpumap_store_plain_values(kernel: None) -> None:
    with Map.create(MapSpec("devs", MapType.DEVMAP, 4, 4, 4)) as d:
        d[0] = 1  # loopback's ifindex
        assert d[0] == 1 and d.items() == [(0, 1)]
    with Map.create(MapSpec("cpus", MapType.CPUMAP, 4, 4, possible_cpus())) as c:
        c[0] = 192  # queue size
        assert c[0] == 192


# -- storage, stack traces -------------------------------------------------------------------
def test_local_storage_is_keyed_by_fd(kernel: None) -> None:
    with Map.create(MapSpec("sk_st", MapType.SK_STORAGE, 4, 8, 0)) as sk, socket.socket() as s:
        assert isinstance(sk, LocalStorageMap)
        sk[s] = 5
        assert sk[s] == (5).to_bytes(8, "little")
        del sk[s]
        assert s not in sk
        with pytest.raises(NotSupportedError, match="listing the entries of sk_storage maps"):
            list(sk)
    pidfd = os.pidfd_open(os.getpid())
    try:
        with Map.create(MapSpec("task_st", MapType.TASK_STORAGE, 4, 8, 0)) as t:
            t[pidfd] = 7
            assert t[pidfd] == (7).to_bytes(8, "little")
    finally:
        os.close(pidfd)


def test_stack_trace_map_starts_empty(kernel: None) -> None:
    with Map.create(MapSpec("stacks", MapType.STACK_TRACE, 4, 8 * 8, 4)) as m:
        assert isinstance(m, StackTraceMap)
        assert list(m) == [] and len(m) == 0
        with pytest.raises(KeyError):
            m.addresses(0)


# -- memory-mapped ---------------------------------------------------------------------------
def test_mmapable_array_is_memory(kernel: None) -> None:
    with Map.create(MapSpec("mm", MapType.ARRAY, 4, 4, 4, MMAPABLE)) as m:
        assert isinstance(m, ArrayMap)
        view = m.mmap()
        assert len(view) == 4 * 8 and m.mmap() is view  # 8-byte element stride
        m[1] = b"abcd"
        assert bytes(view[8:12]) == b"abcd"
        view[16:20] = b"wxyz"
        assert m[2] == b"wxyz"


def test_frozen_mmapable_array_maps_read_only(kernel: None) -> None:
    with Map.create(MapSpec("ro", MapType.ARRAY, 4, 4, 1, MMAPABLE)) as m:
        assert isinstance(m, ArrayMap)
        m[0] = b"rody"
        m.freeze()
        view = m.mmap()
        assert view.readonly and bytes(view[:4]) == b"rody"


def test_mmap_needs_the_flag(backend: str) -> None:
    with Map.create(MapSpec("plain", MapType.ARRAY, 4, 4, 1)) as m:
        assert isinstance(m, ArrayMap)
        with pytest.raises(SpecError, match="BPF_F_MMAPABLE"):
            m.mmap()


def test_arena(kernel: None) -> None:
    try:
        arena = Map.create(MapSpec("arena", MapType.ARENA, 0, 0, 2))
    except NotSupportedError as exc:
        pytest.skip(str(exc))
    with arena:
        assert isinstance(arena, ArenaMap)
        view = arena.mmap()
        assert len(view) == 2 * os.sysconf("SC_PAGE_SIZE")
        view[:5] = b"hello"
        assert bytes(view[:5]) == b"hello"
