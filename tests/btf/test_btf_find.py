"""Name lookups: the same answers as a brute-force scan, however the index answers them."""

from __future__ import annotations

import struct
from collections import defaultdict

import pytest

from pybpf.btf import BTF, Int, IntEncoding, Kind, Struct, Typedef, encode
from pybpf.btf._names import SCANS_BEFORE_DICT
from tests.btf.btfutil import BTFDATA, vmlinux
from tests.conftest import OBJ


def brute_force(btf: BTF) -> dict[str, list[int]]:
    names: dict[str, list[int]] = defaultdict(list)
    for type_id, t in btf.iter_types(include_base=True):
        if t.name:
            names[t.name].append(type_id)
    return names


def essential(name: str) -> str:
    """libbpf's bpf_core_essential_name_len: cut at the last `x___y` separator."""
    for i in range(len(name) - 5, -1, -1):
        s = name[i : i + 5]
        if s[0] != "_" and s[1:4] == "___" and s[4] != "_":
            return name[: i + 1]
    return name


@pytest.mark.parametrize("obj", ["core.el.v3.o", "btf_kinds.eb.v3.o", "bs_bootstrap.el.v3.o"])
def test_find_matches_brute_force(obj: str) -> None:
    btf = BTF.from_path(str(OBJ / obj))
    expected = brute_force(btf)
    for name, ids in expected.items():
        assert btf.find(name) == ids, name
        for kind in {btf.kind_of(i) for i in ids}:
            want = [i for i in ids if btf.kind_of(i) is kind]
            assert btf.find(name, kind) == want
            assert btf.find_by_name_kind(name, kind) == want[0]
    assert btf.find("no_such_type") == [] and btf.find("") == []
    assert btf.find_by_name_kind("no_such_type", Kind.STRUCT) is None
    assert btf.find_by_name_kind("void", Kind.STRUCT) == 0


def test_find_flavors_matches_libbpf_rule() -> None:
    btf = BTF.from_path(str(OBJ / "core.el.v3.o"))
    by_essential: dict[str, list[int]] = defaultdict(list)
    for name, ids in brute_force(btf).items():
        by_essential[essential(name)] += ids
    assert any(len(ids) > 1 for ids in by_essential.values())  # the fixture has flavors
    for ename, ids in by_essential.items():
        assert btf.find_flavors(ename) == sorted(ids), ename


def test_lookups_past_the_dictionary_threshold_agree() -> None:
    btf = BTF.from_path(str(OBJ / "btf_kinds.el.v3.o"))
    expected = brute_force(btf)
    names = sorted(expected)
    assert len(names) > 2 * SCANS_BEFORE_DICT
    for name in names:  # the first lookups scan, later ones use the dictionary
        assert btf.find(name) == expected[name]


def test_split_lookups_cover_base_and_module() -> None:
    base = BTF.from_path(str(BTFDATA / "split_base.btf"))
    mod = BTF.from_path(str(BTFDATA / "split_mod.btf"), base=base)
    for name, ids in brute_force(mod).items():
        assert mod.find(name) == ids


def test_a_name_offset_into_the_middle_of_a_string_is_found() -> None:
    # libbpf and the kernel accept a name_off pointing at the tail of a longer string.
    data = bytearray(
        encode(
            [
                Int(name="int", size=4, encoding=IntEncoding.SIGNED, nr_bits=32),
                Struct(name="my_task", size=4),
                Typedef(name="other", type=2),
            ]
        )
    )
    strings = data.index(b"my_task\0")
    struct.pack_into("<I", data, 24 + 16 + 12, strings + 3 - (24 + 16 + 12 + 12))
    btf = BTF(bytes(data))
    assert btf.name_of(3) == "task"
    assert btf.find("task") == [3] and btf.find("my_task") == [2]


@pytest.mark.tool
def test_vmlinux_lookups() -> None:
    btf = BTF.from_path(str(vmlinux()))
    (task,) = btf.find("task_struct", Kind.STRUCT)
    assert btf.name_of(task) == "task_struct" and btf.sizeof(task) > 1000
    members = {m.name for m, _ in btf.iter_members(task, flatten=True)}
    assert {"pid", "tgid", "comm", "real_parent"} <= members
    assert btf.find_flavors("task_struct", Kind.STRUCT) == [task]
    long_ids = btf.find("long int", Kind.INT)
    assert long_ids and btf.sizeof(long_ids[0]) == 8


def test_flavors_follow_libbpf_essential_names() -> None:
    names = ["task", "task___v1", "task___v1___v2", "task____x", "task___", "task___a_", "tas"]
    btf = BTF(encode([Struct(name=n, size=4) for n in names]))
    assert [essential(n) for n in names] == [
        "task",
        "task",
        "task___v1",
        "task____x",
        "task___",
        "task",
        "tas",
    ]
    assert btf.find_flavors("task") == [1, 2, 6]
    assert btf.find_flavors("task___v1") == [2, 3]
    assert btf.find_flavors("task", Kind.UNION) == []


@pytest.mark.parametrize("obj", ["core.el.v3.o", "btf_kinds.eb.v3.o"])
def test_hashed_index_gives_the_same_answers(obj: str) -> None:
    scanning = BTF.from_path(str(OBJ / obj))
    hashed = BTF.from_path(str(OBJ / obj))
    hashed.index_names()
    assert hashed.names.hashed is not None
    for name in brute_force(scanning):
        assert hashed.find(name) == scanning.find(name), name
        assert hashed.find_flavors(essential(name)) == scanning.find_flavors(essential(name))
    assert hashed.find("no_such_type") == []


def test_hashed_index_on_split_btf() -> None:
    base = BTF.from_path(str(BTFDATA / "split_base.btf"))
    mod = BTF.from_path(str(BTFDATA / "split_mod.btf"), base=base)
    mod.index_names()
    base.index_names()
    for name, ids in brute_force(mod).items():
        assert mod.find(name) == ids


def test_many_lookups_build_the_hashed_index_by_themselves() -> None:
    btf = BTF.from_path(str(OBJ / "btf_kinds.el.v3.o"))
    seen = []
    btf.on_index_names = seen.append
    for name in sorted(brute_force(btf))[:40]:
        btf.find(name)
    assert btf.names.hashed is not None and seen == [btf]
