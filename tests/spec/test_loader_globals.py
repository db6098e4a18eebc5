"""Global variables: the maps of ``.data``/``.rodata``/``.bss`` and their variants, and the
variables in them (names, offsets, sizes, types and initial values from the fixture source
tests/testdata/src/globals.bpf.c), in both byte orders; the kernel names libbpf gives those
maps; the ``lddw`` instructions that reach them.
"""

from __future__ import annotations

import struct
from functools import cache

import pytest

from pybpf.asm.opcodes import PseudoSrc
from pybpf.btf._btf import BTF
from pybpf.btf.types import Modifier
from pybpf.spec import CollectionSpec, MapType
from pybpf.spec._globals import internal_map_name
from pybpf.spec.loader import load_collection_spec
from pybpf.spec.specs import BPF_F_MMAPABLE, BPF_F_RDONLY_PROG
from tests.conftest import TESTDATA

OBJ = TESTDATA / "obj"
VARIANTS = ["el.v3", "eb.v3"]
RO, MM = BPF_F_RDONLY_PROG, BPF_F_MMAPABLE


@cache
def load(variant: str) -> CollectionSpec:
    return load_collection_spec(OBJ / f"globals.{variant}.o")


def unqualified_name(btf: BTF, type_id: int) -> str:
    """The name of a type under its const/volatile qualifiers ("" for an array)."""
    t = btf[type_id]
    while isinstance(t, Modifier):
        type_id, t = t.type, btf[t.type]
    return btf.name_of(type_id)


def pack(variant: str, fmt: str, *values: object) -> bytes:
    return struct.pack(("<" if variant.startswith("el") else ">") + fmt, *values)


# section: size, flags, frozen, kernel name
MAPS = {
    ".rodata": (43, RO | MM, True, "globals.rodata"),
    ".data": (20, MM, False, "globals.data"),
    ".data.counters": (36, MM, False, ".data.counters"),
    ".rodata.table": (80, RO | MM, True, ".rodata.table"),
    ".bss": (48, MM, False, "globals.bss"),
    ".rodata.str1.1": (3, RO, True, ".rodata.str1.1"),
}


@pytest.mark.parametrize("variant", VARIANTS)
def test_one_array_map_per_data_section(variant: str) -> None:
    maps = load(variant).maps
    assert list(maps) == list(MAPS)  # section order, as libbpf adds them
    for name, (size, flags, frozen, kernel_name) in MAPS.items():
        m = maps[name]
        assert (m.type, m.key_size, m.value_size, m.max_entries) == (MapType.ARRAY, 4, size, 1)
        assert (m.flags, m.freeze, m.kernel_name, m.section) == (flags, frozen, kernel_name, name)
        assert m.data is not None and len(m.data) == size
    assert load(variant).maps[".bss"].data == bytes(48)
    assert load(variant).maps[".rodata.str1.1"].data == b"v2\0"


# name: section, offset, size, type name, constant
VARIABLES = {
    "cfg": (".rodata", 0, 32, "config", True),
    "sample_rate": (".rodata", 32, 4, "__u32", True),
    "use_fast_path": (".rodata", 36, 1, "_Bool", True),
    "greeting": (".rodata", 37, 6, "", True),
    "generation": (".data", 0, 8, "__u64", False),
    "tag": (".data", 8, 8, "", False),
    "data_local": (".data", 16, 4, "int", False),
    "counters": (".data.counters", 0, 32, "", False),
    "extra_flag": (".data.counters", 32, 4, "__u32", False),
    "table": (".rodata.table", 0, 64, "", True),
    "name_prefix": (".rodata.table", 64, 16, "", True),
    "stats": (".bss", 0, 32, "stats", False),
    "last_len": (".bss", 32, 4, "__u32", False),
    "bss_local": (".bss", 40, 8, "__u64", False),
}


@pytest.mark.parametrize("variant", VARIANTS)
@pytest.mark.parametrize("name", list(VARIABLES))
def test_variable(variant: str, name: str) -> None:
    spec = load(variant)
    v = spec.variables[name]
    section, offset, size, type_name, constant = VARIABLES[name]
    assert (v.name, v.map_name, v.offset, v.size, v.constant) == (
        name, section, offset, size, constant,
    )  # fmt: skip
    assert isinstance(v.btf, BTF) and v.type is not None
    assert unqualified_name(v.btf, v.type) == type_name
    data = spec.maps[section].data
    assert data is not None and v.value == data[offset : offset + size]


def test_all_variables() -> None:
    assert set(load("el.v3").variables) == set(VARIABLES)


@pytest.mark.parametrize("variant", VARIANTS)
def test_initial_values(variant: str) -> None:
    got = {k: v.value for k, v in load(variant).variables.items()}
    assert got["cfg"] == pack(variant, "IBBH3Q", 8080, 1, 0, 0, 10, 20, 30)
    assert got["sample_rate"] == pack(variant, "I", 100)
    assert got["use_fast_path"] == b"\0"
    assert got["greeting"] == b"pybpf\0"
    assert got["generation"] == pack(variant, "Q", 7)
    assert got["tag"] == b"v1" + bytes(6)
    assert got["data_local"] == pack(variant, "i", -1)
    assert got["counters"] == pack(variant, "4Q", 1, 2, 3, 4)
    assert got["extra_flag"] == pack(variant, "I", 0xABCD)
    assert got["table"] == pack(variant, "8Q", 1, 1, 2, 3, 5, 8, 13, 21)
    assert got["name_prefix"] == b"pybpf-" + bytes(10)
    assert got["stats"] == bytes(32) and got["bss_local"] == bytes(8)


@pytest.mark.parametrize("variant", VARIANTS)
def test_lddw_of_globals(variant: str) -> None:
    insns = load(variant).programs["read_globals"].instructions
    refs = [(i.ref, i.imm_hi) for i in insns if i.ref is not None]
    assert all(i.src == PseudoSrc.MAP_VALUE for i in insns if i.ref is not None)
    assert {ref for ref, _ in refs} == set(MAPS)
    variables = load(variant).variables
    # every offset is the start of a variable of that map (+ a member offset at most)
    for ref, offset in refs:
        starts = [v.offset for v in variables.values() if v.map_name == ref]
        assert ref == ".rodata.str1.1" or any(s <= offset < s + 32 for s in starts), (ref, offset)
    assert (".bss", 40) in refs  # static bss_local: section symbol + imm
    assert (".data", 16) in refs  # static data_local
    assert (".data.counters", 32) in refs  # extra_flag: its symbol's value


@pytest.mark.parametrize(
    ("obj", "section", "expected"),
    [
        ("globals", ".data", "globals.data"),
        ("globals", ".rodata", "globals.rodata"),
        ("my_object_name", ".rodata", "my_objec.rodata"),
        ("my_object_name", ".bss", "my_objec.bss"),
        ("my_object_name", ".kconfig", "my_obje.kconfig"),
        ("my_object_name", ".data.custom", ".data.custom"),
        ("my_object_name", ".rodata.abracadabra", ".rodata.abracad"),
        ("bad-name", ".data", "bad_name.data"),
        ("", ".bss", ".bss"),
    ],
)
def test_internal_map_name(obj: str, section: str, expected: str) -> None:
    assert internal_map_name(obj, section) == expected


def test_editing_a_constant_before_load() -> None:
    spec = load("el.v3").copy()
    spec.variables["sample_rate"].value = struct.pack("<I", 7)
    assert load("el.v3").variables["sample_rate"].value == struct.pack("<I", 100)
    assert spec.btf is load("el.v3").btf  # copies share the (immutable) BTF
