"""Map keys and values typed from BTF: bytes become Python values and back.

The BTF of a map (or of a global variable) says what its bytes are; this module turns that
description into codecs, so no struct is ever written twice by hand::

    from pybpf.btf import BTF, Kind
    from pybpf.btf.values import MapCodec, type_codec

    btf = BTF.from_path("prog.bpf.o")
    (flow_id,) = btf.find("flow", Kind.STRUCT)
    codec = type_codec(btf, flow_id)
    Flow = codec.python_type                    # a class generated from struct flow
    f = codec.decode(data)                      # flow(saddr=167772161, dport=443, ...)
    f.dport, f._replace(dport=80), bytes(f)     # fields, a changed copy, the bytes
    codec.encode({"saddr": 1, "dport": 80})     # bytes; missing fields are zero

    maps = MapCodec(btf, key_id, value_id, key_size=4, value_size=16, name="flows")
    maps.encode_key(7), maps.decode_value(raw)  # what kernel and VM maps call

==========================  ============================================================
BTF type                    Python value
==========================  ============================================================
integer, pointer            ``int`` (``_Bool``: ``bool``; 0/1 only, other bytes stay ints)
enum, enum64                a member of an :class:`enum.IntEnum` made from it, or a plain
                            ``int`` for a value it does not name
float, double (_Float16)    ``float``; ``long double``: its ``bytes``
``char`` array              ``bytes`` without the trailing NULs (a string, as bpftool
                            shows it); a ``str`` is accepted and encoded as UTF-8
other 1-byte arrays         ``bytes`` of every element (``__u8 addr[4]``)
other arrays                ``tuple``
struct, union, DATASEC      an instance of a class generated from it
                            (:class:`StructValue`, :class:`UnionValue`)
==========================  ============================================================

Generated classes are tuple subclasses, like :func:`~collections.namedtuple` (one per BTF
object and type): immutable and hashable (a struct can be a dict key, as map keys often
are), with ``_fields``, ``_replace``, ``_asdict``, ``_make``, ``_from_bytes`` and ``bytes(v)``;
like a namedtuple, a value equals the plain tuple of its fields. An anonymous struct or union
member is a field ``_anon0`` (``_anon1`` …) whose members read by their own names too, as
in C (``v.as_u32`` for ``v._anon0.as_u32``); bpftool names it ``""``.

Encoding takes the generated object, a dict (missing fields are zero), a sequence in field
order, an int for integer types, or raw bytes of exactly the type's size; anything else
raises :class:`~pybpf.errors.CodecError` naming the map, the field path and the problem.
Decoding and encoding again gives back the same bytes, padding included (except the payload
of a 2- or 4-byte float NaN, which Python converts through a double).

Speed: a layout of whole, byte-aligned fields compiles to one :class:`struct.Struct` and a
generated builder, so decoding a struct value is one ``unpack`` and one tuple; bitfields,
unions and their containers take a slower general path. A batch of plain structs (fields as
they are, padding checked for the whole batch at once) decodes with no Python call per value
(:mod:`pybpf.btf._values_batch`); :meth:`TypeCodec.packer` and :meth:`TypeCodec.reader` give a
map's lookup path C-level calls for integer keys and flat values. Pure: no I/O, no
``ctypes``; the kernel's maps (:mod:`pybpf.objects`) and the VM's maps both use
:class:`MapCodec`.
"""

from __future__ import annotations

import functools
import operator
import struct
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from pybpf._util import paused_gc
from pybpf.btf._values_batch import check_size, plain_many
from pybpf.btf._values_build import node_of
from pybpf.btf._values_flat import Compiled, compiled, flat_ok, many_struct
from pybpf.btf._values_nodes import (
    BytesNode,
    EnumNode,
    FloatNode,
    IntNode,
    Node,
    OpaqueNode,
    fail,
)
from pybpf.btf._values_struct import StructNode, StructValue, UnionValue, raw_of
from pybpf.btf.kinds import ByteOrder
from pybpf.errors import CodecError

if TYPE_CHECKING:
    from pybpf.btf._btf import BTF

