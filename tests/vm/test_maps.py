"""User-space maps: the kernel map API in Python, and programs reaching them."""

from __future__ import annotations

import errno
import ipaddress

import pytest

from pybpf.errors import CodecError, SpecError, SyscallError
from pybpf.spec import MapSpec, MapType
from pybpf.vm import VM, UpdateFlags
from pybpf.vm.maps import MAP_CLASSES
from tests.vm.conftest import asm


def _map(kind: MapType, key: int = 4, value: int = 8, entries: int = 4, **kw: object):  # type: ignore[no-untyped-def]
    vm = VM(ncpus=kw.pop("ncpus", 1))  # type: ignore[arg-type]
    return vm, vm.create_map(MapSpec("m", kind, key, value, entries, **kw))  # type: ignore[arg-type]


# -- hash-like -----------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", [MapType.HASH, MapType.LRU_HASH])
def test_hash_is_a_mutable_mapping(kind: MapType) -> None:
    _, m = _map(kind)
    m[1] = 10
    m[b"\x02\0\0\0"] = b"\x14" + bytes(7)
    assert m[1] == (10).to_bytes(8, "little")
    assert 2 in m and 3 not in m
    assert len(m) == 2
    assert sorted(m) == [b"\x01\0\0\0", b"\x02\0\0\0"]
    assert m.get(3) is None
    del m[1]
    with pytest.raises(KeyError):
        del m[1]
    with pytest.raises(KeyError):
        m[1]
    assert dict(m.items()) == {b"\x02\0\0\0": b"\x14" + bytes(7)}


def test_put_flags_and_full_map() -> None:
    _, m = _map(MapType.HASH, entries=2)
    m.put(1, 1, UpdateFlags.NOEXIST)
    with pytest.raises(SyscallError) as info:
        m.put(1, 2, UpdateFlags.NOEXIST)
    assert info.value.errno == errno.EEXIST
    with pytest.raises(KeyError):
        m.put(2, 2, UpdateFlags.EXIST)
    m.put(2, 2)
    with pytest.raises(SyscallError) as info:
        m.put(3, 3)
    assert info.value.errno == errno.E2BIG
    with pytest.raises(CodecError, match="4"):
        m.put(b"\x01", 1)  # wrong key size


def test_next_key_and_lookup_and_delete() -> None:
    _, m = _map(MapType.HASH)
    for k in (5, 6, 7):
        m[k] = k
    keys = []
    key = m.next_key(None)
    while key is not None:
        keys.append(key)
        key = m.next_key(key)
    assert keys == list(m)
    assert m.next_key(99) == keys[0]  # an absent key restarts, as the kernel does
    assert m.lookup_and_delete(6) == (6).to_bytes(8, "little")
    assert 6 not in m


def test_lru_evicts_the_least_recently_used(tier: str) -> None:
    vm, m = _map(MapType.LRU_HASH, entries=2)
    m[1] = 1
    m[2] = 2
    # a program's lookup of key 1 makes it recent: inserting 3 evicts 2
    prog = vm.load(_lookup_prog(), tier=tier)  # type: ignore[arg-type]
    assert prog.run((1).to_bytes(4, "little")) == 1
    m[3] = 3
    assert sorted(m) == [b"\x01\0\0\0", b"\x03\0\0\0"]


def _lookup_prog() -> list:  # type: ignore[type-arg]
    # r0 = *(u64 *)lookup(m, data) or 0xffff
    insns = asm(
        """
        mov %r2, %r1
        lddw %r1, 0
        call 1
        jeq %r0, 0, miss
        ldxdw %r0, [%r0]
        exit
        miss:
        mov %r0, 0xffff
        exit
        """
    )
    insns[1] = insns[1].with_fields(src=1, ref="m")
    return insns


