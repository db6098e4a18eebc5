"""Maps typed from BTF: a map created with BTF key/value types reads and writes Python values
(pybpf.btf.values), raw bytes stay at hand, and ``pybpf map dump`` prints the entries as
``bpftool map dump`` does (compared live with bpftool where it is installed).

The maps take their BTF from the fixture objects (with libbpf's load-time fix-ups), loaded
into the kernel by :meth:`Map.create`; the same tests run on the fake kernel.
"""

from __future__ import annotations

import contextlib
import functools
import ipaddress
import json
import random
import struct
import sys
from collections.abc import Iterator

import pytest

from pybpf.btf import BTF, Int, IntEncoding, Kind, Member, Struct
from pybpf.btf.encode import encode
from pybpf.btf.values import StructValue, raw_of
from pybpf.objects import (
    CodecError,
    HashMap,
    LPMKey,
    Map,
    PerCPUArrayMap,
    QueueMap,
    RawCodec,
    possible_cpus,
)
from pybpf.objects.codec import DeferredCodec, TypedCodec
from pybpf.spec import CollectionSpec, MapSpec, MapType
from tests.conftest import OBJ
from tests.objects.cli_helpers import bpftool, run


@functools.cache
def fixed(name: str) -> BTF:
    """A fixture object's BTF as libbpf loads it (DATASEC sizes and offsets filled in)."""
    spec = CollectionSpec.from_file(OBJ / f"{name}.el.v3.o")
    assert isinstance(spec.btf, BTF)
    return spec.btf.replaced(spec.btf_fixups)


def tid(btf: BTF, name: str, *kinds: Kind) -> int:
    return next(i for i in btf.find(name) if not kinds or btf.kind_of(i) in kinds)


def typed_spec(
    name: str, type_: MapType, obj: str, key: str | None, value: str, *, entries: int = 16
) -> MapSpec:
    btf = fixed(obj)
    key_id = tid(btf, key) if key else None
    value_id = tid(btf, value, Kind.STRUCT, Kind.UNION, Kind.DATASEC, Kind.TYPEDEF, Kind.INT)
    key_size = btf.sizeof(key_id) if key_id else 0
    return MapSpec(
        name, type_, key_size, btf.sizeof(value_id), entries,
        btf=btf, key_type=key_id, value_type=value_id,
    )  # fmt: skip


def stats_map() -> Map:
    """A hash map ``__u32 -> struct value { __u64 packets, bytes; }`` (maps.bpf.c)."""
    return Map.create(typed_spec("typed_stats", MapType.HASH, "maps", "__u32", "value"))


# -- reading and writing -------------------------------------------------------------------
def test_a_map_with_btf_types_reads_and_writes_objects(backend: str) -> None:
    with stats_map() as m:
        assert isinstance(m, HashMap) and isinstance(m.codec, DeferredCodec)
        m[1] = {"packets": 3, "bytes": 180}
        assert isinstance(m.codec, TypedCodec)  # built on first use, then in place
        value = m[1]
        Value = type(value)
        assert isinstance(value, StructValue) and value == Value(packets=3, bytes=180)
        m[2] = value._replace(packets=4)
        m[3] = (5, 6)
        m.update_batch([7], [Value(bytes=1)]) if backend == "kernel" else m.update({7: {}})
        assert sorted(m.items()) == [
            (1, Value(3, 180)),
            (2, Value(4, 180)),
            (3, Value(5, 6)),
            (7, Value(0, 1) if backend == "kernel" else Value()),
        ]
        assert m.get(99) is None and 3 in m and m.pop(3) == Value(5, 6)


def test_raw_bytes_are_always_possible(backend: str) -> None:
    with stats_map() as m:
        m[1] = bytes(range(16))  # raw bytes of the value's size are taken as they are
        raw = m.raw
        assert raw[1] == bytes(range(16)) and m.raw is raw
        assert m.raw.items() == [((1).to_bytes(4, "little"), bytes(range(16)))]
        m.raw[b"\2\0\0\0"] = bytes(16)
        assert m[2].packets == 0
        twin = m.clone()
        twin.codec = twin.raw_codec()
        assert isinstance(twin.codec, RawCodec) and twin[1] == bytes(range(16))
        twin.close()
    assert raw.closed  # the raw view closes with its map


def test_bad_values_name_the_map_and_the_field(backend: str) -> None:
    with stats_map() as m:
        with pytest.raises(CodecError, match=r"map 'typed_stats': value\.packets: -1 does not"):
            m[1] = {"packets": -1}
        with pytest.raises(CodecError, match=r"map 'typed_stats': value: struct value has no "):
            m[1] = {"pakets": 1}
        with pytest.raises(CodecError, match=r"map 'typed_stats': key: 4294967296 does not fit"):
            m[2**32] = {}
        with pytest.raises(CodecError, match=r"key: 3 bytes given; unsigned int is 4 bytes"):
            m[b"abc"] = {}
        assert len(m) == 0