__all__ = ["MapCodec", "StructValue", "TypeCodec", "UnionValue", "raw_of", "type_codec"]

Decoder = Callable[[bytes], Any]
ManyDecoder = Callable[[bytes, int], list[Any]]
Encoder = Callable[[Any], bytes]


def type_codec(btf: BTF, type_id: int, *, byteorder: ByteOrder | None = None) -> TypeCodec:
    """The codec of BTF type ``type_id`` (typedefs, modifiers and a VAR's type followed),
    made once per BTF object, byte order (default: the BTF's) and type.

    Raises:
        KeyError: no such type id.
        BTFError: a type with no value (void, a forward declaration, a function).
    """
    node = node_of(btf, type_id, byteorder)
    found: TypeCodec | None = node.__dict__.get("_type_codec")
    if found is None:
        found = TypeCodec(node, type_id)
        node.__dict__["_type_codec"] = found
    return found


class TypeCodec:
    """Bytes ↔ Python values of one BTF type (see the module docstring).

    ``decode(data)`` reads the first :attr:`size` bytes of ``data``; ``decode_many(data, n)``
    ``n`` values packed back to back; ``encode(value)`` gives exactly :attr:`size` bytes.
    :attr:`python_type` is what values decode to (the generated class of a struct).
    """

    def __init__(self, node: Node, type_id: int) -> None:
        self.node = node
        self.type_id = type_id
        self.size = node.size
        self.flat = flat_ok(node)
        self._compiled: Compiled | None = compiled(node) if self.flat else None
        self.decode: Decoder = self._make_decoder()
        self.decode_many: ManyDecoder = self._make_many()
        self.encode: Encoder = self.encoder(node.desc)

    def __repr__(self) -> str:
        return f"TypeCodec({self.node.desc}, {self.size} bytes)"

    @property
    def python_type(self) -> type:
        """The type values decode to: the generated class of a struct, union or DATASEC,
        the :class:`enum.IntEnum` of an enum; ``int``, ``bool``, ``float``, ``bytes``,
        ``tuple`` otherwise."""
        node = self.node
        if isinstance(node, StructNode | EnumNode):
            return node.cls
        if isinstance(node, IntNode):
            return bool if node.is_bool else int
        if isinstance(node, FloatNode):
            return float
        if isinstance(node, BytesNode | OpaqueNode):
            return bytes
        return tuple

    @property
    def zero(self) -> object:
        """The value of all-zero bytes."""
        return self.node.zero

    def coerce(self, value: object, path: str = "") -> object:
        """``value`` as this type's canonical Python value (what :meth:`decode` returns for
        the bytes :meth:`encode` makes of it).

        Raises:
            CodecError: a value of the wrong type, size or range.
        """
        return self.node.coerce(value, path or self.node.desc)

    # -- decoding ----------------------------------------------------------------------------
    def _short(self, data: object) -> CodecError:
        size = len(data) if isinstance(data, bytes | bytearray | memoryview) else "?"
        return CodecError(f"{self.node.desc} is {self.size} bytes; {size} bytes given")

    def _make_decoder(self) -> Decoder:
        c = self._compiled
        if c is None:
            return self._decode_general
        ns = dict(c.ns, _u=c.dec.unpack_from, _E=struct.error, _short=self._short)
        ns["_C"] = getattr(self.node, "cls", None)
        body = f"({c.expr}) if {c.checks} else {c.slow}(t)" if c.checks else c.expr
        if c.trivial:
            body = "_new(_C, t)"
        source = (
            "def decode(data):\n"
            "    try:\n"
            "        t = _u(data)\n"
            "    except _E:\n"
            "        raise _short(data) from None\n"
            f"    return {body}\n"
        )
        exec(source, ns)
        decode: Decoder = ns["decode"]  # type: ignore[assignment]
        return decode

    def _decode_general(self, data: bytes) -> Any:
        if len(data) < self.size:
            raise self._short(data)
        return self.node.decode(data, 0)

    def _make_many(self) -> ManyDecoder:
        c, node, size = self._compiled, self.node, self.size
        if c is None or not size:
            return self._many_general
        code = c.dec.format[1:]
        if len(code) == 1 and isinstance(node, IntNode | EnumNode | FloatNode):
            return _scalars_many(node, c.dec.format[0], code)
        plain = plain_many(c)
        if plain is not None:
            return plain
        build, iter_unpack = c.build, c.dec.iter_unpack

        def decode_many(data: bytes, count: int) -> list[Any]:
            view = check_size(data, count, size)
            with paused_gc():
                return list(map(build, iter_unpack(view)))

        return decode_many

    def _many_general(self, data: bytes, count: int) -> list[Any]:
        check_size(data, count, self.size)
        decode, size = self.node.decode, self.size
        with paused_gc():
            return [decode(data, i * size) for i in range(count)]

    # -- fast paths for callers that own a buffer ----------------------------------------------
    def packer(self, buffer: Any) -> Callable[[Any], object] | None:
        """A function writing an ``int`` of this integer or enum type into the first
        :attr:`size` bytes of ``buffer`` (a writable buffer) in one C call
        (``struct.Struct.pack_into``), for a caller's hot path; None for other types.

        It raises (``struct.error``, ``TypeError`` …) for what it cannot pack — bytes, an
        enum member's name, a number out of range — and the caller then takes
        :attr:`encode`, whose checks decide (the bytes are the same wherever both accept a
        value).
        """
        c, node = self._compiled, self.node
        if c is None or not isinstance(node, IntNode | EnumNode) or node.pre() is not None:
            return None
        return functools.partial(c.enc.pack_into, buffer, 0)

    def reader(self) -> tuple[Callable[[Any], Any], Callable[[Any], Any]] | None:
        """``(unpack, build)`` with ``build(unpack(buffer)) == decode(buffer)`` for a buffer
        of at least :attr:`size` bytes, for a caller's hot path: a flat layout's
        ``unpack_from`` and its builder (C calls only for a struct made of its fields as they
        are, and for an integer or float); None where the layout is not flat."""
        c, node = self._compiled, self.node
        if c is None:
            return None
        if isinstance(node, IntNode | FloatNode) and node.post() is None:
            return c.dec.unpack_from, operator.itemgetter(0)
        return c.dec.unpack_from, c.build

    # -- encoding ----------------------------------------------------------------------------
    def encoder(self, path: str) -> Encoder:
        """An ``encode`` whose errors name ``path`` (``"map 'flows': key"``)."""
        c = self._compiled
        slow = _SlowEncoder(self.node, path, c)
        test = _fast_test(self.node)
        if c is None or test is None:
            return slow
        ns = dict(c.ns, _p=c.enc.pack, _slow=slow, _size=self.size, _n=self.size)
        ns["_C"] = getattr(self.node, "cls", None)
        source = (
            "def encode(o):\n"
            f"    if {test}:\n"
            "        try:\n"
            f"            return _p({c.pack})\n"
            "        except Exception:\n"
            "            pass\n"
            "    elif type(o) is bytes and len(o) == _size:\n"
            "        return o\n"
            "    return _slow(o)\n"
        )
        exec(source, ns)
        encode: Encoder = ns["encode"]  # type: ignore[assignment]
        return encode


