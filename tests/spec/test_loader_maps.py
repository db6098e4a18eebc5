"""Maps as the spec loader reads them: BTF-defined maps in ``.maps`` (every attribute,
map-in-map templates, initial ``values``), legacy ``maps`` definitions, struct_ops maps.

Expected values come from the fixture sources, and from what libbpf printed when bpftool
loaded the fixtures (tests/testdata/golden/*/load.log: "map 'x': found key [8], sz = 4.").
"""

from __future__ import annotations

import re
from functools import cache

import pytest

from pybpf.btf._btf import BTF
from pybpf.spec import CollectionSpec, MapSpec, MapType, PinType
from pybpf.spec.loader import load_collection_spec
from pybpf.spec.specs import BPF_F_LINK
from tests.conftest import TESTDATA, has_golden, read_golden

OBJ = TESTDATA / "obj"
GOLDEN = TESTDATA / "golden"
M = MapType
NO_PREALLOC, NO_COMMON_LRU, NUMA, MMAPABLE = 1, 2, 4, 1 << 10


@cache
def load(stem: str) -> CollectionSpec:
    return load_collection_spec(OBJ / f"{stem}.o")


def name_of(m: MapSpec, type_id: int | None) -> str | None:
    if type_id is None:
        return None
    assert isinstance(m.btf, BTF)
    return m.btf.name_of(type_id) or m.btf[type_id].kind.name


# name: type, key_size, value_size, max_entries, flags, key type name, value type name
MAPS = {
    "hash": (M.HASH, 4, 16, 1024, NO_PREALLOC, "__u32", "value"),
    "array": (M.ARRAY, 4, 8, 16, MMAPABLE, "__u32", "__u64"),
    "percpu_hash": (M.PERCPU_HASH, 4, 8, 64, 0, None, None),
    "percpu_array": (M.PERCPU_ARRAY, 4, 16, 4, 0, "__u32", "value"),
    "lru_hash": (M.LRU_HASH, 8, 4, 128, 0, "__u64", "__u32"),
    "lru_percpu_hash": (M.LRU_PERCPU_HASH, 4, 8, 128, NO_COMMON_LRU, "__u32", "__u64"),
    "lpm": (M.LPM_TRIE, 8, 4, 256, NO_PREALLOC, "lpm_v4_key", "__u32"),
    "pybpf_pin_counts": (M.HASH, 4, 8, 32, NUMA, "__u32", "__u64"),
    "ringbuf": (M.RINGBUF, 0, 0, 16384, 0, None, None),
    "user_ringbuf": (M.USER_RINGBUF, 0, 0, 4096, 0, None, None),
    "perf_events": (M.PERF_EVENT_ARRAY, 4, 4, 0, 0, None, None),
    "queue": (M.QUEUE, 0, 8, 32, 0, None, "__u64"),
    "stack": (M.STACK, 0, 4, 32, 0, None, "__u32"),
    "bloom": (M.BLOOM_FILTER, 0, 4, 1000, 0, None, "__u32"),
    "sk_storage": (M.SK_STORAGE, 4, 16, 0, NO_PREALLOC, "int", "sock_info"),
    "task_storage": (M.TASK_STORAGE, 4, 8, 0, NO_PREALLOC, "int", "__u64"),
    "inode_storage": (M.INODE_STORAGE, 4, 4, 0, NO_PREALLOC, "int", "__u32"),
    "cgrp_storage": (M.CGRP_STORAGE, 4, 8, 0, NO_PREALLOC, "int", "__u64"),
    "devmap": (M.DEVMAP, 4, 8, 8, 0, "__u32", "bpf_devmap_val"),
    "devmap_hash": (M.DEVMAP_HASH, 4, 4, 8, 0, "__u32", "__u32"),
    "cpumap": (M.CPUMAP, 4, 8, 4, 0, "__u32", "bpf_cpumap_val"),
    "xskmap": (M.XSKMAP, 4, 4, 4, 0, "__u32", "__u32"),
    "sockmap": (M.SOCKMAP, 4, 8, 4, 0, "__u32", "__u64"),
    "sockhash": (M.SOCKHASH, 4, 8, 4, 0, "__u32", "__u64"),
    "reuseport": (M.REUSEPORT_SOCKARRAY, 4, 8, 4, 0, "__u32", "__u64"),
    "stack_traces": (M.STACK_TRACE, 4, 1016, 64, 0, None, None),
    "cgroups": (M.CGROUP_ARRAY, 4, 4, 2, 0, "__u32", "__u32"),
    "inner_a": (M.ARRAY, 4, 4, 4, 0, "__u32", "__u32"),
    "inner_b": (M.ARRAY, 4, 4, 4, 0, "__u32", "__u32"),
    "inner_h": (M.HASH, 4, 8, 16, 0, "__u32", "__u64"),
    "outer_array": (M.ARRAY_OF_MAPS, 4, 4, 4, 0, "__u32", None),
    "outer_hash": (M.HASH_OF_MAPS, 4, 4, 8, 0, "__u32", None),
    "outer_anon": (M.ARRAY_OF_MAPS, 4, 4, 2, 0, "__u32", None),
    "jumps": (M.PROG_ARRAY, 4, 4, 4, 0, "__u32", None),
}


