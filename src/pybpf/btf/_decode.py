"""Decoding one type record (native-order u32 words) into a :mod:`pybpf.btf.types` value.

Every referenced type id is checked against the number of types and every name offset against
the string sections, so a decoded type never points outside its BTF; a bad one raises
:class:`~pybpf.errors.BTFError` with the byte offset of the offending word.
"""

from __future__ import annotations

from collections.abc import Callable

from pybpf._util import s32, s64
from pybpf.btf._index import Words
from pybpf.btf.kinds import FuncLinkage, IntEncoding, VarLinkage
from pybpf.btf.types import (
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
    Member,
    Param,
    Ptr,
    Restrict,
    Struct,
    Type,
    Typedef,
    TypeTag,
    Union,
    Var,
    VarSecinfo,
    Volatile,
)
from pybpf.errors import BTFError, Location

__all__ = ["Decoder"]

_FUNC_LINKAGE = {m.value: m for m in FuncLinkage}
_VAR_LINKAGE = {m.value: m for m in VarLinkage}


class Decoder:
    """Decodes records of one BTF's type section.

    Args:
        words: the type section as native u32 words.
        types_start: byte offset of the type section in the blob (for error locations).
        type_count: number of valid type ids (referenced ids must be below it).
        string: ``string(offset)`` -> the name, raising ``KeyError`` for a bad offset.
        source: names the section or file in errors.
    """

    def __init__(
        self,
        words: Words,
        types_start: int,
        type_count: int,
        string: Callable[[int], str],
        source: str | None,
    ) -> None:
        self.words = words
        self.types_start = types_start
        self.type_count = type_count
        self.string = string
        self.source = source

    def error(self, reason: str, word: int) -> BTFError:
        return BTFError(reason, Location(self.source, offset=self.types_start + 4 * word))

    def name(self, word: int) -> str:
        """The string whose offset is the word at index ``word``."""
        off = self.words[word]
        try:
            return self.string(off)
        except KeyError:
            raise self.error(f"name offset {off:#x} is outside the string section", word) from None

    def ref(self, word: int, type_id: int) -> int:
        """The type id in word ``word``, checked to exist."""
        ref = self.words[word]
        if ref >= self.type_count:
            raise self.error(
                f"type [{type_id}] refers to type {ref}, beyond the last ({self.type_count - 1})",
                word,
            )
        return ref

    def decode(self, o: int, type_id: int) -> Type:
        """Decode the record at word index ``o``, whose id is ``type_id``."""
        info = self.words[o + 1]
        return _DECODERS[(info >> 24) & 0x1F](self, o, type_id, info)

    def items(self, o: int, per_item: int, vlen: int) -> list[int]:
        start = o + 3
        return list(self.words[start : start + per_item * vlen])


def _int(d: Decoder, o: int, tid: int, info: int) -> Type:
    w = d.words
    v = w[o + 3]
    return Int(
        name=d.name(o),
        size=w[o + 2],
        encoding=IntEncoding((v >> 24) & 0x0F),
        bits_offset=(v >> 16) & 0xFF,
        nr_bits=v & 0xFF,
    )


def _ptr(d: Decoder, o: int, tid: int, info: int) -> Type:
    return Ptr(name=d.name(o), type=d.ref(o + 2, tid))


def _typedef(d: Decoder, o: int, tid: int, info: int) -> Type:
    return Typedef(name=d.name(o), type=d.ref(o + 2, tid))


def _volatile(d: Decoder, o: int, tid: int, info: int) -> Type:
    return Volatile(name=d.name(o), type=d.ref(o + 2, tid))


def _const(d: Decoder, o: int, tid: int, info: int) -> Type:
    return Const(name=d.name(o), type=d.ref(o + 2, tid))


def _restrict(d: Decoder, o: int, tid: int, info: int) -> Type:
    return Restrict(name=d.name(o), type=d.ref(o + 2, tid))


def _type_tag(d: Decoder, o: int, tid: int, info: int) -> Type:
    return TypeTag(name=d.name(o), type=d.ref(o + 2, tid), kflag=bool(info >> 31))


def _array(d: Decoder, o: int, tid: int, info: int) -> Type:
    return Array(
        name=d.name(o), type=d.ref(o + 3, tid), index_type=d.ref(o + 4, tid), nelems=d.words[o + 5]
    )


