"""BTF for kernels that lack newer kinds: libbpf's ``bpf_object__sanitize_btf``.

Each kind the running kernel's ``BPF_BTF_LOAD`` refuses is swapped for one it takes, keeping
every type id (func_info, map key/value types and CO-RE records refer to them)::

    missing feature   replaced                           by
    ---------------   --------------------------------   -----------------------------------
    datasec           VAR                                INT, 1 byte, 8 bits
                      DATASEC                            STRUCT (members: the variables,
                                                         '.' and '?' in its name -> '_')
    decl_tag          DECL_TAG                           INT, 1 byte, 8 bits
    qmark_datasec     DATASEC named "?..."               "_..."
    func              FUNC_PROTO                         ENUM (same vlen, size 4)
                      FUNC                               TYPEDEF
    func_global       global FUNC                        static FUNC
    float             FLOAT                              anonymous empty STRUCT, same size
    type_tag          TYPE_TAG                           anonymous CONST
    enum64            ENUM with signed values (kflag)    the same ENUM, kflag cleared
                      ENUM64                             UNION of ``enum64_placeholder``
                                                         (an INT appended at the end)

The answers come from :mod:`pybpf.features` BTF probes, asked only for the kinds the blob
uses; tests pass ``missing`` explicitly.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping

from pybpf._records import replace
from pybpf.btf._btf import BTF
from pybpf.btf.encode import encode
from pybpf.btf.kinds import FuncLinkage
from pybpf.btf.kinds import Kind as BTFKind
from pybpf.btf.types import (
    Const,
    Datasec,
    DeclTag,
    Enum,
    Enum64,
    EnumValue,
    Float,
    Func,
    FuncProto,
    Int,
    Member,
    Struct,
    Type,
    Typedef,
    TypeTag,
    Union,
    Var,
)
from pybpf.errors import BTFError, Location
from pybpf.features import Feature, btf_kind, have
from pybpf.features._core import conclude
from pybpf.features.btf import load_raw_btf
from pybpf.features.rawbtf import Kind, blob, int_type, type_record, u32s

__all__ = ["QMARK_DATASEC", "missing_kinds", "sanitized", "sanitized_types"]

_PLACEHOLDER = "enum64_placeholder"


def _qmark_datasec() -> bool:
    """libbpf's ``probe_kern_btf_qmark_datasec``: a DATASEC called ``?.data``."""
    types = (
        int_type(0, 4)
        + type_record(1, Kind.VAR, 0, 1)
        + u32s(0)
        + type_record(3, Kind.DATASEC, 1, 4)
        + u32s(2, 0, 4)
    )
    return conclude(load_raw_btf(blob(types, b"\0x\0?.data\0")), "BPF_BTF_LOAD")


QMARK_DATASEC = Feature("btf_kind qmark_datasec", "6.7", _qmark_datasec, "btf_kind")
"""The kernel takes DATASECs whose name starts with ``?`` (``SEC("?.struct_ops")``)."""


_BY_KIND = {
    BTFKind.VAR: "datasec",
    BTFKind.FUNC_PROTO: "func",
    BTFKind.FLOAT: "float",
    BTFKind.DECL_TAG: "decl_tag",
    BTFKind.TYPE_TAG: "type_tag",
    BTFKind.ENUM64: "enum64",
}


def _uses(btf: BTF, fixed: Mapping[int, Type]) -> set[str]:
    """The sanitisable features this blob relies on (only FUNC, DATASEC and ENUM records
    are decoded: the kind tells the rest)."""
    used: set[str] = set()
    kind_of = btf.kind_of
    for type_id in range(btf.start_id, len(btf)):
        kind = kind_of(type_id)
        if kind in _BY_KIND:
            used.add(_BY_KIND[kind])
        elif kind in (BTFKind.FUNC, BTFKind.DATASEC, BTFKind.ENUM):
            t = fixed.get(type_id)
            _decoded_uses(btf[type_id] if t is None else t, used)
    return used


def _decoded_uses(t: Type, used: set[str]) -> None:
    if isinstance(t, Datasec):
        used.add("datasec")
        if t.name.startswith("?"):
            used.add("qmark_datasec")
    elif isinstance(t, Func):
        used.add("func")
        if t.linkage == FuncLinkage.GLOBAL:
            used.add("func_global")
    elif isinstance(t, Enum) and t.signed:
        used.add("enum64")