def test_program_writes_through_a_value_pointer(tier: str) -> None:
    vm, m = _map(MapType.HASH)
    m[7] = 100
    insns = asm(
        """
        mov %r2, %r1
        lddw %r1, 0
        call 1
        jeq %r0, 0, out
        mov %r1, 5
        lock add [%r0], %r1
        ldxdw %r0, [%r0]
        out:
        exit
        """
    )
    insns[1] = insns[1].with_fields(src=1, ref="m")
    prog = vm.load(insns, tier=tier)  # type: ignore[arg-type]
    assert prog.run((7).to_bytes(4, "little")) == 105
    assert m[7] == (105).to_bytes(8, "little")
    assert prog.run((8).to_bytes(4, "little")) == 0


def test_program_updates_and_deletes(tier: str) -> None:
    vm, m = _map(MapType.HASH)
    insns = asm(
        """
        stdw [%r10-8], 42
        mov %r2, %r1
        lddw %r1, 0
        mov %r3, %r10
        add %r3, -8
        mov %r4, 1
        call 2
        mov %r6, %r0
        lddw %r1, 0
        mov %r2, %r10
        add %r2, -16
        stw [%r10-16], 99
        call 3
        lsh %r0, 32
        or %r0, %r6
        exit
        """
    )
    insns[2] = insns[2].with_fields(src=1, ref="m")
    insns[8] = insns[8].with_fields(src=1, ref="m")
    prog = vm.load(insns, tier=tier)  # type: ignore[arg-type]
    r0 = prog.run((3).to_bytes(4, "little"))
    assert r0 & 0xFFFFFFFF == 0  # inserted
    assert r0 >> 32 == (-errno.ENOENT) & 0xFFFFFFFF  # key 99 was not there
    assert m[3] == (42).to_bytes(8, "little")
    r0 = prog.run((3).to_bytes(4, "little"))
    assert r0 & 0xFFFFFFFF == (-errno.EEXIST) & 0xFFFFFFFF  # NOEXIST


# -- arrays ----------------------------------------------------------------------------------------


def test_array_has_every_index() -> None:
    _, m = _map(MapType.ARRAY, entries=3)
    assert len(m) == 3
    assert list(m) == [0, 1, 2]  # int keys, as a kernel array handle gives
    assert m.next_key(None) == 0 and m.next_key(2) is None
    with pytest.raises(KeyError):
        m.put(3, 1)
    assert m[2] == bytes(8)
    m[2] = 5
    assert m[2] == (5).to_bytes(8, "little")
    with pytest.raises(KeyError):
        m[3]
    with pytest.raises(SyscallError):
        del m[0]
    with pytest.raises(SyscallError) as info:
        m.put(0, 1, UpdateFlags.NOEXIST)
    assert info.value.errno == errno.EEXIST


def test_percpu_values_are_lists(tier: str) -> None:
    vm, m = _map(MapType.PERCPU_ARRAY, ncpus=3)
    m[0] = [1, 2, 3]
    assert m[0] == [(i).to_bytes(8, "little") for i in (1, 2, 3)]
    vm.cpu = 1
    insns = asm(
        "stw [%r10-4], 0\nmov %r2, %r10\nadd %r2, -4\nlddw %r1, 0\ncall 1\nldxdw %r0, [%r0]\nexit"
    )
    insns[3] = insns[3].with_fields(src=1, ref="m")
    assert vm.load(insns, tier=tier).run() == 2  # type: ignore[arg-type]
    m[0] = 9  # one value for every CPU
    assert m[0] == [(9).to_bytes(8, "little")] * 3


def test_percpu_hash() -> None:
    _, m = _map(MapType.PERCPU_HASH, ncpus=2)
    m[1] = [b"a" * 8, b"b" * 8]
    assert m[1] == [b"a" * 8, b"b" * 8]
    with pytest.raises(CodecError):
        m[2] = [1, 2, 3]


