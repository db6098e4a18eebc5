"""Codecs: how a map's Python keys and values become the bytes the kernel stores, and back.

A map calls its codec's four methods (``encode_key``, ``decode_key``, ``encode_value``,
``decode_value``) and, for batches, ``decode_keys``/``decode_values`` on a whole buffer.

* :class:`RawCodec` takes bytes of the exact size (or anything with the buffer protocol, such
  as a ctypes structure) and integers (packed in the host's byte order, signed when
  negative), and gives back bytes — or ints, when told.
* :class:`TypedCodec` reads the map's BTF key and value types
  (:class:`pybpf.btf.values.MapCodec`): integers as ``int``, structs as instances of classes
  generated from BTF, enums as :class:`enum.IntEnum` members, ``char`` arrays as ``bytes``.
  A map created with BTF types starts with it (built on first use: a map opened by id
  fetches its BTF from the kernel then); raw bytes stay possible through ``map.raw`` or
  ``map.codec = map.raw_codec()``. It lives in :mod:`pybpf.objects._typed_codec`, imported
  when the first typed codec is built: a program that loads maps and never reads them (``pybpf
  prog loadall``) does not pay for :mod:`pybpf.btf.values`.
"""

from __future__ import annotations

import abc
import functools
import operator
import struct
import sys
import weakref
from collections.abc import Callable, Sequence