def test_per_cpu_values_are_lists_of_objects(backend: str) -> None:
    spec = typed_spec("typed_pcpu", MapType.PERCPU_ARRAY, "maps", "__u32", "value", entries=2)
    cpus = possible_cpus()
    with Map.create(spec) as m:
        assert isinstance(m, PerCPUArrayMap)
        m[0] = [{"packets": cpu} for cpu in range(cpus)]
        assert [v.packets for v in m[0]] == list(range(cpus))
        m[1] = {"bytes": 7}  # one value: every CPU
        assert {v.bytes for v in m[1]} == {7}
        assert len(m.raw[1]) == cpus and m.raw[1][0] == (0).to_bytes(8, "little") + bytes(
            [7]
        ) + bytes(7)


def test_lpm_keys_stay_prefixes_and_values_are_typed(kernel: None) -> None:
    spec = typed_spec("typed_lpm", MapType.LPM_TRIE, "maps", "lpm_v4_key", "__u32")
    spec.flags = 1  # BPF_F_NO_PREALLOC
    with Map.create(spec) as m:
        m[ipaddress.ip_network("10.0.0.0/8")] = 7
        assert m[(32, ipaddress.ip_address("10.1.2.3"))] == 7
        assert m.items() == [(LPMKey(8, bytes([10, 0, 0, 0])), 7)]


def test_queue_values_are_typed(backend: str) -> None:
    """The kernel takes no BTF for queues (libbpf leaves it out too), but their values can be
    typed all the same: a codec made from the object's BTF."""
    btf = fixed("maps")
    with Map.create(MapSpec("typed_q", MapType.QUEUE, 0, 16, 4)) as q:
        assert isinstance(q, QueueMap)
        q.push(bytes(16))
        assert q.peek() == bytes(16)
        q.codec = TypedCodec(btf, None, tid(btf, "value", Kind.STRUCT), value_size=16)
        q.push({"packets": 1})
        assert [v.packets for v in q.drain()] == [0, 1]


def test_maps_opened_by_id_fetch_their_btf(kernel: None) -> None:
    with stats_map() as m:
        m[1] = {"packets": 1, "bytes": 2}
        with Map.from_id(m.id) as again:
            value = again[1]
            assert repr(value) == "value(packets=1, bytes=2)"
            assert isinstance(again.codec, TypedCodec)
            assert again.spec.btf is None and again.spec.value_type == m.spec.value_type


def test_global_data_maps_read_as_their_section(backend: str) -> None:
    spec = typed_spec("typed_data", MapType.ARRAY, "globals", "__u32", ".data", entries=1)
    with Map.create(spec) as m:
        assert m[0].tag == b"" and type(m[0]).__name__ == ".data"
        m[0] = {"generation": 7, "tag": "v1", "data_local": -1}
        assert (m[0].generation, m[0].tag, m[0].data_local) == (7, b"v1", -1)


def test_keys_without_a_btf_type_stay_what_the_raw_codec_makes(backend: str) -> None:
    """libbpf gives global data maps a value type only: their keys stay array indexes."""
    spec = typed_spec("typed_data", MapType.ARRAY, "globals", "__u32", ".data", entries=1)
    spec.key_type = None
    with Map.create(spec) as m:
        m[0] = {"generation": 3}
        [(key, value)] = m.items()
        assert key == 0 and value.generation == 3


def test_the_spec_btf_that_does_not_fit_is_read_back_from_the_kernel(kernel: None) -> None:
    """An object file's own BTF has DATASEC sizes of 0 (libbpf fills them in at load): a map
    whose spec keeps that BTF reads the BTF the kernel holds instead."""
    spec = typed_spec("typed_data", MapType.ARRAY, "globals", "__u32", ".data", entries=1)
    with Map.create(spec) as m:
        raw = CollectionSpec.from_file(OBJ / "globals.el.v3.o").btf
        m._spec.btf = raw
        m.codec = m.default_codec()
        assert m[0].generation == 0


# -- the fast paths: int keys packed in place, batches decoded at once ----------------------
class Index:
    """An integer that is not an int (as numpy's are): ``__index__`` only."""

    def __init__(self, n: int) -> None:
        self.n = n

    def __index__(self) -> int:
        return self.n