def test_global_data_is_an_array_with_memory(tier: str) -> None:
    vm = VM()
    data = vm.create_map(MapSpec(".data", MapType.ARRAY, 4, 16, 1, data=b"\x05" + bytes(15)))
    insns = asm("lddw %r1, 0\nldxb %r0, [%r1+0]\nstb [%r1+8], 9\nexit")
    insns[0] = insns[0].with_fields(src=2, ref=".data", imm_hi=0)
    assert vm.load(insns, tier=tier).run() == 5  # type: ignore[arg-type]
    assert data.memory()[8] == 9


# -- LPM, queue, stack, bloom -----------------------------------------------------------------


def test_lpm_trie_longest_prefix() -> None:
    _, m = _map(MapType.LPM_TRIE, key=8, value=4, entries=8, flags=1)
    m[(8, ipaddress.IPv4Address("10.0.0.0"))] = 1
    m[ipaddress.IPv4Network("10.1.0.0/16")] = 2
    m[(32, 0x0A010203)] = 3
    assert m[(32, ipaddress.IPv4Address("10.1.2.3"))] == (3).to_bytes(4, "little")
    assert m[(32, ipaddress.IPv4Address("10.1.9.9"))] == (2).to_bytes(4, "little")
    assert m[(32, ipaddress.IPv4Address("10.9.9.9"))] == (1).to_bytes(4, "little")
    assert (32, ipaddress.IPv4Address("11.0.0.1")) not in m
    del m[(16, ipaddress.IPv4Address("10.1.0.0"))]
    assert m[(32, ipaddress.IPv4Address("10.1.9.9"))] == (1).to_bytes(4, "little")
    assert len(m) == 2


@pytest.mark.parametrize(("kind", "order"), [(MapType.QUEUE, [1, 2]), (MapType.STACK, [2, 1])])
def test_queue_and_stack(kind: MapType, order: list[int]) -> None:
    _, m = _map(kind, key=0, value=4, entries=2)
    m.push(1)
    m.push(2)
    with pytest.raises(SyscallError):
        m.push(3)
    assert m.peek() == order[0].to_bytes(4, "little")
    assert [m.pop(), m.pop()] == [v.to_bytes(4, "little") for v in order]
    with pytest.raises(KeyError):
        m.pop()
    with pytest.raises(KeyError):
        m.peek()
    m.push(1)
    m.push(2)
    m.push(3, UpdateFlags.EXIST)  # full: drops the oldest
    assert len(m) == 2


def test_queue_from_a_program(tier: str) -> None:
    vm, m = _map(MapType.QUEUE, key=0, value=8, entries=4)
    insns = asm(
        """
        stdw [%r10-8], 77
        lddw %r1, 0
        mov %r2, %r10
        add %r2, -8
        mov %r3, 0
        call 87
        lddw %r1, 0
        mov %r2, %r10
        add %r2, -16
        call 88
        ldxdw %r0, [%r10-16]
        exit
        """
    )
    for i in (1, 6):
        insns[i] = insns[i].with_fields(src=1, ref="m")
    m.push(5)
    assert vm.load(insns, tier=tier).run() == 5  # type: ignore[arg-type]
    assert m.pop() == (77).to_bytes(8, "little")


def test_bloom_filter() -> None:
    _, m = _map(MapType.BLOOM_FILTER, key=0, value=4, entries=100)
    for v in range(50):
        m.add(v)
    assert all(v in m for v in range(50))
    assert sum(v in m for v in range(1000, 2000)) < 100  # few false positives


# -- ring buffer, perf, prog array, maps of maps ------------------------------------------------


