"""Structs and unions behind :mod:`pybpf.btf.values`: :class:`StructValue`, the base of the
classes generated from BTF, and the node that converts them.

A generated class is a tuple subclass, like a :func:`~collections.namedtuple`: immutable,
hashable (so a struct can be a dict key, as map keys often are), equal when the fields are
equal, built straight from the tuple :mod:`struct` unpacks. Fields are named as in C;
anonymous struct/union members are fields called ``_anon0``, ``_anon1`` … whose own members
can also be read (and given to the constructor) by name, as C code names them.

Bytes that no member covers (padding, the gaps around bitfields) are remembered when they are
not zero, so that decoding and encoding again gives back the same bytes. A union keeps its
bytes always: its members are views of the same bytes, and writing one rewrites the others.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from operator import itemgetter
from typing import Any, ClassVar

from pybpf.btf._values_nodes import (
    ArrayNode,
    Emitter,
    Node,
    describe,
    fail,
    read_bits,
    write_bits,
)
from pybpf.btf.kinds import ByteOrder

__all__ = ["Field", "StructNode", "StructValue", "UnionValue", "raw_of"]

RAW = "__pybpf_raw__"
_BYTES_LIKE = (bytes, bytearray, memoryview)


def raw_of(obj: object) -> bytes | None:
    """The bytes a struct value remembers (padding that was not zero; a union's bytes)."""
    return getattr(obj, RAW, None)


class StructValue(tuple):  # type: ignore[type-arg]
    """Base of the classes generated from BTF structs (and DATASECs).

    Construct by position or keyword (missing fields are zero), from a dict (``cls(**d)``)
    or a sequence (``cls._make(seq)``); change with :meth:`_replace`; ``bytes(v)`` encodes.

    Example::

        Flow = codec.python_type                # e.g. struct flow { __u32 saddr, daddr; }
        f = Flow(saddr=0x0A000001, daddr=2)
        f.saddr, f._replace(daddr=3), bytes(f), Flow._from_bytes(bytes(8))

    Raises:
        CodecError: a field of the wrong type or out of range, an unknown field name.
    """

    __slots__ = ()
    _fields: ClassVar[tuple[str, ...]] = ()
    __pybpf_node__: ClassVar[StructNode]
    __pybpf_raw__: ClassVar[bytes | None] = None

    def __new__(cls, *args: object, **kwargs: object) -> StructValue:
        node = cls.__pybpf_node__
        made: StructValue = node.construct(args, kwargs, node.cls_name)
        return made

    def __repr__(self) -> str:
        node = type(self).__pybpf_node__
        inner = ", ".join(f"{n}={v!r}" for n, v in zip(node.names, self, strict=True))
        return f"{type(self).__name__}({inner})"

    def __setattr__(self, name: str, value: object) -> None:
        raise AttributeError(f"{type(self).__name__} values are immutable; use _replace()")

    def __delattr__(self, name: str) -> None:
        raise AttributeError(f"{type(self).__name__} values are immutable; use _replace()")

    def __bytes__(self) -> bytes:
        node = type(self).__pybpf_node__
        buf = bytearray(node.size)
        node.write(buf, 0, self)
        return bytes(buf)

    def __reduce__(self) -> tuple[Any, ...]:
        return (type(self)._from_bytes, (bytes(self),))

    def _replace(self, **changes: object) -> StructValue:
        """A copy with some fields changed (padding kept)."""
        node = type(self).__pybpf_node__
        made: StructValue = node.replace(self, changes, node.cls_name)
        return made

    def _asdict(self) -> dict[str, object]:
        """The fields as a dict (nested structs stay objects)."""
        return dict(zip(type(self).__pybpf_node__.names, self, strict=True))

    @classmethod
    def _make(cls, iterable: object) -> StructValue:
        """A value from a sequence of fields in order (or a dict, or bytes of the size)."""
        node = cls.__pybpf_node__
        made: StructValue = node.coerce(iterable, node.cls_name)  # type: ignore[assignment]
        return made

    @classmethod
    def _from_bytes(cls, data: bytes | bytearray | memoryview) -> StructValue:
        """Decode exactly ``_size`` bytes.

        Raises:
            CodecError: ``data`` has another size.
        """
        node = cls.__pybpf_node__
        made: StructValue = node.from_bytes(data, node.cls_name)  # type: ignore[assignment]
        return made


class UnionValue(StructValue):
    """Base of the classes generated from BTF unions: every member decoded from the same
    bytes. Constructing one (or :meth:`_replace`) writes the members given, in order, over
    zeros (or the bytes being replaced) and decodes the others from the result — as C
    writes a union, the last member written wins."""

    __slots__ = ()


@dataclass(frozen=True, slots=True)
class Field:
    """A member: ``bit`` is its offset in bits from the struct's start; ``bits`` its width
    when it is a bitfield (0 otherwise)."""

    name: str
    node: Node
    bit: int
    bits: int = 0
    anonymous: bool = False

    @property
    def off(self) -> int:
        return self.bit >> 3


class StructNode(Node):
    """A struct, union or DATASEC; its values are instances of the generated :attr:`cls`."""

    def __init__(
        self, cls_name: str, desc: str, size: int, order: ByteOrder, *, union: bool = False
    ) -> None:
        self.cls_name, self.desc, self.size, self.order = cls_name, desc, size, order
        self.union = union
        self.fields: tuple[Field, ...] = ()
        self.names: tuple[str, ...] = ()
        self.index: dict[str, int] = {}
        self.inner: dict[str, int] = {}  # member names of anonymous members → their field
        self.cls: type[StructValue] = StructValue
        self.padmask = 0
        self._zero: StructValue | None = None

    def finish(self, fields: Sequence[Field]) -> None:
        """Set the members (known only after the nodes they refer to are built)."""
        self.fields = tuple(fields)
        self.names = tuple(f.name for f in self.fields)
        self.index = {n: i for i, n in enumerate(self.names)}
        for i, f in enumerate(self.fields):
            if f.anonymous and isinstance(f.node, StructNode):
                for name in (*f.node.names, *f.node.inner):
                    self.inner.setdefault(name, i)
        self.padmask = 0 if self.union else self._uncovered()
        self.flat = not self.union and self._flat()
        self.pads = self.padmask != 0
        self.cls = _make_class(self)

    def _uncovered(self) -> int:
        """The bits (as an int of the struct's bytes in its byte order) no value covers,
        nested structs' padding included: what must be remembered when not zero."""
        return ((1 << (self.size * 8)) - 1) & ~_leaf_bits(self, self.order)

    def _flat(self) -> bool:
        end = 0
        for f in self.fields:
            if f.bits or f.bit & 7 or not f.node.flat or f.off < end:
                return False
            end = f.off + f.node.size
        return end <= self.size

    @property
    def zero(self) -> object:  # type: ignore[override]
        if self._zero is None:
            self._zero = self.decode(bytes(self.size), 0)  # type: ignore[assignment]
        return self._zero

    # -- general path ------------------------------------------------------------------------
    def decode(self, data: bytes, off: int) -> object:
        vals: list[object] = []
        order = self.order
        for f in self.fields:
            if f.bits:
                u = read_bits(data, off, f.bit, f.bits, order)
                vals.append(f.node.from_bits(u, f.bits))  # type: ignore[attr-defined]
            else:
                vals.append(f.node.decode(data, off + f.off))
        obj = tuple.__new__(self.cls, vals)
        if self.union or (self.padmask and self._dirty(data, off)):
            object.__setattr__(obj, RAW, bytes(data[off : off + self.size]))
        return obj

    def _dirty(self, data: bytes, off: int) -> bool:
        return bool(int.from_bytes(data[off : off + self.size], self.order) & self.padmask)

    def write(self, buf: bytearray, off: int, value: Any) -> None:
        raw = getattr(value, RAW, None)
        if raw is not None:
            buf[off : off + self.size] = raw
            if self.union:
                return
        for f, v in zip(self.fields, value, strict=True):
            self._write_field(buf, off, f, v, self.cls_name)

    def _write_field(self, buf: bytearray, off: int, f: Field, v: object, path: str) -> None:
        if f.bits:
            u = f.node.to_bits(v, f.bits, f"{path}.{f.name}")  # type: ignore[attr-defined]
            write_bits(buf, off, f.bit, f.bits, u, order=self.order)
        else:
            f.node.write(buf, off + f.off, v)

    def coerce(self, value: object, path: str) -> object:
        if type(value) is self.cls:
            return value
        if isinstance(value, Mapping):
            return self.construct((), value, path)
        if isinstance(value, _BYTES_LIKE):
            return self.from_bytes(value, path)
        if isinstance(value, StructValue) and not self.union:
            if type(value).__pybpf_node__.names == self.names:
                return self.construct(tuple(value), {}, path)
        elif isinstance(value, Sequence) and not isinstance(value, str):
            return self.construct(tuple(value), {}, path)
        raise fail(
            path,
            f"expected {self.desc} (an object, dict, sequence or {self.size} bytes), "
            f"not {describe(value)}",
        )

    # -- construction ------------------------------------------------------------------------
    def construct(self, args: Sequence[object], kwargs: Mapping[str, object], path: str) -> Any:
        """A canonical value from fields by position and by name."""
        if len(args) > len(self.fields):
            raise fail(path, f"{self.desc} has {len(self.fields)} fields, {len(args)} given")
        given = [(i, v) for i, v in enumerate(args)]
        given += self._by_name(kwargs, len(args), path)
        if self.union:
            return self._union_value(given, bytes(self.size), path)
        vals = [f.node.zero for f in self.fields]
        for i, v in given:
            vals[i] = self._coerce(self.fields[i], v, path)
        return self._adopt(tuple.__new__(self.cls, vals))

    def _adopt(self, obj: Any) -> Any:
        """``obj``, remembering its bytes when a member remembers some (a nested struct's
        padding), so that every way of encoding it keeps them."""
        if raw_of(obj) is not None or not self.pads:
            return obj
        if any(_remembers(f.node, v) for f, v in zip(self.fields, obj, strict=True)):
            buf = bytearray(self.size)
            self.write(buf, 0, obj)
            object.__setattr__(obj, RAW, bytes(buf))
        return obj

    @staticmethod
    def _coerce(f: Field, value: object, path: str) -> object:
        where = f"{path}.{f.name}"
        canonical = f.node.coerce(value, where)
        if f.bits:
            f.node.to_bits(canonical, f.bits, where)  # type: ignore[attr-defined]
        return canonical

    def _by_name(
        self, kwargs: Mapping[str, object], positional: int, path: str
    ) -> list[tuple[int, object]]:
        """``(field index, value)`` of named fields; members of anonymous members are
        gathered into a dict for the anonymous field."""
        out: list[tuple[int, object]] = []
        nested: dict[int, dict[str, object]] = {}
        for name, v in kwargs.items():
            i = self.index.get(name)
            if i is not None:
                if i < positional:
                    raise fail(path, f"field {name!r} given by position and by name")
                out.append((i, v))
            elif name in self.inner:
                nested.setdefault(self.inner[name], {})[name] = v
            else:
                known = ", ".join(self.names) or "none"
                raise fail(path, f"{self.desc} has no field {name!r} (fields: {known})")
        for i, kw in nested.items():
            if any(j == i for j, _ in out):
                raise fail(path, f"{self.names[i]} given both whole and by its members")
            out.append((i, kw))
        return out

    def _union_value(self, given: list[tuple[int, object]], base: bytes, path: str) -> Any:
        buf = bytearray(base)
        for i, v in given:
            f = self.fields[i]
            self._write_field(buf, 0, f, self._coerce(f, v, path), path)
        return self.decode(bytes(buf), 0)

    def replace(self, obj: StructValue, changes: Mapping[str, object], path: str) -> Any:
        """``obj`` with ``changes`` (by field name) applied."""
        given = self._by_name(changes, 0, path)
        if self.union:
            base = raw_of(obj)
            return self._union_value(given, base if base is not None else bytes(obj), path)
        vals = list(obj)
        for i, v in given:
            f = self.fields[i]
            new = v
            if isinstance(v, dict) and f.anonymous:
                new = f.node.replace(vals[i], v, path)  # type: ignore[attr-defined]
            vals[i] = self._coerce(f, new, path)
        new = tuple.__new__(self.cls, vals)
        raw = raw_of(obj)
        if raw is not None:
            object.__setattr__(new, RAW, raw)
        return self._adopt(new)

    # -- flat --------------------------------------------------------------------------------
    def _layout(self, decode: bool) -> list[tuple[int, Field | None]]:
        """``(gap bytes, None)`` and ``(0, field)`` in offset order."""
        out: list[tuple[int, Field | None]] = []
        at = 0
        for f in self.fields:
            if f.off > at:
                out.append((f.off - at, None))
            out.append((0, f))
            at = f.off + f.node.size
        if self.size > at:
            out.append((self.size - at, None))
        return out

    def fmt(self, decode: bool) -> str:
        parts = [
            f.node.fmt(decode) if f is not None else f"{gap}{'s' if decode else 'x'}"
            for gap, f in self._layout(decode)
        ]
        return "".join(parts)

    def items(self, decode: bool) -> int:
        return sum(
            f.node.items(decode) if f is not None else int(decode) for _, f in self._layout(decode)
        )

    def emit_build(self, em: Emitter, i: int, pads: list[tuple[int, bytes]]) -> str:
        parts = []
        for gap, f in self._layout(True):
            if f is None:
                pads.append((i, bytes(gap)))
                i += 1
                continue
            parts.append(f.node.emit_build(em, i, pads))
            i += f.node.items(True)
        return f"_new({em.const(self.cls)}, (" + "".join(p + ", " for p in parts) + "))"

    def emit_pack(self, em: Emitter, expr: str) -> list[str]:
        out: list[str] = []
        for j, f in enumerate(self.fields):
            out += f.node.emit_pack(em, f"{expr}[{j}]")
        return out


def _remembers(node: Node, value: object) -> bool:
    """Whether ``value`` (of ``node``) or a value inside it remembers padding bytes."""
    if isinstance(node, StructNode):
        return node.pads and raw_of(value) is not None
    if isinstance(node, ArrayNode) and node.pads:
        return any(_remembers(node.elem, v) for v in value)  # type: ignore[attr-defined]
    return False


def _place(mask: int, off: int, size: int, outer: int, order: ByteOrder) -> int:
    """A mask of ``size`` bytes moved to byte ``off`` of ``outer`` bytes."""
    return mask << (off * 8 if order == "little" else (outer - off - size) * 8)


def _leaf_bits(node: Node, order: ByteOrder) -> int:
    """The bits of ``node``'s bytes that hold values (a union's: all of them)."""
    full = (1 << (node.size * 8)) - 1
    if isinstance(node, StructNode) and not node.union:
        mask = 0
        for f in node.fields:
            if f.bits:
                shift = f.bit if order == "little" else node.size * 8 - f.bit - f.bits
                mask |= ((1 << f.bits) - 1) << shift if shift >= 0 else 0
            else:
                inner = _leaf_bits(f.node, order)
                mask |= _place(inner, f.off, f.node.size, node.size, order)
        return mask & full
    if isinstance(node, ArrayNode):
        inner, size = _leaf_bits(node.elem, order), node.elem.size
        if inner == (1 << (size * 8)) - 1:
            return full
        mask = 0
        for i in range(node.count):
            mask |= _place(inner, i * size, size, node.size, order)
        return mask
    return full


_RESERVED = frozenset(dir(tuple)) | {"__dict__", "__weakref__", "__module__", "__qualname__"}


def _make_class(node: StructNode) -> type[StructValue]:
    base = UnionValue if node.union else StructValue
    ns: dict[str, object] = {
        "_fields": node.names,
        "__pybpf_node__": node,
        "__module__": "pybpf.btf.values",
        "__qualname__": node.cls_name,
        "__doc__": f"{node.desc} ({node.size} bytes), generated from BTF.",
    }
    for i, name in enumerate(node.names):
        if name.startswith("__") and name in _RESERVED:
            continue  # a C member called __class__ … stays reachable by index
        ns[name] = property(itemgetter(i), doc=f"{name} (field {i})")
    for name, i in node.inner.items():
        if name not in ns and not (name.startswith("__") and name in _RESERVED):
            ns[name] = property(_InnerGetter(i, name), doc=f"{name} (in {node.names[i]})")
    return type(node.cls_name, (base,), ns)


class _InnerGetter:
    """Reads a member of an anonymous member (``node.as_u32`` for ``node._anon0.as_u32``)."""

    __slots__ = ("i", "name")

    def __init__(self, i: int, name: str) -> None:
        self.i, self.name = i, name

    def __call__(self, obj: tuple[object, ...]) -> object:
        return getattr(obj[self.i], self.name)