def test_int_keys_are_packed_in_place_and_checked_as_ever(backend: str) -> None:
    with stats_map() as m:
        m[1], m[2] = {"packets": 3}, {"packets": 4}
        assert m._pack_key is not None  # the typed codec is built: u32 keys take struct
        Value = type(m[1])
        assert m[1] == m.get(1) == m[True] == Value(3, 0)
        assert m[b"\2\0\0\0"].packets == m[Index(2)].packets == 4  # bytes, __index__
        assert m.get(3) is None and 3 not in m and 1 in m
        with pytest.raises(KeyError):
            m[3]
        for bad, error in [
            (-1, r"key: -1 does not fit in unsigned int"),
            (2**32, r"key: 4294967296 does not fit"),
            ("1", r"key: expected an int for unsigned int, not str"),
            (1.0, r"key: expected an int for unsigned int, not float"),
            (b"abc", r"key: 3 bytes given; unsigned int is 4 bytes"),
        ]:
            with pytest.raises(CodecError, match=error):
                m[bad]
            with pytest.raises(CodecError, match=error):
                m.get(bad)
        twin = m.clone()  # its own buffers: lookups through both do not mix
        try:
            for _ in range(2):
                got = [m[1].packets, twin[2].packets, m[2].packets, twin[1].packets]
                assert got == [3, 4, 4, 3]
        finally:
            twin.close()


def test_raw_int_codecs_pack_indexes_and_read_ints(backend: str) -> None:
    with Map.create(MapSpec("raw_array", MapType.ARRAY, 4, 8, 4)) as a:
        a[3] = 7
        assert a[3] == a[b"\3\0\0\0"] == (7).to_bytes(8, "little") and a[True] == bytes(8)
        for missing in (4, -1):  # -1 is index 0xffffffff, as the raw codec always made it
            with pytest.raises(KeyError):
                a[missing]
        with pytest.raises(CodecError, match="key 1099511627776 does not fit in 4 bytes"):
            a[2**40]
        a.codec = RawCodec(4, 8, int_keys=True, int_values=True)
        assert a[3] == 7 and a.get(2) == 0 and a.items()[3] == (3, 7)


def flow_btf() -> BTF:
    """[1] __u32, [2] __u16, [3] __u8, [4] __u64, [5] struct flow { __u32 saddr, daddr;
    __u16 sport, dport; __u8 proto; /* 3 bytes of padding */ }, [6] struct stats."""
    ints = [Int(name=n, size=s, nr_bits=8 * s) for n, s in (("__u32", 4), ("__u16", 2))]
    ints += [Int(name=n, size=s, nr_bits=8 * s) for n, s in (("__u8", 1), ("__u64", 8))]
    fields = (("saddr", 1, 0), ("daddr", 1, 32), ("sport", 2, 64), ("dport", 2, 80))
    flow = Struct(
        name="flow", size=16, members=(*(Member(*f) for f in fields), Member("proto", 3, 96))
    )
    stats = Struct(name="stats", size=16, members=(Member("packets", 4, 0), Member("bytes", 4, 64)))
    return BTF(encode([*ints, flow, stats], byteorder=sys.byteorder))


def test_struct_keys_walk_and_look_up_with_their_padding(backend: str) -> None:
    spec = MapSpec("typed_flows", MapType.HASH, 16, 16, 16,
                   btf=flow_btf(), key_type=5, value_type=6)  # fmt: skip
    clean = [struct.pack("=IIHHB3x", i, i + 1, 80, 443, 6) for i in range(5)]
    dirty = clean[0][:13] + b"\7\0\0"  # flow 0's fields, padding not zero
    with Map.create(spec) as m:
        for i, key in enumerate([*clean, dirty]):
            m.raw[key] = struct.pack("=QQ", i, 2 * i)
        items = m.items()
        assert len(items) == 6 and sorted(m.keys()) == sorted(k for k, _ in items)
        for key, value in items:
            assert m[key] == value  # each key read back finds its own entry
        assert {raw_of(k): tuple(v) for k, v in items}[dirty] == (5, 10)
        Flow = type(items[0][0])
        assert m[Flow(saddr=0, daddr=1, sport=80, dport=443, proto=6)] == (0, 0)
        assert m[{"saddr": 1, "daddr": 2, "sport": 80, "dport": 443, "proto": 6}] == (1, 2)


# -- pybpf map dump is bpftool map dump ----------------------------------------------------
def no_floats(btf: BTF) -> BTF:
    """``btf`` with its floats made integers of the same size: bpftool 7.1 cannot print
    floats, pybpf can (the one difference, tested in tests/btf/test_values.py)."""
    changes = {}
    for type_id, t in btf.iter_types():
        if t.kind is Kind.FLOAT:
            size = t.size  # type: ignore[attr-defined]
            changes[type_id] = Int(
                name=t.name, size=size, encoding=IntEncoding(0), nr_bits=8 * size
            )
    return btf.replaced(changes)


