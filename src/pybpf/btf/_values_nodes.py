"""The scalar and array nodes behind :mod:`pybpf.btf.values`.

A node stands for one BTF type (typedefs and modifiers already skipped) and converts between
its bytes and a Python value:

* ``decode(data, off)`` reads the value stored at ``off`` (the general, slower path);
* ``coerce(value, path)`` checks what a user gives and returns the canonical value (the one
  ``decode`` would return for the same bytes), or raises :class:`~pybpf.errors.CodecError`
  naming ``path`` (``"map 'flows': value.addr[2]"``);
* ``write(buf, off, value)`` stores a canonical value.

Nodes that read as a fixed run of :mod:`struct` items are *flat*: they also say how to take
part in one compiled format (``fmt``, ``items``) and how to build their value from the
unpacked items (``emit_build``) and the items from a value (``emit_pack``) — see
:mod:`pybpf.btf._values_flat`, which turns those pieces into Python source.

Bitfields are read and written through the bytes that hold them. In little-endian data bit 0
is the least significant bit of the first byte; in big-endian data it is the most significant
one (the BTF convention), so a field of ``n`` bits at bit ``b`` of ``k`` bytes is::

    little:  (int.from_bytes(k bytes, "little") >> b) & (2**n - 1)
    big:     (int.from_bytes(k bytes, "big") >> (8*k - b - n)) & (2**n - 1)
"""

from __future__ import annotations

import abc
import enum
import operator
import struct
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from pybpf.btf.kinds import ByteOrder
from pybpf.errors import CodecError

__all__ = [
    "ArrayNode",
    "BytesNode",
    "Emitter",
    "EnumNode",
    "FloatNode",
    "IntNode",
    "Node",
    "OpaqueNode",
    "describe",
    "fail",
    "read_bits",
    "write_bits",
]

_INT_CODES = {1: "b", 2: "h", 4: "i", 8: "q"}
_FLOAT_CODES = {2: "e", 4: "f", 8: "d"}
_BYTES_LIKE = (bytes, bytearray, memoryview)


def fail(path: str, problem: str) -> CodecError:
    """The error for ``problem`` at ``path`` (``"map 'm': value.a: 300 does not fit ..."``)."""
    return CodecError(f"{path}: {problem}")


def describe(value: object) -> str:
    """A short description of a value for an error message."""
    text = repr(value)
    return text if len(text) <= 60 else f"{type(value).__name__} of {len(text)} characters"


def read_bits(data: bytes, off: int, bit: int, nbits: int, order: ByteOrder) -> int:
    """``nbits`` unsigned bits starting ``bit`` bits after byte ``off``."""
    off += bit >> 3
    bit &= 7
    count = (bit + nbits + 7) >> 3
    x = int.from_bytes(data[off : off + count], order)
    shift = bit if order == "little" else 8 * count - bit - nbits
    return (x >> shift) & ((1 << nbits) - 1)


def write_bits(
    buf: bytearray, off: int, bit: int, nbits: int, value: int, *, order: ByteOrder
) -> None:
    """Store ``value`` (unsigned, fitting ``nbits``) in those bits, keeping the others."""
    off += bit >> 3
    bit &= 7
    count = (bit + nbits + 7) >> 3
    x = int.from_bytes(buf[off : off + count], order)
    shift = bit if order == "little" else 8 * count - bit - nbits
    mask = ((1 << nbits) - 1) << shift
    x = (x & ~mask) | ((value << shift) & mask)
    buf[off : off + count] = x.to_bytes(count, order)


class Emitter:
    """Collects the constants generated source refers to (``ns``) under generated names."""

    def __init__(self) -> None:
        self.ns: dict[str, object] = {"_new": tuple.__new__}
        self._names: dict[int, str] = {}

    def const(self, obj: object) -> str:
        """A name under which generated code sees ``obj``."""
        key = id(obj)
        name = self._names.get(key)
        if name is None:
            name = f"_c{len(self._names)}"
            self._names[key] = name
            self.ns[name] = obj
        return name


