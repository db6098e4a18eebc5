"""Encoding :mod:`pybpf.btf.types` values back into a BTF blob.

The encoder takes a list of types (their ids are their positions: the first is id 1, or the
first id after a base's), so a caller changes BTF by changing the list: replace the kinds an
older kernel lacks and encode again (see :meth:`pybpf.btf.BTF.replaced`). Names go into the
string section through a :class:`StringTable`; starting it from an existing section keeps
that section byte for byte, so re-encoding BTF that clang wrote gives the same bytes.

Record layouts are those of :data:`pybpf.btf.kinds.RECORD` (drawn there).
"""

from __future__ import annotations

import sys
from array import array
from collections.abc import Iterable
from itertools import accumulate

from pybpf.btf._btf import BTF
from pybpf.btf.kinds import BTF_MAGIC, BTF_VERSION, HEADER, MAX_VLEN, ByteOrder, Kind
from pybpf.btf.types import (
    Array,
    Composite,
    Datasec,
    DeclTag,
    EnumType,
    Float,
    Func,
    FuncProto,
    Fwd,
    Int,
    Ref,
    Type,
    TypeTag,
    Var,
)

__all__ = ["StringTable", "encode"]

_U32 = 0xFFFFFFFF


class StringTable:
    """A BTF string section being built: :meth:`add` returns a name's offset.

    Args:
        seed: an existing string section to start from, kept as it is (new strings are
            appended); by default ``b"\\0"`` (the empty string at offset 0), or nothing for a
            split BTF.
        base: for split BTF, the base whose strings are used when they hold the name (as
            libbpf does); offsets of this table then start after the base's strings.
    """

    def __init__(self, seed: bytes | None = None, *, base: BTF | None = None) -> None:
        self.base = base
        self.start = base.strings_end if base is not None else 0
        self._base_index = _chain_index(base) if base is not None else {}
        data = (b"" if base is not None else b"\0") if seed is None else bytes(seed)
        self._data = bytearray(data)
        self._index = _index_strings(data, self.start)
        if base is None:
            self._index.setdefault("", 0)

    def add(self, name: str) -> int:
        """The offset of ``name``, appending it if it is not there yet."""
        if not name and self.base is not None:
            return 0
        off = self._base_index.get(name)
        if off is None:
            off = self._index.get(name)
        if off is None:
            off = self.start + len(self._data)
            self._data += name.encode("utf-8", "surrogateescape") + b"\0"
            self._index[name] = off
        return off

    @property
    def data(self) -> bytes:
        """The string section as built so far."""
        return bytes(self._data)


def _chain_index(base: BTF) -> dict[str, int]:
    """The strings of a base (and of its own bases), each at its lowest offset."""
    index = _chain_index(base.base) if base.base is not None else {}
    for name, off in _index_strings(base.strings, base.start_str_off).items():
        index.setdefault(name, off)
    return index


def _index_strings(data: bytes, start: int) -> dict[str, int]:
    """Each string of a section mapped to its first offset (string starts only)."""
    parts = data.split(b"\0")
    if data.endswith(b"\0"):
        parts.pop()
    offsets = accumulate(map((1).__add__, map(len, parts)), initial=start)
    index: dict[str, int] = {}
    for part, off in zip(parts, offsets, strict=False):
        index.setdefault(part.decode("utf-8", "surrogateescape"), off)
    return index


def encode(
    types: Iterable[Type],
    *,
    byteorder: ByteOrder = "little",
    base: BTF | None = None,
    strings: StringTable | bytes | None = None,
) -> bytes:
    """Encode types into a BTF blob (header, type section, string section).

    Args:
        types: the types in id order, from id 1 (or, with ``base``, from ``len(base)``).
        byteorder: of the blob.
        base: encode split BTF on top of this base.
        strings: a :class:`StringTable` to add names to, or an existing string section to
            start one from.

    Raises:
        ValueError: a type that cannot be encoded (void; a field out of range; more than
            65535 members, enumerators, parameters or variables).
    """
    table = strings if isinstance(strings, StringTable) else StringTable(strings, base=base)
    first = len(base) if base is not None else 1
    words: list[int] = []
    for i, t in enumerate(types):
        try:
            _encode_type(t, table, words)
        except ValueError as exc:
            raise ValueError(f"type [{first + i}] ({t.kind.name}): {exc}") from None
    body = array("I", words)
    if byteorder != sys.byteorder:
        body.byteswap()
    type_bytes = body.tobytes()
    str_bytes = table.data
    header = HEADER[byteorder].pack(
        BTF_MAGIC, BTF_VERSION, 0, 24, 0, len(type_bytes), len(type_bytes), len(str_bytes)
    )
    return header + type_bytes + str_bytes