from pybpf._util import lazy_exports
from pybpf.btf import BTF
from pybpf.errors import BPFError
from pybpf.objects._errors import CodecError
from pybpf.objects.btf import BTFHandle
from pybpf.spec import MapSpec

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (PEP 781's idiom)
if TYPE_CHECKING:
    from typing import Any, ClassVar, Literal

    from pybpf.objects._typed_codec import TypedCodec

    ByteOrder = Literal["little", "big"]

__all__ = [
    "Codec",
    "Coded",
    "DeferredCodec",
    "RawCodec",
    "SplitCodec",
    "TypedCodec",
    "encode_exact",
    "map_btf",
    "typed_codec",
]

_INT_FORMATS = {1: "B", 2: "H", 4: "I", 8: "Q"}
_RAW = operator.attrgetter("raw")  # a ctypes array's bytes
_FIRST = operator.itemgetter(0)
_SAME = operator.itemgetter(slice(None))  # b[:] is b itself: a C-level identity
__getattr__ = lazy_exports(__name__, {"pybpf.objects._typed_codec": "TypedCodec"})


class Codec(abc.ABC):
    """The interface a map's codec offers; subclasses implement the four element methods.

    The batch methods split a buffer of ``count`` packed elements; override them when a whole
    buffer decodes faster at once.
    """

    key_size: int = 0
    value_size: int = 0

    @abc.abstractmethod
    def encode_key(self, key: object) -> bytes:
        """``key`` as exactly ``key_size`` bytes.

        Raises:
            CodecError: the key has the wrong size or type.
        """

    @abc.abstractmethod
    def decode_key(self, data: bytes) -> object:
        """The Python key of ``key_size`` bytes."""

    @abc.abstractmethod
    def encode_value(self, value: object) -> bytes:
        """``value`` as exactly ``value_size`` bytes (see :meth:`encode_key`)."""

    @abc.abstractmethod
    def decode_value(self, data: bytes) -> object:
        """The Python value of ``value_size`` bytes."""

    def decode_keys(self, data: bytes, count: int) -> list[object]:
        """``count`` keys packed back to back in ``data``."""
        return [self.decode_key(b) for b in split(data, self.key_size, count)]

    def key_packer(self, buffer: Any) -> Callable[[Any], object] | None:
        """A C-level function writing the common form of a key into ``buffer`` (a map's key
        buffer), for the lookup path; or None.

        Integer keys are packed in one C call (``struct.Struct.pack_into``), with no Python
        frame. The packer raises for what it cannot pack (bytes, a number out of range, a
        name), and the map then takes :meth:`encode_key`, whose checks decide.
        """
        return None

    def decode_values(self, data: bytes, count: int) -> list[object]:
        """``count`` values packed back to back in ``data``."""
        return [self.decode_value(b) for b in split(data, self.value_size, count)]

    def value_reader(self) -> tuple[Callable[[Any], Any], Callable[[Any], Any]]:
        """``(unpack, build)`` with ``build(unpack(buf)) == decode_value(buf.raw)`` for a
        map's value buffer ``buf`` (a ctypes array of the map's value bytes), for the lookup
        path: codecs whose values unpack with :mod:`struct` read the buffer in place and
        build in C calls. By default: the buffer's bytes, then :meth:`decode_value`."""
        return _RAW, self.decode_value


@functools.lru_cache(maxsize=8)
def _splitter(size: int, count: int) -> struct.Struct:
    return struct.Struct(f"{size}s" * count)


def split(data: bytes, size: int, count: int) -> Sequence[bytes]:
    """``count`` slices of ``size`` bytes from the start of ``data`` (one C call: a struct
    of ``count`` byte strings, compiled once per shape)."""
    if not size or not count:
        return [b""] * count
    return _splitter(size, count).unpack_from(data)


def encode_exact(x: object, size: int, what: str, byteorder: ByteOrder = sys.byteorder) -> bytes:
    """``x`` (bytes-like, or int) as exactly ``size`` bytes.

    Raises:
        CodecError: the wrong size, an int out of range, or a type with no byte form.
    """
    if type(x) is bytes:
        data = x
    elif isinstance(x, int):
        try:
            return x.to_bytes(size, byteorder, signed=x < 0)
        except OverflowError:
            raise CodecError(f"{what} {x} does not fit in {size} bytes") from None
    else:
        try:
            data = memoryview(x).tobytes()  # type: ignore[arg-type]  # a TypeError if not a buffer
        except TypeError:
            raise CodecError(
                f"{what} must be bytes or an int ({size} bytes), not {type(x).__name__}"
            ) from None
    if len(data) != size:
        raise CodecError(f"{what} is {len(data)} bytes, but this map's {what}s are {size} bytes")
    return data


def _identity(data: bytes) -> object:
    return data


def _int_little(data: bytes, _from: Callable[..., int] = int.from_bytes) -> object:
    return _from(data, "little")


def _int_big(data: bytes, _from: Callable[..., int] = int.from_bytes) -> object:
    return _from(data, "big")


def _decoder(as_int: bool, byteorder: ByteOrder) -> Callable[[bytes], object]:
    if not as_int:
        return _identity
    return _int_little if byteorder == "little" else _int_big


class RawCodec(Codec):
    """Bytes of the exact size or integers in; bytes (or ints, when asked) out.

    Args:
        key_size, value_size: the map's sizes in bytes.
        int_keys, int_values: decode keys/values as unsigned integers in ``byteorder``.
        byteorder: of integers (the host's: the kernel stores native-endian values).
    """

    def __init__(
        self,
        key_size: int,
        value_size: int,
        *,
        int_keys: bool = False,
        int_values: bool = False,
        byteorder: ByteOrder = sys.byteorder,
    ) -> None:
        self.key_size = key_size
        self.value_size = value_size
        self.int_keys = int_keys
        self.int_values = int_values
        self.byteorder = byteorder
        # Plain functions, not methods: the lookup hot path calls them once per element.
        self.decode_key = _decoder(int_keys, byteorder)  # type: ignore[method-assign, assignment]
        self.decode_value = _decoder(int_values, byteorder)  # type: ignore[method-assign, assignment]

    def __repr__(self) -> str:
        kinds = ("int" if self.int_keys else "bytes", "int" if self.int_values else "bytes")
        return f"RawCodec({self.key_size} -> {self.value_size}, {kinds[0]} -> {kinds[1]})"

    def encode_key(self, key: object) -> bytes:
        if type(key) is bytes:
            if len(key) == self.key_size:
                return key
        elif type(key) is int and key >= 0:
            try:
                return key.to_bytes(self.key_size, self.byteorder)
            except OverflowError:
                pass
        return encode_exact(key, self.key_size, "key", self.byteorder)

    def encode_value(self, value: object) -> bytes:
        if type(value) is bytes:
            if len(value) == self.value_size:
                return value
        elif type(value) is int and value >= 0:
            try:
                return value.to_bytes(self.value_size, self.byteorder)
            except OverflowError:
                pass
        return encode_exact(value, self.value_size, "value", self.byteorder)

    def decode_key(self, data: bytes) -> object:
        return int.from_bytes(data, self.byteorder) if self.int_keys else data

    def decode_value(self, data: bytes) -> object:
        return int.from_bytes(data, self.byteorder) if self.int_values else data

    def decode_keys(self, data: bytes, count: int) -> list[object]:
        return self._many(data, self.key_size, count, self.int_keys)

    def value_reader(self) -> tuple[Callable[[Any], Any], Callable[[Any], Any]]:
        fmt = _INT_FORMATS.get(self.value_size)
        if not self.int_values:
            return _RAW, _SAME
        if fmt is None:
            return _RAW, self.decode_value
        order = "<" if self.byteorder == "little" else ">"
        return struct.Struct(order + fmt).unpack_from, _FIRST

    def key_packer(self, buffer: Any) -> Callable[[Any], object] | None:
        # Only where keys are ints (array indexes): elsewhere bytes keys are the common form.
        fmt = _INT_FORMATS.get(self.key_size)
        if not self.int_keys or fmt is None:
            return None
        order = "<" if self.byteorder == "little" else ">"
        return functools.partial(struct.Struct(order + fmt).pack_into, buffer, 0)

    def decode_values(self, data: bytes, count: int) -> list[object]:
        return self._many(data, self.value_size, count, self.int_values)

    def _many(self, data: bytes, size: int, count: int, as_int: bool) -> list[object]:
        fmt = _INT_FORMATS.get(size)
        if as_int and fmt is not None:
            order = "<" if self.byteorder == "little" else ">"
            return list(struct.unpack_from(f"{order}{count}{fmt}", data))
        if as_int:
            return [int.from_bytes(b, self.byteorder) for b in split(data, size, count)]
        return list(split(data, size, count))


def map_btf(spec: MapSpec, btf_id: Callable[[], int], *, kernel: bool = False) -> BTF:
    """The BTF a map's ``key_type``/``value_type`` refer to: the spec's own when parsed or
    raw, else (or with ``kernel``) the map's BTF fetched from the kernel by its ``btf_id``
    (``btf_id()`` asks for it)."""
    btf = spec.btf
    if isinstance(btf, BTF) and not kernel:
        return btf
    if isinstance(btf, (bytes, bytearray, memoryview)) and not kernel:
        return BTF(bytes(btf), name=f"BTF of map {spec.name!r}")
    with BTFHandle.from_id(btf_id()) as handle:
        return BTF(handle.raw(), name=f"BTF of map {spec.name!r}")


def typed_codec(spec: MapSpec, btf_id: Callable[[], int], *, int_keys: bool = False) -> TypedCodec:
    """The typed codec of a map made from ``spec`` (host byte order, as the kernel stores);
    ``int_keys``: keys without a BTF type decode as ints.

    The spec's BTF is used when it fits the map; BTF as an object file holds it may not
    (libbpf fixes DATASEC sizes at load), and then the BTF the kernel holds is read instead.

    Raises:
        CodecError: the map has no BTF types, its BTF cannot be read, or a type's size
            differs from the map's.
    """
    if not (spec.key_type or spec.value_type):
        raise CodecError(f"map {spec.name!r} has no BTF key or value type")
    try:
        return _typed(spec, map_btf(spec, btf_id), int_keys)
    except CodecError:
        if spec.btf is None or not btf_id():
            raise
    except (BPFError, KeyError) as exc:
        raise _untyped(spec, exc) from exc
    try:
        return _typed(spec, map_btf(spec, btf_id, kernel=True), int_keys)
    except (BPFError, KeyError) as exc:
        raise _untyped(spec, exc) from exc


def _typed(spec: MapSpec, btf: BTF, int_keys: bool) -> TypedCodec:
    from pybpf.objects._typed_codec import TypedCodec  # noqa: PLC0415 - see the docstring

    return TypedCodec(
        btf,
        spec.key_type,
        spec.value_type,
        key_size=spec.key_size,
        value_size=spec.value_size,
        name=spec.name,
        byteorder=sys.byteorder,
        int_keys=int_keys,
    )


def _untyped(spec: MapSpec, exc: Exception) -> CodecError:
    return CodecError(
        f"map {spec.name!r}: cannot type keys and values from BTF ({exc}); "
        "use map.raw or map.codec = map.raw_codec() for bytes"
    )


class DeferredCodec(Codec):
    """A codec built on first use (a typed codec may need the map's BTF from the kernel).

    ``build()`` makes the real codec; ``install(codec)`` is then called once (a map puts the
    real codec in its place, so later calls go straight to it).
    """

    def __init__(
        self,
        build: Callable[[], Codec],
        key_size: int,
        value_size: int,
        install: Callable[[Codec], None] | None = None,
    ) -> None:
        self.key_size, self.value_size = key_size, value_size
        self._build, self.install = build, install
        self._codec: Codec | None = None

    def __repr__(self) -> str:
        return f"DeferredCodec({self._codec!r})" if self._codec else "DeferredCodec(not built)"

    def resolve(self) -> Codec:
        """The real codec (built now if needed)."""
        if self._codec is None:
            self._codec = self._build()
            if self.install is not None:
                self.install(self._codec)
        return self._codec

    def encode_key(self, key: object) -> bytes:
        return self.resolve().encode_key(key)

    def decode_key(self, data: bytes) -> object:
        return self.resolve().decode_key(data)

    def encode_value(self, value: object) -> bytes:
        return self.resolve().encode_value(value)

    def decode_value(self, data: bytes) -> object:
        return self.resolve().decode_value(data)

    def decode_keys(self, data: bytes, count: int) -> list[object]:
        return self.resolve().decode_keys(data, count)

    def decode_values(self, data: bytes, count: int) -> list[object]:
        return self.resolve().decode_values(data, count)


class SplitCodec(Codec):
    """Keys through one codec, values through another."""

    def __init__(self, keys: Codec, values: Codec) -> None:
        self.keys, self.values = keys, values
        self.key_size, self.value_size = keys.key_size, values.value_size
        self.encode_key, self.decode_key = keys.encode_key, keys.decode_key  # type: ignore[method-assign]
        self.decode_keys = keys.decode_keys  # type: ignore[method-assign]
        self.encode_value, self.decode_value = values.encode_value, values.decode_value  # type: ignore[method-assign]
        self.decode_values = values.decode_values  # type: ignore[method-assign]

    def __repr__(self) -> str:
        return f"SplitCodec({self.keys!r}, {self.values!r})"

    def key_packer(self, buffer: Any) -> Callable[[Any], object] | None:
        return self.keys.key_packer(buffer)

    def value_reader(self) -> tuple[Callable[[Any], Any], Callable[[Any], Any]]:
        return self.values.value_reader()

    def encode_key(self, key: object) -> bytes:
        return self.keys.encode_key(key)

    def decode_key(self, data: bytes) -> object:
        return self.keys.decode_key(data)

    def encode_value(self, value: object) -> bytes:
        return self.values.encode_value(value)

    def decode_value(self, data: bytes) -> object:
        return self.values.decode_value(data)


class Coded:
    """What maps whose elements go through a codec share (a mixin of map classes): the
    :attr:`codec` property and the codecs a map offers.

    A map with BTF key or value types starts with :meth:`typed_codec` (built on first use),
    others with :meth:`raw_codec`; families say how a typed codec is wrapped (per-CPU lists,
    LPM keys) by overriding :meth:`typed_codec`, and opt out with ``typed = False``.
    """

    typed: ClassVar[bool] = True
    int_keys: ClassVar[bool] = False  # keys without a BTF type decode as ints (array indexes)

    _codec: Codec
    _spec: MapSpec

    @property
    def codec(self) -> Codec:
        """How keys and values become bytes (assign another codec to change it)."""
        return self._codec

    @codec.setter
    def codec(self, codec: Codec) -> None:
        self._codec = codec
        self._bind(codec)

    def _bind(self, codec: Codec) -> None:
        """Take the element functions the map's operations call (subclasses)."""

    def raw_codec(self) -> Codec:
        """This map's codec of raw bytes (bytes of the exact size or ints in, bytes out)."""
        return RawCodec(self._spec.key_size, self._spec.value_size)

    def default_codec(self) -> Codec:
        """The codec a new handle starts with: :meth:`typed_codec` when the map has BTF key
        or value types (built on first use), else :meth:`raw_codec`."""
        spec = self._spec
        if not (self.typed and (spec.key_type or spec.value_type)):
            return self.raw_codec()
        ref = weakref.ref(self)  # no cycle: the map owns the codec, not the reverse

        def build() -> Codec:
            m = ref()
            if m is None:
                raise CodecError(f"map {spec.name!r} is gone")
            return m.typed_codec()

        def install(codec: Codec) -> None:
            m = ref()
            if m is not None and m._codec is deferred:
                m.codec = codec

        deferred = DeferredCodec(build, spec.key_size, spec.value_size, install)
        return deferred

    def typed_codec(self) -> Codec:
        """A codec typed from the map's BTF key and value types (see
        :mod:`pybpf.btf.values`), built now.

        Raises:
            CodecError: the map has no BTF types, or they cannot be read.
        """
        btf_id = lambda: self.info().btf_id  # type: ignore[attr-defined]  # noqa: E731 - asked only if needed
        return typed_codec(self._spec, btf_id, int_keys=self.int_keys)