class Node(abc.ABC):
    """One BTF type's conversion (see the module docstring)."""

    size: int = 0
    desc: str = ""
    zero: object = None
    flat: bool = True
    pads: bool = False  # whether the decode format carries pad items to check
    fmt_code: str = ""  # the struct format of a leaf (``fmt`` for leaves)

    # -- general path ------------------------------------------------------------------------
    @abc.abstractmethod
    def decode(self, data: bytes, off: int) -> object:
        """The value stored at ``off`` in ``data``."""

    @abc.abstractmethod
    def coerce(self, value: object, path: str) -> object:
        """The canonical value of what a user gave.

        Raises:
            CodecError: a value of the wrong type, size or range (naming ``path``).
        """

    @abc.abstractmethod
    def write(self, buf: bytearray, off: int, value: Any) -> None:
        """Store a canonical value at ``off`` in ``buf``."""

    def from_bytes(self, value: object, path: str) -> object:
        """``value`` decoded when it is a bytes-like object of exactly ``size`` bytes."""
        data = bytes(value)  # type: ignore[call-overload]
        if len(data) != self.size:
            raise fail(path, f"{len(data)} bytes given for {self.desc} of {self.size} bytes")
        return self.decode(data, 0)

    # -- flat path ---------------------------------------------------------------------------
    def fmt(self, decode: bool) -> str:
        """This node's part of a struct format (``decode``: pads as ``s`` items to check)."""
        return self.fmt_code

    def items(self, decode: bool) -> int:
        """How many items ``fmt(decode)`` unpacks to."""
        return 1

    def post(self) -> Callable[[Any], object] | None:
        """The function turning this leaf's unpacked item into its value (None: the item)."""
        return None

    def pre(self) -> Callable[[Any], object] | None:
        """The function turning a canonical value into this leaf's item (None: itself)."""
        return None

    def emit_build(self, em: Emitter, i: int, pads: list[tuple[int, bytes]]) -> str:
        """Source of an expression building the value from items ``t[i:]``; pad items whose
        bytes must be zero for the fast path are appended to ``pads``."""
        fn = self.post()
        return f"t[{i}]" if fn is None else f"{em.const(fn)}(t[{i}])"

    def emit_pack(self, em: Emitter, expr: str) -> list[str]:
        """Sources of the pack arguments of the canonical value ``expr``."""
        fn = self.pre()
        return [expr if fn is None else f"{em.const(fn)}({expr})"]


def _index(value: object) -> int | None:
    """``value`` as an int when it is one or has ``__index__`` (as :mod:`struct` takes
    integers, so the C fast paths and these checks accept the same values), else None."""
    if isinstance(value, int):
        return int(value)
    try:
        return operator.index(value)  # type: ignore[arg-type]
    except TypeError:
        return None