def _scalars_many(node: IntNode | EnumNode | FloatNode, order: str, code: str) -> ManyDecoder:
    """``decode_many`` of an integer, enum or float type: one unpack of the whole batch (an
    enum's members and a ``_Bool``'s bools looked up by ``map`` from C)."""
    size = node.size
    lookup: Callable[[int, int], object] | None = None
    if isinstance(node, EnumNode):
        lookup = node.members.get
    elif isinstance(node, IntNode) and node.is_bool:
        lookup = _BOOLS.get  # as IntNode.canonical: 0/1 are bools, other bytes stay ints

    def decode_many(data: bytes, count: int) -> list[Any]:
        items = many_struct(order, count, code).unpack_from(check_size(data, count, size))
        return list(items) if lookup is None else list(map(lookup, items, items))

    return decode_many


_BOOLS: dict[int, bool] = {0: False, 1: True}


def _fast_test(node: Node) -> str | None:
    """The source of the test that lets a value skip the checks of the general path (it is
    canonical already, or packing checks it), or None where every value takes that path."""
    if isinstance(node, StructNode):
        raw = " and o.__pybpf_raw__ is None" if node.pads else ""
        return f"type(o) is _C{raw}"
    if isinstance(node, EnumNode):
        return "type(o) is int or type(o) is _C"
    if isinstance(node, IntNode):
        return "type(o) is int or type(o) is bool" if node.is_bool else "type(o) is int"
    if isinstance(node, FloatNode):
        return "type(o) is float"
    if isinstance(node, BytesNode):
        return "type(o) is bytes and len(o) <= _n"
    return None


