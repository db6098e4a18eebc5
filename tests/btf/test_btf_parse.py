"""Parsing BTF: every kind's fields, both byte orders, split BTF, laziness, bad headers."""

from __future__ import annotations

import struct
from pathlib import Path

import pytest

from pybpf.btf import (
    BTF,
    VOID,
    Array,
    Const,
    Datasec,
    DeclTag,
    Enum,
    Enum64,
    EnumValue,
    Float,
    Func,
    FuncLinkage,
    FuncProto,
    Fwd,
    Int,
    IntEncoding,
    Kind,
    Member,
    Param,
    Ptr,
    Restrict,
    Struct,
    TypeTag,
    Union,
    Var,
    VarLinkage,
    Volatile,
    encode,
    load_kernel_btf,
)
from pybpf.errors import BTFError
from tests.btf.btfutil import BTFDATA
from tests.conftest import OBJ

KINDS_EL = OBJ / "btf_kinds.el.v3.o"
KINDS_EB = OBJ / "btf_kinds.eb.v3.o"


@pytest.fixture(scope="module")
def kinds() -> BTF:
    return BTF.from_path(str(KINDS_EL))


def one(btf: BTF, name: str, kind: Kind) -> int:
    (type_id,) = btf.find(name, kind)
    return type_id


# -- every kind, as clang wrote it (tests/testdata/src/btf_kinds.bpf.c) ------------------------
def test_every_kind_is_present(kinds: BTF) -> None:
    seen = {t.kind for _, t in kinds.iter_types()}
    assert seen == set(Kind) - {Kind.UNKN}


def test_struct_members_and_bitfields(kinds: BTF) -> None:
    bits = kinds[one(kinds, "bits", Kind.STRUCT)]
    assert isinstance(bits, Struct) and bits.kflag and bits.size == 16
    assert [(m.name, m.bit_offset, m.bitfield_size) for m in bits.members] == [
        ("a", 0, 3),
        ("b", 3, 5),
        ("c", 8, 7),
        ("d", 64, 33),
        ("flag", 97, 1),
    ]
    node = kinds[one(kinds, "node", Kind.STRUCT)]
    assert isinstance(node, Struct) and not node.kflag
    assert node.members[4] == Member("", node.members[4].type, 384)  # the anonymous union
    assert isinstance(kinds[node.members[4].type], Union)


@pytest.mark.parametrize(
    ("name", "kind", "signed", "values"),
    [
        ("color", Kind.ENUM, False, [("RED", 0), ("GREEN", 5), ("BLUE", 6)]),
        ("signed_values", Kind.ENUM, True, [("NEG", -3), ("ZERO", 0), ("POS", 3)]),
        ("wide", Kind.ENUM64, False, [("WIDE_SMALL", 1), ("WIDE_BIG", 0x123456789ABC)]),
        ("wide_signed", Kind.ENUM64, True, [("WIDE_NEG", -(1 << 32)), ("WIDE_ONE", 1)]),
    ],
)
def test_enum_values_signed_per_kflag(
    kinds: BTF, name: str, kind: Kind, signed: bool, values: list[tuple[str, int]]
) -> None:
    t = kinds[one(kinds, name, kind)]
    assert isinstance(t, Enum | Enum64)
    assert t.signed is signed
    assert [(v.name, v.value) for v in t.values] == values


def test_references_modifiers_and_tags(kinds: BTF) -> None:
    node = kinds[one(kinds, "node", Kind.STRUCT)]
    assert isinstance(node, Struct)
    cv = {m.name: m.type for m in node.members}["cv"]
    ptr = kinds[cv]
    assert isinstance(ptr, Ptr)
    const = kinds[ptr.type]
    assert isinstance(const, Const) and isinstance(kinds[const.type], Volatile)
    tagged = kinds[{m.name: m.type for m in node.members}["tagged_twice"]]
    assert isinstance(tagged, Ptr)
    outer = kinds[tagged.type]
    assert isinstance(outer, TypeTag) and outer.name == "user"
    inner = kinds[outer.type]
    assert isinstance(inner, TypeTag) and inner.name == "percpu"
    assert any(isinstance(t, Restrict) for _, t in kinds.iter_types())