class IntNode(Node):
    """An integer: ``int`` (a ``bool`` for ``_Bool`` holding 0 or 1).

    ``nbits`` bits at bit ``bit`` of ``size`` bytes (clang writes ``bit`` 0 and all bits;
    old bitfield encodings did not).
    """

    def __init__(
        self, size: int, signed: bool, order: ByteOrder, *, nbits: int = 0, bit: int = 0,
        is_bool: bool = False, name: str = "",
    ) -> None:  # fmt: skip
        self.size, self.signed, self.order = size, signed, order
        self.nbits = nbits or size * 8
        self.bit = bit
        self.is_bool = is_bool
        self.lo = -(1 << (self.nbits - 1)) if signed else 0
        self.hi = (1 << (self.nbits - 1 if signed else self.nbits)) - 1
        kind = "bool" if is_bool else f"{self.nbits}-bit {'signed' if signed else 'unsigned'} int"
        self.desc = name or kind
        self.std = bit == 0 and self.nbits == size * 8
        self.flat = self.std and size in (1, 2, 4, 8, 16)
        code = _INT_CODES.get(size, "")
        self.fmt_code = (code if signed else code.upper()) if size != 16 else "16s"
        self.zero = False if is_bool else 0

    def canonical(self, n: int) -> object:
        if self.is_bool and n in (0, 1):
            return n == 1
        return n

    def from_bits(self, u: int, nbits: int) -> object:
        """The value of ``nbits`` unsigned bits (a bitfield of this type)."""
        if self.signed and u >> (nbits - 1):
            u -= 1 << nbits
        return self.canonical(u)

    def to_bits(self, value: object, nbits: int, path: str) -> int:
        """A value for a bitfield of ``nbits`` bits of this type, as unsigned bits."""
        n = _index(value)
        if n is None:
            raise fail(path, f"expected an int, not {type(value).__name__}")
        lo = -(1 << (nbits - 1)) if self.signed else 0
        hi = (1 << (nbits - 1 if self.signed else nbits)) - 1
        if not lo <= n <= hi:
            raise fail(path, f"{n} does not fit in a {nbits}-bit field ({lo}..{hi})")
        return n & ((1 << nbits) - 1)

    def decode(self, data: bytes, off: int) -> object:
        if self.std:
            return self.canonical(
                int.from_bytes(data[off : off + self.size], self.order, signed=self.signed)
            )
        return self.from_bits(read_bits(data, off, self.bit, self.nbits, self.order), self.nbits)

    def coerce(self, value: object, path: str) -> object:
        n = _index(value)
        if n is None:
            if isinstance(value, _BYTES_LIKE):
                return self.from_bytes(value, path)
            raise fail(path, f"expected an int for {self.desc}, not {type(value).__name__}")
        if not self.lo <= n <= self.hi:
            raise fail(path, f"{n} does not fit in {self.desc} ({self.lo}..{self.hi})")
        return self.canonical(n)

    def write(self, buf: bytearray, off: int, value: Any) -> None:
        n = int(value)
        if self.std:
            buf[off : off + self.size] = n.to_bytes(self.size, self.order, signed=self.signed)
        else:
            u = n & ((1 << self.nbits) - 1)
            write_bits(buf, off, self.bit, self.nbits, u, order=self.order)

    def post(self) -> Callable[[Any], object] | None:
        if self.size == 16:
            order, signed = self.order, self.signed
            return lambda b: int.from_bytes(b, order, signed=signed)
        return _bool if self.is_bool else None

    def pre(self) -> Callable[[Any], object] | None:
        if self.size == 16:
            order, signed = self.order, self.signed
            return lambda n: n.to_bytes(16, order, signed=signed)
        return None


def _bool(n: int) -> object:
    """As :meth:`IntNode.canonical`: 0 and 1 are bools, other values stay ints."""
    return n == 1 if n in (0, 1) else n


class EnumNode(Node):
    """An enum: a member of the :class:`enum.IntEnum` made from it, or a plain ``int`` for a
    value it does not name (so every value round-trips)."""

    def __init__(
        self, size: int, signed: bool, order: ByteOrder, cls: type[enum.IntEnum], name: str
    ) -> None:
        self.size, self.signed, self.order, self.cls = size, signed, order, cls
        self.members: dict[int, enum.IntEnum] = {}
        for member in cls.__members__.values():
            self.members.setdefault(int(member), member)
        self.by_name: Mapping[str, enum.IntEnum] = cls.__members__
        self.int = IntNode(size, signed, order, name=name)
        self.desc = name
        self.flat = self.int.flat and size != 16
        self.fmt_code = self.int.fmt_code
        self.zero = self.members.get(0, 0)
        get = self.members.get
        self._lookup: Callable[[int], object] = lambda n: get(n, n)

    def canonical(self, n: int) -> object:
        return self.members.get(n, n)

    def from_bits(self, u: int, nbits: int) -> object:
        if self.signed and u >> (nbits - 1):
            u -= 1 << nbits
        return self.canonical(u)

    def to_bits(self, value: object, nbits: int, path: str) -> int:
        return self.int.to_bits(self._number(value, path), nbits, path)

    def _number(self, value: object, path: str) -> object:
        if isinstance(value, str):
            member = self.by_name.get(value)
            if member is None:
                names = ", ".join(self.by_name) or "none"
                raise fail(path, f"{self.desc} has no member {value!r} (members: {names})")
            return int(member)
        return value

    def decode(self, data: bytes, off: int) -> object:
        return self.canonical(
            int.from_bytes(data[off : off + self.size], self.order, signed=self.signed)
        )

    def coerce(self, value: object, path: str) -> object:
        n = self.int.coerce(self._number(value, path), path)
        return self.canonical(int(n))  # type: ignore[call-overload]

    def write(self, buf: bytearray, off: int, value: Any) -> None:
        self.int.write(buf, off, value)

    def post(self) -> Callable[[Any], object] | None:
        return self._lookup