def test_ringbuf_reserve_submit_discard_output(tier: str) -> None:
    vm, rb = _map(MapType.RINGBUF, key=0, value=0, entries=4096)
    insns = asm(
        """
        lddw %r1, 0
        mov %r2, 8
        mov %r3, 0
        call 131
        jeq %r0, 0, out
        stdw [%r0], 0x1234
        mov %r1, %r0
        mov %r2, 0
        call 132
        lddw %r1, 0
        mov %r2, 4
        mov %r3, 0
        call 131
        mov %r1, %r0
        mov %r2, 0
        call 133
        stw [%r10-4], 0x41424344
        lddw %r1, 0
        mov %r2, %r10
        add %r2, -4
        mov %r3, 4
        mov %r4, 0
        call 130
        out:
        exit
        """
    )
    for i, insn in enumerate(insns):
        if insn.is_wide:
            insns[i] = insn.with_fields(src=1, ref="m")
    assert vm.load(insns, tier=tier).run() == 0  # type: ignore[arg-type]
    assert list(rb.records()) == [(0x1234).to_bytes(8, "little"), b"DCBA"]
    assert rb.available == 0


def test_ringbuf_record_is_gone_after_submit(tier: str) -> None:
    vm, _ = _map(MapType.RINGBUF, key=0, value=0, entries=4096)
    insns = asm(
        """
        lddw %r1, 0
        mov %r2, 8
        mov %r3, 0
        call 131
        mov %r6, %r0
        mov %r1, %r0
        mov %r2, 0
        call 132
        stdw [%r6], 1
        exit
        """
    )
    insns[0] = insns[0].with_fields(src=1, ref="m")
    with pytest.raises(Exception, match="out of bounds") as info:
        vm.load(insns, tier=tier).run()  # type: ignore[arg-type]
    assert info.value.pc == 9  # type: ignore[attr-defined]


def test_perf_event_output(tier: str) -> None:
    vm, perf = _map(MapType.PERF_EVENT_ARRAY, key=4, value=4, entries=0)
    insns = asm(
        """
        stdw [%r10-8], 99
        lddw %r2, 0
        lddw %r3, 0xffffffff
        mov %r4, %r10
        add %r4, -8
        mov %r5, 8
        call 25
        exit
        """
    )
    insns[1] = insns[1].with_fields(src=1, ref="m")
    assert vm.load(insns, tier=tier).run() == 0  # type: ignore[arg-type]
    assert list(perf.records()) == [(0, (99).to_bytes(8, "little"))]


def test_array_of_maps(tier: str) -> None:
    vm = VM()
    inner_spec = MapSpec("inner", MapType.ARRAY, 4, 8, 1)
    outer = vm.create_map(MapSpec("outer", MapType.ARRAY_OF_MAPS, 4, 4, 2, inner_map=inner_spec))
    inner = vm.create_map(inner_spec)
    inner[0] = 31
    outer[1] = inner
    assert outer[1] is inner
    with pytest.raises(CodecError):
        outer[0] = vm.create_map(MapSpec("x", MapType.HASH, 4, 8, 1))
    insns = asm(
        """
        stw [%r10-4], 1
        lddw %r1, 0
        mov %r2, %r10
        add %r2, -4
        call 1
        jeq %r0, 0, out
        mov %r1, %r0
        stw [%r10-4], 0
        mov %r2, %r10
        add %r2, -4
        call 1
        ldxdw %r0, [%r0]
        out:
        exit
        """
    )
    insns[1] = insns[1].with_fields(src=1, ref="outer")
    assert vm.load(insns, tier=tier).run() == 31  # type: ignore[arg-type]


def test_every_map_type_of_the_table_is_created() -> None:
    vm = VM()
    for kind in MAP_CLASSES:
        key, value = {
            MapType.QUEUE: (0, 4),
            MapType.STACK: (0, 4),
            MapType.BLOOM_FILTER: (0, 4),
            MapType.RINGBUF: (0, 0),
            MapType.LPM_TRIE: (8, 4),
        }.get(kind, (4, 4))
        entries = 4096 if kind is MapType.RINGBUF else 4
        flags = 1 if kind is MapType.LPM_TRIE else 0
        inner = MapSpec("i", MapType.ARRAY, 4, 4, 1)
        vmap = vm.create_map(
            MapSpec(kind.name, kind, key, value, entries, flags=flags, inner_map=inner)
        )
        assert vmap.type is kind


