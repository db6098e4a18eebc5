"""Building the node of a BTF type (see :mod:`pybpf.btf._values_nodes`), once per type.

Nodes are cached per BTF object, byte order and type id, so the class generated for a
struct is made once and every value of that type (and of the structs that contain it) is an
instance of the same class.
"""

from __future__ import annotations

import enum
import keyword
import weakref
from typing import TYPE_CHECKING

from pybpf.btf._values_nodes import (
    ArrayNode,
    BytesNode,
    EnumNode,
    FloatNode,
    IntNode,
    Node,
    OpaqueNode,
)
from pybpf.btf._values_struct import Field, StructNode
from pybpf.btf.kinds import ByteOrder, IntEncoding
from pybpf.btf.types import (
    Array,
    Composite,
    Datasec,
    EnumType,
    Float,
    Int,
    Modifier,
    Ptr,
    Type,
    Typedef,
    Var,
)
from pybpf.errors import BTFError, Location

if TYPE_CHECKING:
    from pybpf.btf._btf import BTF

__all__ = ["node_of"]

_MAX_DEPTH = 64
_Cache = dict[tuple[ByteOrder, int], Node]
_CACHES: weakref.WeakKeyDictionary[BTF, _Cache] = weakref.WeakKeyDictionary()


def node_of(btf: BTF, type_id: int, order: ByteOrder | None = None) -> Node:
    """The node of ``type_id`` (typedefs, modifiers and a VAR's type followed).

    Raises:
        KeyError: no such type.
        BTFError: a type with no value (void, a forward declaration, a function), or types
            that contain themselves.
    """
    cache = _CACHES.get(btf)
    if cache is None:
        cache = _CACHES[btf] = {}
    return _Builder(btf, order or btf.byteorder, cache).node(type_id, "", 0)


