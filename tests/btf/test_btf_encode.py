"""Encoding: byte-exact re-encoding of what clang and libbpf wrote, and decode == encode⁻¹."""

from __future__ import annotations

import subprocess
import tempfile
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pybpf.btf import (
    BTF,
    Array,
    Const,
    Datasec,
    DeclTag,
    Enum,
    Enum64,
    EnumValue,
    Float,
    Func,
    FuncProto,
    Fwd,
    Int,
    IntEncoding,
    Member,
    Param,
    Ptr,
    Restrict,
    StringTable,
    Struct,
    Type,
    Typedef,
    TypeTag,
    Union,
    Var,
    VarSecinfo,
    Void,
    Volatile,
    encode,
    format_raw,
)
from tests.btf.btfutil import BTFDATA
from tests.conftest import fixture_objects, tool

BLOBS = [*fixture_objects(), *sorted(BTFDATA.glob("layout.*.o"))]
RAW = sorted(BTFDATA.glob("synthetic.*.btf"))


@pytest.mark.parametrize("path", BLOBS + RAW, ids=lambda p: p.name)
def test_reencoding_is_byte_exact(path: Path) -> None:
    btf = BTF.from_path(str(path))
    assert btf.encode() == bytes(btf.data)


def test_split_btf_written_by_libbpf_reencodes_byte_exact() -> None:
    base = BTF.from_path(str(BTFDATA / "split_base.btf"))
    assert base.encode() == (BTFDATA / "split_base.btf").read_bytes()
    for name in ("split_mod.btf", "split_empty.btf"):
        mod = BTF.from_path(str(BTFDATA / name), base=base)
        assert mod.encode() == (BTFDATA / name).read_bytes()


def test_byte_order_conversion_round_trips() -> None:
    el = BTF.from_path(str(BTFDATA / "synthetic.el.btf"))
    assert el.encode("big") == (BTFDATA / "synthetic.eb.btf").read_bytes()


# -- property: any list of valid types survives encode -> decode -----------------------------
names = st.sampled_from(["", "a", "int", "task_struct", "x___flavor", "caf\udce9", "ünï"])
u32 = st.integers(0, 0xFFFFFFFF)