def missing_kinds(btf: BTF, fixed: Mapping[int, Type] | None = None) -> frozenset[str]:
    """The features this blob uses that the running kernel's BTF loader lacks.

    Raises:
        SyscallError: a probe was inconclusive (EPERM …).
    """
    out = set()
    for name in _uses(btf, fixed or {}):
        feature = QMARK_DATASEC if name == "qmark_datasec" else btf_kind(name)
        if not have(feature):
            out.add(name)
    return frozenset(out)


def _var_like(t: Var | DeclTag) -> Int:
    """libbpf keeps the name and makes it a 1-byte, 8-bit integer."""
    return Int(name=t.name, size=1, nr_bits=8)


def _datasec(btf: BTF, t: Datasec, types: Mapping[int, Type]) -> Struct:
    name = t.name.replace(".", "_").replace("?", "_")
    members = tuple(
        Member(types[v.type].name if v.type in types else btf.name_of(v.type), v.type, v.offset * 8)
        for v in t.vars
    )
    return Struct(name=name, size=t.size, members=members)


def _one(t: Type, missing: Collection[str], placeholder: int) -> Type:
    """The replacement of one type (``t`` itself when nothing is missing for it)."""
    if isinstance(t, (Var, DeclTag)):
        drop = "datasec" if isinstance(t, Var) else "decl_tag"
        return _var_like(t) if drop in missing else t
    if isinstance(t, Datasec):
        if "qmark_datasec" in missing and "datasec" not in missing and t.name.startswith("?"):
            return replace(t, name="_" + t.name[1:])
        return t
    if isinstance(t, FuncProto) and "func" in missing:
        values = tuple(EnumValue(p.name, p.type) for p in t.params)
        return Enum(name=t.name, size=4, values=values)
    if isinstance(t, Func):
        if "func" in missing:
            return Typedef(name=t.name, type=t.type)
        if "func_global" in missing and t.linkage == FuncLinkage.GLOBAL:
            return replace(t, linkage=FuncLinkage.STATIC)
        return t
    return _data_kind(t, missing, placeholder)


def _data_kind(t: Type, missing: Collection[str], placeholder: int) -> Type:
    if isinstance(t, Float) and "float" in missing:
        return Struct(name="", size=t.size)
    if isinstance(t, TypeTag) and "type_tag" in missing:
        return Const(name="", type=t.type)
    if isinstance(t, Enum) and t.signed and "enum64" in missing:
        mask = (1 << (8 * t.size)) - 1  # the same bits, read unsigned
        values = tuple(EnumValue(v.name, v.value & mask) for v in t.values)
        return replace(t, signed=False, values=values)
    if isinstance(t, Enum64) and "enum64" in missing:
        members = tuple(Member(v.name, placeholder, 0) for v in t.values)
        return Union(name=t.name, size=t.size, members=members)
    return t


def sanitized_types(btf: BTF, fixed: Mapping[int, Type], missing: Collection[str]) -> list[Type]:
    """The blob's own types, ``fixed`` applied, then sanitised for ``missing`` features
    (with ``enum64_placeholder`` appended when an ENUM64 had to go)."""
    types = {i: fixed.get(i, t) for i, t in btf.iter_types()}
    placeholder = btf.start_id + len(types)
    out: list[Type] = []
    for t in types.values():
        if isinstance(t, Datasec) and "datasec" in missing:
            out.append(_datasec(btf, t, types))
        else:
            out.append(_one(t, missing, placeholder))
    if "enum64" in missing and any(isinstance(t, Enum64) for t in types.values()):
        out.append(Int(name=_PLACEHOLDER, size=1, nr_bits=8))
    return out


def sanitized(btf: BTF, fixed: Mapping[int, Type], missing: Collection[str]) -> bytes:
    """The raw BTF to load: ``fixed`` applied and sanitised for ``missing`` features.

    Raises:
        BTFError: a type that BTF cannot hold (a field out of range in a corrupted object).
    """
    types = sanitized_types(btf, fixed, missing)
    try:
        return encode(types, byteorder=btf.byteorder, base=btf.base, strings=btf.strings)
    except ValueError as exc:
        raise BTFError(f"cannot encode the object's BTF: {exc}", Location(btf.source)) from None