def test_unsupported_map_type_is_refused() -> None:
    with pytest.raises(SpecError, match="does not run in the VM"):
        VM().create_map(MapSpec("s", MapType.SOCKMAP, 4, 4, 1))


def test_array_lookup_from_a_program(tier: str) -> None:
    """Array lookups (inlined by the JIT) give value pointers, and NULL out of range."""
    vm, arr = _map(MapType.ARRAY, entries=4)
    arr[2] = 40
    lookup = "mov %r2, %r10\nadd %r2, -4\nlddw %r1, 0\ncall 1\n"
    text = (
        "stw [%r10-4], 2\n" + lookup + "jeq %r0, 0, out\nldxdw %r6, [%r0]\nadd %r6, 2\n"
        "stxdw [%r0], %r6\nstw [%r10-4], 9\n" + lookup + "add %r0, %r6\nout:\nexit"
    )
    insns = asm(text)
    for i, insn in enumerate(insns):
        if insn.is_wide:
            insns[i] = insn.with_fields(src=1, ref="m")
    prog = vm.load(insns, tier=tier)  # type: ignore[arg-type]
    assert prog.code.direct_maps  # the JIT computes these lookups inline
    assert prog.run() == 42  # the second lookup (key 9) is NULL
    assert arr[2] == (42).to_bytes(8, "little")


# -- typed keys and values (BTF) -----------------------------------------------------------------


def test_maps_of_an_object_are_typed_by_their_btf() -> None:
    """Keys and values decode as the kernel maps' typed codec does (pybpf.btf.values);
    ``m.raw`` gives the bytes; a map without BTF stays raw."""
    from pybpf.spec.loader import load_collection_spec
    from tests.conftest import OBJ

    spec = load_collection_spec(OBJ / "isa_mem.el.v3.o")
    coll = VM().load_collection(spec, programs=["load_store"])
    records = coll.maps["records"]
    assert records.codec is not None
    coll.programs["load_store"].test_run(bytes(range(1, 65)))
    rec = records[1]  # key = pkt->u8 & 3 = 1
    assert (rec.u8, rec.u16, rec.u32) == (2, 0x0403 + 1, 0x0C0B0A09 + 1)
    records[2] = {"u8": 7, "u64": 2**40}
    assert records[2].u64 == 2**40
    raw = records.raw[2]
    assert raw[0] == 7 and int.from_bytes(raw[16:24], "little") == 2**40
    records.raw[3] = bytes(24)
    assert records[3].u8 == 0
    records.codec = None  # raw bytes from now on
    assert records[2] == raw
    plain = VM().create_map(MapSpec("plain", MapType.HASH, 4, 8, 4))
    assert plain.codec is None
    plain[1] = 5
    assert plain[1] == (5).to_bytes(8, "little")


@pytest.mark.parametrize("kind", [MapType.DEVMAP, MapType.CPUMAP, MapType.XSKMAP])
def test_redirect_maps(kind: MapType, tier: str) -> None:
    """``bpf_redirect_map``: XDP_REDIRECT for an index that is set, else the flags' action."""
    vm = VM()
    table = vm.create_map(MapSpec("targets", kind, 4, 4, 8))
    insns = asm("mov %r2, 3\nmov %r3, 2\nlddw %r1, 0\ncall 51\nexit")
    insns[2] = insns[2].with_fields(src=1, ref="targets")
    prog = vm.load(insns, tier=tier)  # type: ignore[arg-type]
    assert prog.run(b"") == 2  # slot 3 empty: XDP_PASS from the flags
    table[3] = 7
    assert prog.run(b"") == 4 and vm.redirects[-1] == (3, 2)
    with pytest.raises(SyscallError):
        table[8] = 1  # beyond max_entries: E2BIG
    assert list(table) == [3]


def test_devmap_hash_takes_any_key() -> None:
    m = VM().create_map(MapSpec("h", MapType.DEVMAP_HASH, 4, 4, 2))
    m[1000] = 1
    assert list(m) == [(1000).to_bytes(4, "little")]