class _Builder:
    def __init__(self, btf: BTF, order: ByteOrder, cache: _Cache) -> None:
        self.btf, self.order, self.cache = btf, order, cache
        self.building: set[int] = set()

    def error(self, type_id: int, reason: str) -> BTFError:
        t = self.btf[type_id]
        name = f" '{t.name}'" if t.name else ""
        where = Location(self.btf.source)
        return BTFError(f"type [{type_id}] {t.kind.name}{name}: {reason}", where)

    def resolve(self, type_id: int) -> tuple[int, Type]:
        t = self.btf[type_id]
        for _ in range(_MAX_DEPTH):
            if not isinstance(t, Typedef | Modifier | Var):
                return type_id, t
            type_id = t.type
            t = self.btf[type_id]
        raise self.error(type_id, "typedef/modifier chain too deep (a loop?)")

    def node(self, type_id: int, hint: str, depth: int) -> Node:
        tid, t = self.resolve(type_id)
        key = (self.order, tid)
        found = self.cache.get(key)
        if found is not None:
            return found
        if depth > _MAX_DEPTH or tid in self.building:
            raise self.error(tid, "the type contains itself")
        self.building.add(tid)
        try:
            made = self._make(tid, t, hint, depth)
        finally:
            self.building.discard(tid)
        self.cache[key] = made
        return made

    def _make(self, tid: int, t: Type, hint: str, depth: int) -> Node:
        if isinstance(t, Int):
            return _int(t, self.order)
        if isinstance(t, Ptr):
            return IntNode(self.btf.pointer_size, False, self.order, name="pointer")
        if isinstance(t, EnumType):
            cls = _enum_class(t, t.name or hint or f"enum_{tid}")
            return EnumNode(t.size, t.signed, self.order, cls, f"enum {t.name or '(anon)'}")
        if isinstance(t, Float):
            if t.size in (2, 4, 8):
                return FloatNode(t.size, self.order, t.name)
            return OpaqueNode(t.size, t.name)
        if isinstance(t, Array):
            return self._array(t, hint, depth)
        if isinstance(t, Composite):
            return self._composite(tid, t, hint, depth)
        if isinstance(t, Datasec):
            return self._datasec(t, depth)
        raise self.error(tid, "has no value (void, a forward declaration or a function)")

    def _array(self, t: Array, hint: str, depth: int) -> Node:
        _, elem = self.resolve(t.type)
        if isinstance(elem, Int) and elem.size == 1 and not elem.encoding & IntEncoding.BOOL:
            text = self._is_char(t.type)
            what = "char" if text else self.btf[t.type].name or elem.name or "byte"
            return BytesNode(t.nelems, text, elem.is_signed, f"{what}[{t.nelems}]")
        node = self.node(t.type, hint, depth + 1)
        return ArrayNode(node, t.nelems, f"{node.desc}[{t.nelems}]")

    def _is_char(self, type_id: int) -> bool:
        """bpftool's rule for strings: after modifiers (not typedefs), a 1-byte INT that is
        CHAR-encoded or named ``char``."""
        t = self.btf[type_id]
        while isinstance(t, Modifier):
            t = self.btf[t.type]
        return isinstance(t, Int) and (bool(t.encoding & IntEncoding.CHAR) or t.name == "char")

    def _composite(self, tid: int, t: Composite, hint: str, depth: int) -> Node:
        name = t.name or hint or f"anon_{tid}"
        kind = "struct" if t.is_struct else "union"
        desc = f"{kind} {t.name or '(anon)'}"
        node = StructNode(name, desc, t.size, self.order, union=not t.is_struct)
        fields, anon = [], 0
        for m in t.members:
            field_name = m.name
            if not field_name:
                field_name, anon = f"_anon{anon}", anon + 1
            member = self.node(m.type, f"{name}.{field_name}", depth + 1)
            bit, bits = m.bit_offset, m.bitfield_size
            if bits and not isinstance(member, IntNode | EnumNode):
                raise self.error(tid, f"bitfield {field_name!r} is not an integer or enum")
            if not bits and isinstance(member, IntNode) and (bit & 7 or not member.std):
                # A bitfield without kind_flag: the INT's own bits say where it is.
                bit, bits = bit + member.bit, member.nbits
            fields.append(Field(field_name, member, bit, bits, not m.name))
        node.finish(_unique(fields))
        return node

    def _datasec(self, t: Datasec, depth: int) -> Node:
        node = StructNode(t.name or "datasec", f"section {t.name}", t.size, self.order)
        fields = []
        for v in t.vars:
            var = self.btf[v.type]
            if not isinstance(var, Var):
                continue  # a FUNC of .ksyms: not data
            member = self.node(var.type, f"{t.name}.{var.name}", depth + 1)
            fields.append(Field(var.name, member, v.offset * 8))
        node.finish(_unique(fields))
        return node


def _unique(fields: list[Field]) -> list[Field]:
    """Fields with distinct names (BTF that repeats one gets ``name_1`` …)."""
    seen: set[str] = set()
    out = []
    for f in fields:
        name, n = f.name, 1
        while name in seen:
            name, n = f"{f.name}_{n}", n + 1
        seen.add(name)
        out.append(f if name == f.name else Field(name, f.node, f.bit, f.bits, f.anonymous))
    return out


def _int(t: Int, order: ByteOrder) -> IntNode:
    is_bool = bool(t.encoding & IntEncoding.BOOL)
    signed = t.is_signed
    nbits = t.nr_bits or t.size * 8
    return IntNode(
        t.size, signed, order, nbits=nbits, bit=t.bits_offset, is_bool=is_bool, name=t.name
    )


def _enum_class(t: EnumType, name: str) -> type[enum.IntEnum]:
    """An :class:`enum.IntEnum` named as the BTF enum, with the enumerators Python allows
    as member names (others are left out: their values decode as plain ints)."""
    members: list[tuple[str, int]] = []
    seen: set[str] = set()
    for v in t.values:
        if _usable(v.name) and v.name not in seen:
            members.append((v.name, v.value))
            seen.add(v.name)
    try:
        return enum.IntEnum(name, members, module="pybpf.btf.values")  # type: ignore[return-value]
    except (ValueError, TypeError):
        return enum.IntEnum(name, [], module="pybpf.btf.values")  # type: ignore[return-value]


_ENUM_RESERVED = frozenset(dir(int)) | {"name", "value", "mro"}


def _usable(name: str) -> bool:
    return (
        name.isidentifier()
        and not keyword.iskeyword(name)
        and not name.startswith("_")
        and name not in _ENUM_RESERVED
    )