def assert_dump_is_bpftool_s(*selector: str) -> None:
    assert run("map", "dump", *selector) == bpftool("map", "dump", *selector)
    mine = json.loads(run("map", "dump", *selector, "--json"))
    assert mine == json.loads(bpftool("-j", "map", "dump", *selector))


@pytest.fixture
def dumped(kernel: None) -> Iterator[list[Map]]:
    """Maps of every shape bpftool prints through BTF, filled with bytes chosen to reach
    every printing rule (strings, non-strings, enum values with and without names, bitfields,
    pointers, anonymous members, nested arrays, padding)."""
    rnd = random.Random(7)
    kinds = no_floats(fixed("btf_kinds"))
    u32 = tid(kinds, "__u32")
    maps = []
    with contextlib.ExitStack() as stack:

        def make(spec: MapSpec) -> Map:
            m = stack.enter_context(Map.create(spec))
            maps.append(m)
            return m

        for name in ("node", "bits", "packed", "number", "color", "wide", "wide_signed"):
            value = next(i for i in kinds.find(name) if kinds.kind_of(i) != Kind.VAR)
            spec = MapSpec(f"dump_{name}", MapType.HASH, 4, kinds.sizeof(value), 8,
                           btf=kinds, key_type=u32, value_type=value)  # fmt: skip
            m = make(spec)
            for k in range(5):
                m.raw[k] = bytes(rnd.getrandbits(8) for _ in range(spec.value_size))
        node = maps[0]
        node[9] = {"name": "eth0", "color": "BLUE", "sv": -3, "wide": 1, "next": 0x1000}
        node[10] = {"name": "a'b\\c\"d", "as_u32": 1, "matrix": [[1, -2, 3]], "tail": b""}
        maps[1][9] = {"a": 1, "b": 2, "c": -3, "d": 2**33 - 1, "flag": True}
        stats = make(typed_spec("dump_stats", MapType.HASH, "maps", "__u32", "value"))
        stats.update({1: {"packets": 1, "bytes": 2}, 2: {"packets": 3}})
        lpm = typed_spec("dump_lpm", MapType.LPM_TRIE, "maps", "lpm_v4_key", "__u32")
        lpm.flags = 1
        make(lpm)[ipaddress.ip_network("10.0.0.0/8")] = 5
        pcpu = make(
            typed_spec("dump_pcpu", MapType.PERCPU_ARRAY, "maps", "__u32", "value", entries=2)
        )
        pcpu[0] = [{"packets": cpu, "bytes": 2 * cpu} for cpu in range(possible_cpus())]
        data = make(typed_spec("dump_data", MapType.ARRAY, "globals", "__u32", ".bss", entries=1))
        data.raw[0] = bytes(range(48))  # padding not zero, printed all the same
        make(typed_spec("dump_empty", MapType.HASH, "maps", "__u32", "value"))
        yield maps


def test_map_dump_prints_btf_data_as_bpftool(dumped: list[Map]) -> None:
    for m in dumped:
        assert_dump_is_bpftool_s("id", str(m.id))


def test_map_dump_of_several_maps_as_bpftool(kernel: None) -> None:
    spec = typed_spec("dump_twice", MapType.HASH, "maps", "__u32", "value")
    with Map.create(spec) as a, Map.create(spec) as b:
        a[1], b[2] = {"packets": 1}, {"bytes": 2}
        assert_dump_is_bpftool_s("name", "dump_twice")
        with Map.create(MapSpec("dump_twice", MapType.HASH, 4, 16, 4)) as plain:
            # One map without BTF: bpftool means to print them all in hex. (bpftool 7.1
            # reuses one bpf_map_info for every map, and this kernel leaves the BTF ids of
            # the map before in it: a map without BTF after one with BTF is decoded with the
            # other's BTF. pybpf prints what bpftool means to.)
            plain[3] = bytes(16)
            text = run("map", "dump", "name", "dump_twice")
            blocks = text.split("\n\n")
            assert len(blocks) == 3 and all(b.rstrip().endswith("Found 1 element") for b in blocks)
            assert blocks[0].startswith(f"{a.id}: hash  name dump_twice  flags 0x0\nkey: 01 00")


def test_map_dump_output_shape(kernel: None) -> None:
    with stats_map() as m:
        m[1] = {"packets": 3, "bytes": 100}
        assert run("map", "dump", "id", str(m.id)) == (
            '[{\n        "key": 1,\n        "value": {\n            "packets": 3,\n'
            '            "bytes": 100\n        }\n    }\n]\n'
        )