def _u32(value: int, what: str) -> int:
    if not 0 <= value <= _U32:
        raise ValueError(f"{what} {value} does not fit 32 bits")
    return value


def _info(kind: Kind, vlen: int, kflag: bool) -> int:
    if not 0 <= vlen <= MAX_VLEN:
        raise ValueError(f"{vlen} items; at most {MAX_VLEN} fit")
    return (int(kflag) << 31) | (kind << 24) | vlen


def _encode_type(t: Type, table: StringTable, out: list[int]) -> None:
    name = table.add(t.name)
    if isinstance(t, Composite):
        _encode_composite(t, name, table, out)
    elif isinstance(t, EnumType):
        _encode_enum(t, name, table, out)
    elif isinstance(t, FuncProto):
        out += (name, _info(t.kind, len(t.params), False), _u32(t.type, "type"))
        for p in t.params:
            out += (table.add(p.name), _u32(p.type, "type"))
    elif isinstance(t, Datasec):
        out += (name, _info(t.kind, len(t.vars), False), _u32(t.size, "size"))
        for v in t.vars:
            out += (_u32(v.type, "type"), _u32(v.offset, "offset"), _u32(v.size, "size"))
    else:
        _encode_simple(t, name, out)


def _encode_simple(t: Type, name: int, out: list[int]) -> None:
    if isinstance(t, Int):
        if not (0 <= t.encoding <= 0xF and 0 <= t.bits_offset <= 0xFF and 0 <= t.nr_bits <= 0xFF):
            raise ValueError("encoding, bits_offset or nr_bits out of range")
        extra = (int(t.encoding) << 24) | (t.bits_offset << 16) | t.nr_bits
        out += (name, _info(t.kind, 0, False), _u32(t.size, "size"), extra)
    elif isinstance(t, Float):
        out += (name, _info(t.kind, 0, False), _u32(t.size, "size"))
    elif isinstance(t, Fwd):
        out += (name, _info(t.kind, 0, t.is_union), 0)
    elif isinstance(t, Array):
        refs = (_u32(t.type, "type"), _u32(t.index_type, "index_type"))
        out += (name, _info(t.kind, 0, False), 0, *refs, _u32(t.nelems, "nelems"))
    elif isinstance(t, Ref):
        kflag = t.kflag if isinstance(t, TypeTag) else False
        out += (name, _info(t.kind, 0, kflag), _u32(t.type, "type"))
    elif isinstance(t, Func):
        out += (name, _info(t.kind, t.linkage, False), _u32(t.type, "type"))
    elif isinstance(t, Var):
        out += (name, _info(t.kind, 0, False), _u32(t.type, "type"), _u32(t.linkage, "linkage"))
    elif isinstance(t, DeclTag):
        if not -(1 << 31) <= t.component_idx < (1 << 31):
            raise ValueError(f"component_idx {t.component_idx} does not fit 32 bits")
        out += (name, _info(t.kind, 0, False), _u32(t.type, "type"), t.component_idx & _U32)
    else:
        raise ValueError("void and unknown kinds cannot be encoded")


def _encode_composite(t: Composite, name: int, table: StringTable, out: list[int]) -> None:
    kflag = t.kflag or any(m.bitfield_size for m in t.members)
    out += (name, _info(t.kind, len(t.members), kflag), _u32(t.size, "size"))
    for m in t.members:
        if kflag:
            if not (0 <= m.bit_offset <= 0xFFFFFF and 0 <= m.bitfield_size <= 0xFF):
                raise ValueError(f"member {m.name!r}: bit offset or bitfield size out of range")
            offset = (m.bitfield_size << 24) | m.bit_offset
        else:
            offset = _u32(m.bit_offset, "bit offset")
        out += (table.add(m.name), _u32(m.type, "type"), offset)


def _encode_enum(t: EnumType, name: int, table: StringTable, out: list[int]) -> None:
    wide = t.kind is Kind.ENUM64
    bits = 64 if wide else 32
    low, high = (-(1 << (bits - 1)), 1 << (bits - 1)) if t.signed else (0, 1 << bits)
    out += (name, _info(t.kind, len(t.values), t.signed), _u32(t.size, "size"))
    for v in t.values:
        if not low <= v.value < high:
            raise ValueError(f"enumerator {v.name!r} = {v.value} out of range")
        raw = v.value & ((1 << bits) - 1)
        out.append(table.add(v.name))
        out += (raw & _U32, raw >> 32) if wide else (raw,)