def _members(d: Decoder, o: int, tid: int, info: int) -> tuple[Member, ...]:
    raw = d.items(o, 3, info & 0xFFFF)
    count, string = d.type_count, d.string
    kflag = info >> 31
    out = []
    for i in range(0, len(raw), 3):
        name_off, mtype, off = raw[i], raw[i + 1], raw[i + 2]
        if mtype >= count:
            d.ref(o + 4 + i, tid)
        try:
            name = string(name_off)
        except KeyError:
            name = d.name(o + 3 + i)
        if kflag:
            out.append(Member(name, mtype, off & 0xFFFFFF, off >> 24))
        else:
            out.append(Member(name, mtype, off))
    return tuple(out)


def _struct(d: Decoder, o: int, tid: int, info: int) -> Type:
    members = _members(d, o, tid, info)
    return Struct(name=d.name(o), size=d.words[o + 2], members=members, kflag=bool(info >> 31))


def _union(d: Decoder, o: int, tid: int, info: int) -> Type:
    members = _members(d, o, tid, info)
    return Union(name=d.name(o), size=d.words[o + 2], members=members, kflag=bool(info >> 31))


def _enum(d: Decoder, o: int, tid: int, info: int) -> Type:
    raw = d.items(o, 2, info & 0xFFFF)
    signed = bool(info >> 31)
    values = []
    for i in range(0, len(raw), 2):
        val = raw[i + 1]
        values.append(EnumValue(d.name(o + 3 + i), s32(val) if signed else val))
    return Enum(name=d.name(o), size=d.words[o + 2], values=tuple(values), signed=signed)


def _enum64(d: Decoder, o: int, tid: int, info: int) -> Type:
    raw = d.items(o, 3, info & 0xFFFF)
    signed = bool(info >> 31)
    values = []
    for i in range(0, len(raw), 3):
        val = raw[i + 1] | (raw[i + 2] << 32)
        values.append(EnumValue(d.name(o + 3 + i), s64(val) if signed else val))
    return Enum64(name=d.name(o), size=d.words[o + 2], values=tuple(values), signed=signed)


def _fwd(d: Decoder, o: int, tid: int, info: int) -> Type:
    return Fwd(name=d.name(o), is_union=bool(info >> 31))


def _func(d: Decoder, o: int, tid: int, info: int) -> Type:
    link = info & 0xFFFF
    return Func(name=d.name(o), type=d.ref(o + 2, tid), linkage=_FUNC_LINKAGE.get(link, link))


def _func_proto(d: Decoder, o: int, tid: int, info: int) -> Type:
    raw = d.items(o, 2, info & 0xFFFF)
    params = []
    for i in range(0, len(raw), 2):
        if raw[i + 1] >= d.type_count:
            d.ref(o + 4 + i, tid)
        params.append(Param(d.name(o + 3 + i), raw[i + 1]))
    return FuncProto(name=d.name(o), type=d.ref(o + 2, tid), params=tuple(params))


def _var(d: Decoder, o: int, tid: int, info: int) -> Type:
    link = d.words[o + 3]
    return Var(name=d.name(o), type=d.ref(o + 2, tid), linkage=_VAR_LINKAGE.get(link, link))


def _datasec(d: Decoder, o: int, tid: int, info: int) -> Type:
    raw = d.items(o, 3, info & 0xFFFF)
    entries = []
    for i in range(0, len(raw), 3):
        if raw[i] >= d.type_count:
            d.ref(o + 3 + i, tid)
        entries.append(VarSecinfo(raw[i], raw[i + 1], raw[i + 2]))
    return Datasec(name=d.name(o), size=d.words[o + 2], vars=tuple(entries))


def _float(d: Decoder, o: int, tid: int, info: int) -> Type:
    return Float(name=d.name(o), size=d.words[o + 2])


def _decl_tag(d: Decoder, o: int, tid: int, info: int) -> Type:
    return DeclTag(name=d.name(o), type=d.ref(o + 2, tid), component_idx=s32(d.words[o + 3]))


def _unknown(d: Decoder, o: int, tid: int, info: int) -> Type:
    raise d.error(f"type [{tid}] has unknown kind {(info >> 24) & 0x1F}", o + 1)


_Decode = Callable[[Decoder, int, int, int], Type]
_DECODERS: list[_Decode] = [
    _unknown,
    _int,
    _ptr,
    _array,
    _struct,
    _union,
    _enum,
    _fwd,
    _typedef,
    _volatile,
    _const,
    _restrict,
    _func,
    _func_proto,
    _var,
    _datasec,
    _float,
    _decl_tag,
    _type_tag,
    _enum64,
    *([_unknown] * 12),
]