class FloatNode(Node):
    """A ``float`` (2, 4 or 8 bytes). NaN payloads of 2- and 4-byte floats are not kept:
    Python converts them through a double."""

    def __init__(self, size: int, order: ByteOrder, name: str) -> None:
        self.size, self.order = size, order
        self.fmt_code = _FLOAT_CODES[size]
        self._struct = struct.Struct(("<" if order == "little" else ">") + self.fmt_code)
        self.desc = name or f"{size}-byte float"
        self.zero = 0.0

    def decode(self, data: bytes, off: int) -> object:
        return self._struct.unpack_from(data, off)[0]

    def coerce(self, value: object, path: str) -> object:
        if not isinstance(value, (int, float)):
            if isinstance(value, _BYTES_LIKE):
                return self.from_bytes(value, path)
            raise fail(path, f"expected a float for {self.desc}, not {type(value).__name__}")
        try:
            self._struct.pack(value)
        except (OverflowError, struct.error):
            raise fail(path, f"{value!r} does not fit in {self.desc}") from None
        return float(value)

    def write(self, buf: bytearray, off: int, value: Any) -> None:
        self._struct.pack_into(buf, off, value)


class OpaqueNode(Node):
    """Bytes Python has no value type for (``long double``): ``bytes`` of the exact size."""

    def __init__(self, size: int, name: str) -> None:
        self.size = size
        self.desc = name or f"{size}-byte value"
        self.fmt_code = f"{size}s"
        self.zero = bytes(size)

    def decode(self, data: bytes, off: int) -> object:
        return bytes(data[off : off + self.size])

    def coerce(self, value: object, path: str) -> object:
        if not isinstance(value, _BYTES_LIKE):
            raise fail(path, f"expected {self.size} bytes for {self.desc}, not {describe(value)}")
        data = bytes(value)
        if len(data) != self.size:
            raise fail(path, f"{len(data)} bytes given for {self.desc} of {self.size} bytes")
        return data

    def write(self, buf: bytearray, off: int, value: Any) -> None:
        buf[off : off + self.size] = value


class BytesNode(Node):
    """An array of 1-byte integers: ``bytes``.

    ``char`` arrays are strings (as bpftool prints them): their trailing NULs are left out,
    a shorter value (or a ``str``, as UTF-8) is padded with NULs. Other byte arrays (``__u8
    addr[4]``) keep every byte; a shorter value is padded with zeros too.
    """

    def __init__(self, count: int, text: bool, signed: bool, desc: str) -> None:
        self.size = count
        self.text, self.signed = text, signed
        self.desc = desc
        self.fmt_code = f"{count}s"
        self.zero = b"" if text else bytes(count)

    def decode(self, data: bytes, off: int) -> object:
        raw = bytes(data[off : off + self.size])
        return raw.rstrip(b"\0") if self.text else raw

    def coerce(self, value: object, path: str) -> object:
        if isinstance(value, str) and self.text:
            data = value.encode()
        elif isinstance(value, _BYTES_LIKE):
            data = bytes(value)
        elif isinstance(value, Sequence) and not isinstance(value, str):
            data = self._from_ints(value, path)
        else:
            raise fail(path, f"expected bytes for {self.desc}, not {type(value).__name__}")
        if len(data) > self.size:
            raise fail(path, f"{len(data)} bytes do not fit in {self.desc} ({self.size} bytes)")
        return data.rstrip(b"\0") if self.text else data.ljust(self.size, b"\0")

    def _from_ints(self, value: Sequence[object], path: str) -> bytes:
        lo, hi = (-128, 127) if self.signed else (0, 255)
        out = bytearray()
        for i, x in enumerate(value):
            n = _index(x)
            if n is None or not lo <= n <= hi:
                raise fail(f"{path}[{i}]", f"{describe(x)} is not a byte ({lo}..{hi})")
            out.append(n & 0xFF)
        return bytes(out)

    def write(self, buf: bytearray, off: int, value: Any) -> None:
        buf[off : off + self.size] = value.ljust(self.size, b"\0")

    def post(self) -> Callable[[Any], object] | None:
        return _rstrip if self.text else None