def test_decl_tags_component_idx(kinds: BTF) -> None:
    tags = {t.name: t for _, t in kinds.iter_types() if isinstance(t, DeclTag)}
    node, visit = one(kinds, "node", Kind.STRUCT), one(kinds, "visit", Kind.FUNC)
    assert tags["node_struct"] == DeclTag(name="node_struct", type=node, component_idx=-1)
    assert tags["counter"] == DeclTag(name="counter", type=node, component_idx=16)
    assert tags["param_tag"] == DeclTag(name="param_tag", type=visit, component_idx=0)
    assert tags["func_tag"].component_idx == -1


def test_funcs_vars_datasecs(kinds: BTF) -> None:
    visit = kinds[one(kinds, "visit", Kind.FUNC)]
    assert isinstance(visit, Func) and visit.linkage is FuncLinkage.STATIC
    proto = kinds[visit.type]
    assert isinstance(proto, FuncProto)
    assert [p.name for p in proto.params] == ["n", "depth"]
    root = kinds[one(kinds, "root", Kind.VAR)]
    assert isinstance(root, Var) and root.linkage is VarLinkage.GLOBAL_ALLOCATED
    data = kinds[one(kinds, ".data", Kind.DATASEC)]
    assert isinstance(data, Datasec) and data.vars
    assert all(kinds.kind_of(v.type) is Kind.VAR for v in data.vars)
    assert any(v.type == one(kinds, "root", Kind.VAR) for v in data.vars)


def test_ints_floats_arrays_fwds(kinds: BTF) -> None:
    assert kinds[one(kinds, "_Bool", Kind.INT)] == Int(
        name="_Bool", size=1, encoding=IntEncoding.BOOL, nr_bits=8
    )
    assert kinds[one(kinds, "double", Kind.FLOAT)] == Float(name="double", size=8)
    fwd = kinds[one(kinds, "never_defined_union", Kind.FWD)]
    assert fwd == Fwd(name="never_defined_union", is_union=True)
    node = kinds[one(kinds, "node", Kind.STRUCT)]
    assert isinstance(node, Struct)
    matrix = kinds[{m.name: m.type for m in node.members}["matrix"]]
    assert isinstance(matrix, Array) and matrix.nelems == 2
    inner = kinds[matrix.type]
    assert isinstance(inner, Array) and inner.nelems == 3


def test_void_and_missing_ids(kinds: BTF) -> None:
    assert kinds[0] is VOID and kinds.kind_of(0) is Kind.UNKN and kinds.name_of(0) == ""
    for bad in (-1, len(kinds), len(kinds) + 100):
        with pytest.raises(KeyError):
            kinds[bad]
        assert kinds.get(bad) is None
        assert bad not in kinds


def test_big_endian_object_has_the_same_types() -> None:
    el, eb = BTF.from_path(str(KINDS_EL)), BTF.from_path(str(KINDS_EB))
    assert (el.byteorder, eb.byteorder) == ("little", "big")
    assert [t for _, t in el.iter_types()] == [t for _, t in eb.iter_types()]


def test_name_and_kind_without_decoding(kinds: BTF) -> None:
    fresh = BTF(kinds.data)
    node = one(kinds, "node", Kind.STRUCT)
    assert fresh.kind_of(node) is Kind.STRUCT and fresh.name_of(node) == "node"
    assert fresh._types == {}
    fresh[node]
    assert list(fresh._types) == [node]


# -- split BTF -------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def split() -> tuple[BTF, BTF]:
    base = BTF.from_path(str(BTFDATA / "split_base.btf"))
    return base, BTF.from_path(str(BTFDATA / "split_mod.btf"), base=base)