@pytest.mark.parametrize("variant", ["el.v3", "eb.v3"])
@pytest.mark.parametrize("name", sorted(MAPS))
def test_btf_map_attributes(variant: str, name: str) -> None:
    spec = load(f"maps.{variant}")
    m = spec.maps[name]
    mtype, key, value, entries, flags, key_type, value_type = MAPS[name]
    assert (m.name, m.type, m.key_size, m.value_size) == (name, mtype, key, value)
    assert (m.max_entries, m.flags) == (entries, flags)
    assert (name_of(m, m.key_type), name_of(m, m.value_type)) == (key_type, value_type)
    assert m.section == ".maps" and m.btf is spec.btf
    assert m.data is None and not m.freeze and m.kernel_name == ""


def test_every_map_of_the_source() -> None:
    assert set(load("maps.el.v3").maps) == set(MAPS)


@pytest.mark.parametrize("variant", ["el.v3", "eb.v3"])
def test_pinning_numa_and_map_extra(variant: str) -> None:
    maps = load(f"maps.{variant}").maps
    pinned = maps["pybpf_pin_counts"]
    assert (pinned.pinning, pinned.numa_node) == (PinType.BY_NAME, 0)
    assert [m.name for m in maps.values() if m.pinning != PinType.NONE] == ["pybpf_pin_counts"]
    assert maps["bloom"].map_extra == 3
    assert all(m.map_extra == 0 for m in maps.values() if m.name != "bloom")


@pytest.mark.parametrize("variant", ["el.v3", "eb.v3"])
def test_map_in_map_templates_and_values(variant: str) -> None:
    maps = load(f"maps.{variant}").maps
    outer = maps["outer_array"]
    assert outer.contents == [(0, "inner_a"), (3, "inner_b")]
    assert outer.inner_map is not None
    inner = outer.inner_map
    assert (inner.name, inner.type, inner.key_size, inner.value_size, inner.max_entries) == (
        "outer_array.inner", M.ARRAY, 4, 4, 4,
    )  # fmt: skip
    assert maps["outer_hash"].contents == [(5, "inner_h")]
    hinner = maps["outer_hash"].inner_map
    assert hinner is not None and (hinner.type, hinner.value_size) == (M.HASH, 8)
    anon = maps["outer_anon"]
    assert anon.contents == []
    assert anon.inner_map is not None
    assert (anon.inner_map.name, anon.inner_map.type, anon.inner_map.max_entries) == (
        "outer_anon.inner", M.PERCPU_ARRAY, 8,
    )  # fmt: skip
    assert name_of(anon.inner_map, anon.inner_map.value_type) == "__u64"


@pytest.mark.parametrize("stem", ["maps.el.v3", "maps.eb.v3", "isa_calls.el.v3", "isa_calls.eb.v4"])
def test_prog_array_values_name_programs(stem: str) -> None:
    spec = load(stem)
    arrays = [m for m in spec.maps.values() if m.type == M.PROG_ARRAY]
    assert len(arrays) == 1
    (slot, prog), *rest = arrays[0].contents
    assert not rest and prog in spec.programs
    assert slot == (1 if stem.startswith("maps") else 2)


_FOUND = re.compile(r"libbpf: map '([^']+)': found (\w+) (?:\[(\d+)\], sz = |= )(\w+)\.$")
_SLOT = re.compile(r"map '([^']+)' slot \[(\d+)\] points to (?:map|prog) '([^']+)'")