def types_strategy(count: int) -> st.SearchStrategy[Type]:
    ref = st.integers(0, count)
    member = st.builds(Member, names, ref, st.integers(0, 0xFFFFFF), st.integers(0, 255))
    plain_member = st.builds(Member, names, ref, u32)

    def composite(cls: type[Struct] | type[Union]) -> st.SearchStrategy[Type]:
        with_bits = st.builds(
            lambda n, s, m: cls(name=n, size=s, members=tuple(m), kflag=True),
            names,
            u32,
            st.lists(member, max_size=4),
        )
        without = st.builds(
            lambda n, s, m: cls(name=n, size=s, members=tuple(m)),
            names,
            u32,
            st.lists(plain_member, max_size=4),
        )
        return with_bits | without

    def enum(cls: type[Enum] | type[Enum64], bits: int) -> st.SearchStrategy[Type]:
        signed = st.builds(
            lambda n, v: cls(name=n, size=bits // 8, values=tuple(v), signed=True),
            names,
            st.lists(
                st.builds(EnumValue, names, st.integers(-(1 << (bits - 1)), (1 << (bits - 1)) - 1)),
                max_size=3,
            ),
        )
        unsigned = st.builds(
            lambda n, v: cls(name=n, size=bits // 8, values=tuple(v)),
            names,
            st.lists(st.builds(EnumValue, names, st.integers(0, (1 << bits) - 1)), max_size=3),
        )
        return signed | unsigned

    return st.one_of(
        st.builds(
            lambda n, s, e, o, b: Int(
                name=n, size=s, encoding=IntEncoding(e), bits_offset=o, nr_bits=b
            ),
            names,
            u32,
            st.integers(0, 15),
            st.integers(0, 255),
            st.integers(0, 255),
        ),
        *(
            st.builds(lambda n, r, c=c: c(name=n, type=r), names, ref)
            for c in (Ptr, Typedef, Volatile, Const, Restrict)
        ),
        st.builds(lambda n, r, k: TypeTag(name=n, type=r, kflag=k), names, ref, st.booleans()),
        st.builds(lambda t, i, e: Array(type=t, index_type=i, nelems=e), ref, ref, u32),
        composite(Struct),
        composite(Union),
        enum(Enum, 32),
        enum(Enum64, 64),
        st.builds(lambda n, u: Fwd(name=n, is_union=u), names, st.booleans()),
        st.builds(lambda n, r, k: Func(name=n, type=r, linkage=k), names, ref, st.integers(0, 3)),
        st.builds(
            lambda r, p: FuncProto(type=r, params=tuple(p)),
            ref,
            st.lists(st.builds(Param, names, ref), max_size=4),
        ),
        st.builds(lambda n, r, k: Var(name=n, type=r, linkage=k), names, ref, u32),
        st.builds(
            lambda n, s, v: Datasec(name=n, size=s, vars=tuple(v)),
            names,
            u32,
            st.lists(st.builds(VarSecinfo, ref, u32, u32), max_size=3),
        ),
        st.builds(lambda n, s: Float(name=n, size=s), names, u32),
        st.builds(
            lambda n, r, c: DeclTag(name=n, type=r, component_idx=c),
            names,
            ref,
            st.integers(-(1 << 31), (1 << 31) - 1),
        ),
    )


type_lists = st.integers(1, 12).flatmap(
    lambda n: st.lists(types_strategy(n), min_size=n, max_size=n)
)


@given(types=type_lists, order=st.sampled_from(["little", "big"]))
def test_decode_inverts_encode(types: list[Type], order: str) -> None:
    data = encode(types, byteorder=order)  # type: ignore[arg-type]
    btf = BTF(data)
    assert btf.byteorder == order
    assert [t for _, t in btf.iter_types()] == types
    assert btf.encode() == data
    format_raw(btf)  # every valid blob can be printed


def test_encode_refuses_what_does_not_fit() -> None:
    cases: list[Type] = [
        Void(),
        Int(name="i", size=4, nr_bits=300),
        Struct(name="s", size=4, members=(Member("m", 0, 1 << 24, 1),)),
        Enum(name="e", size=4, values=(EnumValue("v", 1 << 32),)),
        Enum(name="e", size=4, signed=True, values=(EnumValue("v", 1 << 31),)),
        Enum64(name="e", size=8, values=(EnumValue("v", -1),)),
        Ptr(type=-1),
        Struct(name="s", size=4, members=tuple(Member("m", 0, 0) for _ in range(0x10000))),
        DeclTag(name="d", type=1, component_idx=1 << 31),
    ]
    for t in cases:
        with pytest.raises(ValueError, match=r"type \[1\]"):
            encode([t])


def test_string_table_reuses_seed_and_base_strings() -> None:
    table = StringTable(b"\0int\0long\0")
    assert (table.add(""), table.add("int"), table.add("long")) == (0, 1, 5)
    assert table.add("new") == 10 and table.data == b"\0int\0long\0new\0"
    base = BTF.from_path(str(BTFDATA / "split_base.btf"))
    split = StringTable(base=base)
    assert split.add("task_struct") == base.strings.index(b"task_struct\0")
    assert split.add("mine") == base.strings_end and split.data == b"mine\0"


def test_replaced_swaps_types_and_keeps_ids() -> None:
    obj = fixture_objects("btf_kinds.el.v3.o")[0]
    btf = BTF.from_path(str(obj))
    tags = {i: t for i, t in btf.iter_types() if isinstance(t, DeclTag)}
    # What libbpf does for kernels without DECL_TAG: an anonymous 1-byte INT in its place.
    stand_in = Int(name="", size=1, nr_bits=8)
    clean = btf.replaced(dict.fromkeys(tags, stand_in))
    assert len(clean) == len(btf)
    for type_id, t in btf.iter_types():
        assert clean[type_id] == (stand_in if type_id in tags else t)
    with pytest.raises(KeyError):
        btf.replaced({len(btf): stand_in})


@pytest.mark.tool
def test_bpftool_reads_what_the_encoder_writes() -> None:
    obj = fixture_objects("btf_kinds.eb.v3.o")[0]
    btf = BTF.from_path(str(obj))
    for order in ("little", "big"):
        with tempfile.NamedTemporaryFile(suffix=".btf") as f:
            f.write(btf.encode(order))  # type: ignore[arg-type]
            f.flush()
            out = subprocess.run(
                [tool("bpftool"), "btf", "dump", "file", f.name], check=True, capture_output=True
            ).stdout.decode()
        assert out == format_raw(btf)