def test_split_ids_continue_after_the_base(split: tuple[BTF, BTF]) -> None:
    base, mod = split
    assert mod.start_id == len(base) == 6
    assert len(mod) == 17
    assert [i for i, _ in mod.iter_types()] == list(range(6, 17))
    assert [i for i, _ in mod.iter_types(include_base=True)] == list(range(1, 17))
    assert mod[4] is base[4]  # base ids resolve in the base
    assert mod.kind_of(4) is Kind.STRUCT and mod.name_of(4) == "task_struct"


def test_split_names_come_from_both_string_sections(split: tuple[BTF, BTF]) -> None:
    base, mod = split
    ctx = mod[8]
    assert isinstance(ctx, Struct) and ctx.name == "mod_ctx"
    assert [m.name for m in ctx.members] == ["task", "pid", "flags", "next"]
    assert mod.name_of(16) == "task_struct"  # libbpf reused the base's string
    assert mod.find("task_struct") == [4, 16]
    assert mod.find("task_struct", Kind.STRUCT) == [4]
    assert mod.find_by_name_kind("mod_ctx", Kind.STRUCT) == 8
    assert base.find("mod_ctx") == []


def test_empty_split_btf_has_no_types(split: tuple[BTF, BTF]) -> None:
    base, _ = split
    empty = BTF.from_path(str(BTFDATA / "split_empty.btf"), base=base)
    assert len(empty) == len(base) and list(empty.iter_types()) == []


def test_broken_split_btf_is_a_btf_error(split: tuple[BTF, BTF]) -> None:
    base, _ = split
    with pytest.raises(BTFError) as info:
        BTF.from_path(str(BTFDATA / "split_broken.btf"), base=base)
    assert "split_broken.btf" in str(info.value) and info.value.location.offset is not None


# -- bad input -------------------------------------------------------------------------------
def _blob(
    types: bytes = b"",
    strings: bytes = b"\0int\0",
    *,
    magic: int = 0xEB9F,
    version: int = 1,
    hdr_len: int = 24,
    type_off: int = 0,
    type_len: int | None = None,
    str_off: int | None = None,
    str_len: int | None = None,
    pad: bytes = b"",
) -> bytes:
    tl = len(types) if type_len is None else type_len
    so = len(types) if str_off is None else str_off
    sl = len(strings) if str_len is None else str_len
    head = struct.pack("<HBBIIIII", magic, version, 0, hdr_len, type_off, tl, so, sl)
    return head + pad + types + strings


_INT = struct.pack("<IIII", 1, 1 << 24, 4, 32 | (1 << 24))


@pytest.mark.parametrize(
    ("data", "offset", "message"),
    [
        (b"\x9f\xeb\x01\x00", 0, "truncated header"),
        (_blob(magic=0x1234), 0, "bad magic"),
        (_blob(version=2), 2, "unsupported version"),
        (_blob(hdr_len=16), 4, "header length"),
        (_blob(hdr_len=4096), 4, "header length"),
        (_blob(_INT, str_len=1 << 31), 40, "string section"),
        (_blob(_INT, type_len=1 << 30), 24, "overlaps the string section"),
        (_blob(_INT, type_off=2, str_off=18, pad=b"\0\0"), 26, "not 4-byte aligned"),
        (_blob(_INT, strings=b"\0int"), 40, "does not end with NUL"),
        (_blob(_INT, strings=b"x\0"), 40, "does not start with an empty string"),
        (_blob(_INT, strings=b""), 40, "empty"),
        (_blob(_INT[:12]), 24, "runs past the end"),
        (_blob(_INT + b"\0\0\0\0"), 40, "type [2] runs past the end"),
        (_blob(struct.pack("<III", 0, 25 << 24, 0)), 28, "unknown kind 25"),
        (_blob(struct.pack("<III", 0, 0, 0)), 28, "unknown kind 0"),
        (_blob(struct.pack("<III", 0, (4 << 24) | 1000, 4)), 24, "runs past the end"),
    ],
)
def test_bad_headers_and_sections(data: bytes, offset: int, message: str) -> None:
    with pytest.raises(BTFError) as info:
        BTF(data, name="blob")
    assert message in str(info.value)
    assert info.value.location.source == "blob"
    assert info.value.location.offset == offset