def golden_maps(stem: str) -> dict[str, dict[str, int]]:
    """What libbpf said about each BTF-defined map of a fixture when bpftool loaded it."""
    found: dict[str, dict[str, int]] = {}
    for line in read_golden(GOLDEN / stem / "load.log").splitlines():
        m = _FOUND.match(line)
        if m:
            name, attr, type_id, value = m.groups()
            attrs = found.setdefault(name, {})
            attrs[attr] = int(value, 0)
            if type_id is not None:
                attrs[f"{attr}_type"] = int(type_id)
    return found


_GOLDEN_STEMS = sorted(
    p.parent.name
    for p in GOLDEN.glob("*.el.*/load.log")
    if "found type" in p.read_text() and not p.parent.name.startswith("link_")
)


@pytest.mark.parametrize("stem", _GOLDEN_STEMS)
def test_btf_maps_as_libbpf_logged_them(stem: str) -> None:
    if not has_golden(OBJ / f"{stem}.o"):
        pytest.skip(f"no object {stem}.o")
    spec = load(stem)
    logged = golden_maps(stem)
    assert logged
    for name, attrs in logged.items():
        outer, _, inner = name.partition(".inner")
        m = spec.maps[outer]
        if name.endswith(".inner"):
            assert m.inner_map is not None
            m = m.inner_map
        fields = {
            "type": m.type,
            "key": m.key_size,
            "key_size": m.key_size,
            "value": m.value_size,
            "value_size": m.value_size,
            "max_entries": m.max_entries,
            "map_flags": m.flags,
            "map_extra": m.map_extra,
            "pinning": m.pinning,
            "numa_node": m.numa_node,
            "key_type": m.key_type,
            "value_type": m.value_type,
        }
        for attr, value in attrs.items():
            assert fields[attr] == value, (name, attr)
        del inner


def test_values_as_libbpf_logged_them() -> None:
    text = read_golden(GOLDEN / "maps.el.v3" / "load.log")
    logged = sorted(_SLOT.findall(text))
    maps = load("maps.el.v3").maps
    ours = sorted((m.name, str(k), v) for m in maps.values() for k, v in m.contents)
    assert ours == logged


@pytest.mark.parametrize("variant", ["el.v3", "eb.v3"])
def test_legacy_maps(variant: str) -> None:
    spec = load(f"maps_legacy.{variant}")
    got = {
        n: (m.type, m.key_size, m.value_size, m.max_entries, m.flags, m.section)
        for n, m in spec.maps.items()
    }
    assert got == {
        "legacy_hash": (M.HASH, 4, 8, 256, NO_PREALLOC, "maps"),
        "legacy_array": (M.ARRAY, 4, 16, 4, 0, "maps"),
        "legacy_prog_array": (M.PROG_ARRAY, 4, 4, 8, 0, "maps"),
    }
    assert all(m.key_type is None and m.btf is None for m in spec.maps.values())
    refs = {i.ref for i in spec.programs["legacy_counter"].instructions if i.ref}
    assert refs == {"legacy_hash", "legacy_prog_array"}


@pytest.mark.parametrize("variant", ["el.v3", "eb.v3"])
def test_struct_ops_map(variant: str) -> None:
    spec = load(f"struct_ops.{variant}")
    m = spec.maps["pybpf_cc"]
    assert (m.type, m.key_size, m.value_size, m.max_entries, m.flags) == (
        M.STRUCT_OPS, 4, 48, 1, 0,
    )  # fmt: skip
    assert name_of(m, m.value_type) == "tcp_congestion_ops"
    assert m.struct_ops == {
        "ssthresh": "pybpf_ssthresh",
        "cong_avoid": "pybpf_cong_avoid",
        "init": "pybpf_init",
        "undo_cwnd": "pybpf_undo_cwnd",
    }
    assert m.data is not None and m.data[32:41] == b"pybpf_cc\0"
    assert not m.flags & BPF_F_LINK


def test_arena_map() -> None:
    spec = load("isa_arena.el.v4")
    arena = spec.maps["arena"]
    assert (arena.type, arena.max_entries, arena.flags) == (M.ARENA, 4, MMAPABLE)
    assert arena.data is None  # no __arena globals in this object (no .addr_space.1)