class _SlowEncoder:
    """The general path of encoding: check and convert, then write into a buffer."""

    __slots__ = ("node", "pack", "path")

    def __init__(self, node: Node, path: str, flat: Compiled | None) -> None:
        self.node, self.path = node, path
        self.pack: Callable[[object], bytes] | None = None
        if flat is not None:
            pack, args = flat.enc.pack, flat.args
            self.pack = lambda o: pack(*args(o))

    def __call__(self, value: object) -> bytes:
        node, size = self.node, self.node.size
        data = _buffer(value)
        if data is not None:
            if len(data) == size:
                return data
            if not isinstance(node, BytesNode):
                raise fail(self.path, f"{len(data)} bytes given; {node.desc} is {size} bytes")
        canonical = node.coerce(value, self.path)
        buf = bytearray(size)
        try:
            if self.pack is not None and raw_of(canonical) is None:
                return self.pack(canonical)
            node.write(buf, 0, canonical)
        except (TypeError, ValueError, OverflowError, IndexError, struct.error) as exc:
            raise fail(self.path, f"cannot encode {type(value).__name__}: {exc}") from None
        return bytes(buf)


def _buffer(value: object) -> bytes | None:
    """The bytes of a bytes-like value (anything with the buffer protocol), else None."""
    if isinstance(value, bytes):
        return value
    if isinstance(value, int | float | str | tuple | list | dict):
        return None
    try:
        return memoryview(value).tobytes()  # type: ignore[arg-type]
    except TypeError:
        return None


class MapCodec:
    """The keys and values of a map typed from BTF, with the method names every pybpf map
    codec has (``encode_key``, ``decode_key``, ``encode_value``, ``decode_value``,
    ``decode_keys``, ``decode_values``).

    A side without a BTF type (``key_type`` None or 0, as in queues or global-data maps)
    takes bytes of the exact size or ints, and decodes to bytes (keys: to unsigned ints with
    ``int_keys``, as array indexes).

    Args:
        btf: the BTF the type ids refer to.
        key_type, value_type: BTF type ids (``bpf_map_info.btf_key_type_id`` …).
        key_size, value_size: the map's sizes; checked against the types' sizes.
        name: the map's name, for error messages.
        byteorder: of the data (default: the BTF's; the kernel's maps are in host order).
        int_keys: decode keys without a BTF type as unsigned ints.

    Raises:
        CodecError: a type's size differs from the map's.
        BTFError: a type with no value.
    """

    def __init__(
        self,
        btf: BTF,
        key_type: int | None,
        value_type: int | None,
        *,
        key_size: int | None = None,
        value_size: int | None = None,
        name: str = "",
        byteorder: ByteOrder | None = None,
        int_keys: bool = False,
    ) -> None:
        order = byteorder or btf.byteorder
        prefix = f"map {name!r}: " if name else ""
        self.name = name
        self.key = type_codec(btf, key_type, byteorder=order) if key_type else None
        self.value = type_codec(btf, value_type, byteorder=order) if value_type else None
        self.key_size = _size(self.key, key_size, f"{prefix}key")
        self.value_size = _size(self.value, value_size, f"{prefix}value")
        # Plain functions, not methods: a map calls them once per element.
        keys = _side(self.key, self.key_size, f"{prefix}key", order, int_keys)
        values = _side(self.value, self.value_size, f"{prefix}value", order, False)
        self.encode_key, self.decode_key, self.decode_keys = keys  # type: ignore[method-assign, assignment]
        self.encode_value, self.decode_value, self.decode_values = values  # type: ignore[method-assign, assignment]
        self._int_keys = int_keys
        self._order = order

    def key_packer(self, buffer: Any) -> Callable[[Any], object] | None:
        """A function writing an ``int`` key into ``buffer`` in one C call, for a map's
        lookup path (see :meth:`TypeCodec.packer`: when it raises, use :meth:`encode_key`);
        None where keys are not integers (structs, or untyped keys decoded as bytes)."""
        if self.key is not None:
            return self.key.packer(buffer)
        code = _UNSIGNED.get(self.key_size)
        if not self._int_keys or code is None:
            return None
        prefix = "<" if self._order == "little" else ">"
        return functools.partial(struct.Struct(prefix + code).pack_into, buffer, 0)

    def __repr__(self) -> str:
        key = self.key.node.desc if self.key else f"{self.key_size} bytes"
        value = self.value.node.desc if self.value else f"{self.value_size} bytes"
        name = f"{self.name!r}, " if self.name else ""
        return f"MapCodec({name}{key} -> {value})"

    # Each instance replaces these with the functions made in __init__ (one call less per
    # element); they are the codec interface.
    def encode_key(self, key: object) -> bytes:
        """``key`` as exactly ``key_size`` bytes."""
        return self.encode_key(key)

    def decode_key(self, data: bytes) -> object:
        """The key of ``key_size`` bytes."""
        return self.decode_key(data)

    def encode_value(self, value: object) -> bytes:
        """``value`` as exactly ``value_size`` bytes."""
        return self.encode_value(value)

    def decode_value(self, data: bytes) -> object:
        """The value of ``value_size`` bytes."""
        return self.decode_value(data)

    def decode_keys(self, data: bytes, count: int) -> list[object]:
        """``count`` keys packed back to back."""
        return self.decode_keys(data, count)

    def decode_values(self, data: bytes, count: int) -> list[object]:
        """``count`` values packed back to back."""
        return self.decode_values(data, count)


