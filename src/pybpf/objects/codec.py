"""Codecs: how a map's Python keys and values become the bytes the kernel stores, and back.

A map calls its codec's four methods (``encode_key``, ``decode_key``, ``encode_value``,
``decode_value``) and, for batches, ``decode_keys``/``decode_values`` on a whole buffer.
:class:`RawCodec` takes bytes of the exact size (or anything with the buffer protocol, such as
a ctypes structure) and integers (packed in the host's byte order, signed when negative), and
gives back bytes — or ints, when told. Typed codecs built from BTF (structs as Python objects)
plug in here with the same methods.
"""

from __future__ import annotations

import abc
import functools
import struct
import sys
from collections.abc import Callable, Sequence
from typing import Any, Literal, cast

from pybpf.objects._errors import CodecError

__all__ = ["Codec", "RawCodec", "encode_exact"]

_INT_FORMATS = {1: "B", 2: "H", 4: "I", 8: "Q"}
ByteOrder = Literal["little", "big"]


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

    def decode_values(self, data: bytes, count: int) -> list[object]:
        """``count`` values packed back to back in ``data``."""
        return [self.decode_value(b) for b in split(data, self.value_size, count)]


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
            data = memoryview(cast("Any", x)).tobytes()
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