@pytest.mark.parametrize(
    ("types", "message"),
    [
        (struct.pack("<III", 0, 2 << 24, 7), "refers to type 7"),  # PTR beyond the end
        (struct.pack("<III", 99, 2 << 24, 0), "name offset 0x63"),  # name outside strings
        (struct.pack("<IIIIII", 0, (4 << 24) | 1, 4, 0, 9, 0), "refers to type 9"),  # member
        (struct.pack("<IIIII", 0, (13 << 24) | 1, 0, 0, 5), "refers to type 5"),  # param
        (struct.pack("<IIIIII", 0, 3 << 24, 0, 1, 1, 1), "refers to type 1"),  # array of self?
    ],
)
def test_bad_references_raise_on_access(types: bytes, message: str) -> None:
    btf = BTF(_blob(types), name="blob")  # the index pass does not decode
    if "type 1" in message:  # an array of itself is legal BTF (refers to id 1, which exists)
        assert isinstance(btf[1], Array)
        return
    with pytest.raises(BTFError) as info:
        btf.validate()
    assert message in str(info.value)
    assert info.value.location.offset is not None and info.value.location.offset >= 24


def test_modifier_loop_is_an_error_not_a_hang() -> None:
    loop = encode([Const(type=2), Volatile(type=1), Ptr(type=1)])
    btf = BTF(loop)
    with pytest.raises(BTFError, match="loops"):
        btf.skip_mods_and_typedefs(1)
    with pytest.raises(BTFError):
        btf.sizeof(3 - 2)


def test_self_referencing_struct_is_fine() -> None:
    data = encode(
        [
            Struct(name="list", size=8, members=(Member("next", 2, 0),)),
            Ptr(type=1),
        ]
    )
    btf = BTF(data)
    assert btf.sizeof(1) == 8 and btf.alignof(1) == 8
    assert btf.skip_mods_and_typedefs(2) == (2, Ptr(type=1))


def test_func_proto_params_and_vararg() -> None:
    btf = BTF(
        encode(
            [
                Int(name="int", size=4, encoding=IntEncoding.SIGNED, nr_bits=32),
                FuncProto(type=1, params=(Param("fmt", 1), Param("", 0))),
            ]
        )
    )
    assert btf[2] == FuncProto(type=1, params=(Param("fmt", 1), Param("", 0)))


def test_odd_strings_survive(tmp_path: object) -> None:
    weird = "caf\udce9"  # an undecodable byte kept as a surrogate
    btf = BTF(encode([Enum(name=weird, size=4, values=(EnumValue("A", 1),))]))
    assert btf[1].name == weird
    assert btf.find(weird) == [1]


# -- the running kernel's BTF: a broken module is skipped, not fatal --------------------------
def test_load_kernel_btf_skips_broken_modules(tmp_path: Path) -> None:
    (tmp_path / "vmlinux").write_bytes((BTFDATA / "split_base.btf").read_bytes())
    (tmp_path / "good").write_bytes((BTFDATA / "split_mod.btf").read_bytes())
    (tmp_path / "no_types").write_bytes((BTFDATA / "split_empty.btf").read_bytes())
    (tmp_path / "broken").write_bytes((BTFDATA / "split_broken.btf").read_bytes())
    (tmp_path / "empty_file").write_bytes(b"")
    kernel = load_kernel_btf(tmp_path)
    assert sorted(kernel.modules) == ["good", "no_types"]
    assert sorted(kernel.errors) == ["broken", "empty_file"]
    assert all(isinstance(e, BTFError) for e in kernel.errors.values())
    assert kernel.modules["good"].find("mod_ctx") == [8]
    assert kernel.all()[0] is kernel.vmlinux
    assert load_kernel_btf(tmp_path, modules=False).modules == {}


def test_load_kernel_btf_needs_vmlinux(tmp_path: Path) -> None:
    with pytest.raises(OSError):
        load_kernel_btf(tmp_path)
    (tmp_path / "vmlinux").write_bytes(b"\x9f\xeb\x01\x00")
    with pytest.raises(BTFError):
        load_kernel_btf(tmp_path)