_UNSIGNED = {1: "B", 2: "H", 4: "I", 8: "Q"}


def _size(codec: TypeCodec | None, given: int | None, what: str) -> int:
    if codec is None:
        return given or 0
    if given is not None and given != codec.size:
        raise CodecError(
            f"{what}: BTF type [{codec.type_id}] ({codec.node.desc}) is {codec.size} bytes, "
            f"but the map's are {given} bytes"
        )
    return codec.size


def _side(
    codec: TypeCodec | None, size: int, path: str, order: ByteOrder, ints: bool
) -> tuple[Encoder, Decoder, ManyDecoder]:
    if codec is not None:
        return codec.encoder(path), codec.decode, codec.decode_many
    raw = _RawSide(size, path, order)
    if ints:
        return raw.encode, raw.decode_int, raw.decode_ints
    return raw.encode, raw.decode, raw.decode_many


class _RawSide:
    """A side without BTF: bytes of the exact size or ints in, bytes out."""

    def __init__(self, size: int, path: str, order: ByteOrder) -> None:
        self.size, self.path, self.order = size, path, order

    def encode(self, value: object) -> bytes:
        if isinstance(value, int):
            try:
                return value.to_bytes(self.size, self.order, signed=value < 0)
            except OverflowError:
                raise fail(self.path, f"{value} does not fit in {self.size} bytes") from None
        data = _buffer(value)
        if data is None:
            raise fail(self.path, f"expected bytes or an int, not {type(value).__name__}")
        if len(data) != self.size:
            raise fail(self.path, f"{len(data)} bytes given; {self.size} bytes expected")
        return data

    def decode(self, data: bytes) -> bytes:
        return bytes(data[: self.size])

    def decode_many(self, data: bytes, count: int) -> list[bytes]:
        size = self.size
        return [bytes(data[i * size : (i + 1) * size]) for i in range(count)]

    def decode_int(self, data: bytes) -> int:
        return int.from_bytes(data[: self.size], self.order)

    def decode_ints(self, data: bytes, count: int) -> list[int]:
        size, order = self.size, self.order
        return [int.from_bytes(data[i * size : (i + 1) * size], order) for i in range(count)]
