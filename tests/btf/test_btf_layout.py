"""Sizes, alignments and member walks: equal to libbpf's for every type of every fixture."""

from __future__ import annotations

from pathlib import Path

import pytest

from pybpf.btf import BTF, Kind, Member, Struct, Union
from pybpf.btf.layout import align_of, resolve_size
from pybpf.errors import BTFError
from tests.btf.btfutil import BTFDATA, Libbpf, vmlinux
from tests.conftest import OBJ, fixture_objects

FILES = [
    *fixture_objects("*.el.v3.o"),
    *sorted(BTFDATA.glob("layout.*.o")),
    *sorted(BTFDATA.glob("synthetic.*.btf")),
]


def _compare(path: Path, btf: BTF) -> None:
    expected = Libbpf().sizes_and_alignments(path)
    assert len(expected) == len(btf) - 1
    for type_id, (size, align) in enumerate(expected, start=1):
        assert resolve_size(btf, type_id) == (size if size >= 0 else -1), type_id
        assert align_of(btf, type_id) == max(align, 0), type_id


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.name)
def test_sizes_and_alignments_match_libbpf(path: Path) -> None:
    _compare(path, BTF.from_path(str(path)))


@pytest.mark.tool
def test_vmlinux_sizes_and_alignments_match_libbpf() -> None:
    path = vmlinux()
    _compare(path, BTF.from_path(str(path)))


@pytest.fixture(scope="module")
def kinds() -> BTF:
    return BTF.from_path(str(OBJ / "btf_kinds.el.v3.o"))


def test_public_helpers_raise_for_unsized_types(kinds: BTF) -> None:
    fwd = kinds.find_by_name_kind("never_defined", Kind.FWD)
    func = kinds.find_by_name_kind("visit", Kind.FUNC)
    assert fwd and func
    for type_id in (0, fwd, func):
        with pytest.raises(BTFError, match="no size"):
            kinds.sizeof(type_id)
        with pytest.raises(BTFError, match="no alignment"):
            kinds.alignof(type_id)
    with pytest.raises(KeyError):
        kinds.sizeof(len(kinds))


def test_pointer_size(kinds: BTF) -> None:
    assert kinds.pointer_size == 8  # ELF64
    raw = BTF(kinds.data)  # the same blob without its ELF file: guessed from `long`
    assert raw.pointer_size == 8


def test_skip_mods_and_typedefs(kinds: BTF) -> None:
    counter = kinds.find_by_name_kind("counter_t", Kind.TYPEDEF)
    assert counter
    type_id, t = kinds.skip_mods_and_typedefs(counter)  # counter_t -> u64_t -> unsigned long long
    assert kinds.name_of(type_id) == "unsigned long long" and t.kind is Kind.INT


def test_iter_members_absolute_offsets(kinds: BTF) -> None:
    node = kinds.find_by_name_kind("node", Kind.STRUCT)
    assert node
    plain = {m.name: off for m, off in kinds.iter_members(node)}
    assert plain["matrix"] == 192 and "" in plain and "as_u32" not in plain
    flat = [(m.name, off) for m, off in kinds.iter_members(node, flatten=True)]
    names = [name for name, _ in flat]
    assert ("as_u32", 384) in flat and ("as_bytes", 384) in flat and "" not in names
    assert ("point", 416) in flat  # a named struct member is not flattened


def test_iter_members_nested_anonymous() -> None:
    from pybpf.btf import Int, IntEncoding, encode

    data = encode(
        [
            Int(name="int", size=4, encoding=IntEncoding.SIGNED, nr_bits=32),
            Struct(name="", size=8, members=(Member("a", 1, 0), Member("b", 1, 32))),
            Union(name="", size=8, members=(Member("", 2, 0), Member("c", 1, 0))),
            Struct(name="outer", size=16, members=(Member("x", 1, 0), Member("", 3, 64))),
        ]
    )
    btf = BTF(data)
    flat = [(m.name, off) for m, off in btf.iter_members(4, flatten=True)]
    assert flat == [("x", 0), ("a", 64), ("b", 96), ("c", 64)]
    with pytest.raises(BTFError, match="not a struct or union"):
        list(btf.iter_members(1))