def _rstrip(b: bytes) -> bytes:
    return b.rstrip(b"\0")


class ArrayNode(Node):
    """An array of other elements: a ``tuple``; a shorter sequence is padded with zeros."""

    _UNROLL = 8  # arrays of composite elements longer than this build in a loop

    def __init__(self, elem: Node, count: int, desc: str) -> None:
        self.elem, self.count = elem, count
        self.size = elem.size * count
        self.desc = desc
        self.flat = elem.flat
        self.pads = elem.pads
        self.zero = (elem.zero,) * count

    def decode(self, data: bytes, off: int) -> object:
        elem, size = self.elem, self.elem.size
        return tuple(elem.decode(data, off + i * size) for i in range(self.count))

    def coerce(self, value: object, path: str) -> object:
        if isinstance(value, _BYTES_LIKE):
            return self.from_bytes(value, path)
        if not isinstance(value, Sequence) or isinstance(value, str):
            raise fail(path, f"expected a sequence for {self.desc}, not {type(value).__name__}")
        if len(value) > self.count:
            raise fail(path, f"{len(value)} elements do not fit in {self.desc}")
        out = [self.elem.coerce(x, f"{path}[{i}]") for i, x in enumerate(value)]
        return tuple(out) + (self.elem.zero,) * (self.count - len(out))

    def write(self, buf: bytearray, off: int, value: Any) -> None:
        elem, size = self.elem, self.elem.size
        for i, x in enumerate(value):
            elem.write(buf, off + i * size, x)

    # -- flat --------------------------------------------------------------------------------
    def _leaf(self) -> bool:
        return isinstance(self.elem, (IntNode, EnumNode, FloatNode, OpaqueNode, BytesNode))

    def fmt(self, decode: bool) -> str:
        code = self.elem.fmt(decode)
        if len(code) == 1:
            return f"{self.count}{code}" if self.count else ""
        return code * self.count

    def items(self, decode: bool) -> int:
        return self.elem.items(decode) * self.count

    def emit_build(self, em: Emitter, i: int, pads: list[tuple[int, bytes]]) -> str:
        n, m = self.count, self.elem.items(True)
        if self._leaf():
            fn = self.elem.post()
            part = f"t[{i}:{i + n}]"
            return part if fn is None else f"tuple(map({em.const(fn)}, {part}))"
        if n <= self._UNROLL:
            parts = [self.elem.emit_build(em, i + j * m, pads) for j in range(n)]
            return "(" + "".join(p + ", " for p in parts) + ")"
        from pybpf.btf._values_flat import compiled  # noqa: PLC0415 - flat imports this module

        elem = compiled(self.elem)
        for j in range(n):  # the container checks (and remembers) its elements' padding
            pads += [(i + j * m + at, zero) for at, zero in elem.pads]
        build = em.const(elem.build)
        return f"tuple([{build}(t[k:k + {m}]) for k in range({i}, {i + n * m}, {m})])"

    def emit_pack(self, em: Emitter, expr: str) -> list[str]:
        if self._leaf():
            fn = self.elem.pre()
            return [f"*{expr}" if fn is None else f"*map({em.const(fn)}, {expr})"]
        if self.count <= self._UNROLL:
            out: list[str] = []
            for j in range(self.count):
                out += self.elem.emit_pack(em, f"{expr}[{j}]")
            return out
        from pybpf.btf._values_flat import compiled  # noqa: PLC0415

        args = em.const(compiled(self.elem).args)
        return [f"*[y for x in {expr} for y in {args}(x)]"]
