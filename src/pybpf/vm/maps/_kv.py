"""The Python face shared by hash- and array-like maps: a ``MutableMapping``.

Keys and values go through the map's :attr:`~KeyValueMap.codec`, as kernel maps' do: a map
whose spec has BTF key/value types (maps of an ELF object) decodes them with
:class:`pybpf.btf.values.MapCodec` (ints, structs as generated classes), built on first use;
others take and give raw bytes (ints accepted; array indexes come out as ints). ``m.raw``
is the same map seen through raw bytes, whatever its codec.
"""

from __future__ import annotations

import errno
from abc import abstractmethod
from collections.abc import Iterator, MutableMapping, Sequence
from contextlib import contextmanager
from typing import Any, ClassVar, Protocol

from pybpf._uapi import UpdateFlags
from pybpf._util import align
from pybpf.errors import BPFError, CodecError
from pybpf.vm.maps.base import Key, Value, VMMap, raise_for
from pybpf.vm.memory import byteorder

__all__ = ["Codec", "KeyValueMap", "RawView"]


class Codec(Protocol):
    """What a map's codec offers (the interface of :class:`pybpf.btf.values.MapCodec` and of
    the kernel maps' codecs)."""

    def encode_key(self, key: object) -> bytes: ...
    def decode_key(self, data: bytes) -> object: ...
    def encode_value(self, value: object) -> bytes: ...
    def decode_value(self, data: bytes) -> object: ...


_RAW: Any = None  # the codec value meaning "raw bytes: the map's own conversions"


class KeyValueMap(VMMap, MutableMapping[Any, Any]):
    """A map with keys and values: ``m[k]``, ``m[k] = v``, ``del m[k]``, ``in``, ``len``,
    iteration over keys (as ``bytes``), plus ``put``, ``lookup_and_delete`` and ``next_key``.

    Values read back as ``bytes``; per-CPU maps give a list with one value per CPU and take
    either such a list or one value for every CPU.
    """

    percpu = False
    typed: ClassVar[bool] = True  # families whose values are not bytes opt out
    _codec: Codec | None = None
    _codec_built = False
    _raw_mode = False

    # -- codecs --------------------------------------------------------------------------------
    @property
    def codec(self) -> Codec | None:
        """The typed codec of keys and values, or ``None`` for raw bytes (assign a codec, or
        ``None``, to change it). Built from the spec's BTF on first use."""
        if not self._codec_built:
            self._codec, self._codec_built = self.default_codec(), True
        return self._codec

    @codec.setter
    def codec(self, codec: Codec | None) -> None:
        self._codec, self._codec_built = codec, True

    def default_codec(self) -> Codec | None:
        """:meth:`typed_codec` when the spec has BTF key or value types that describe this
        map (the BTF of an object file may not: libbpf fixes some sizes at load), else
        ``None`` (raw bytes)."""
        spec = self.spec
        if not (self.typed and (spec.key_type or spec.value_type) and spec.btf is not None):
            return None
        try:
            return self.typed_codec()
        except (BPFError, KeyError, TypeError):
            return None

    def typed_codec(self) -> Codec:
        """A codec from the spec's BTF key and value types, built now.

        Raises:
            CodecError: a type's size differs from the map's; BTFError: unreadable BTF.
        """
        from pybpf.btf.values import MapCodec  # noqa: PLC0415 - only maps with BTF need it

        spec = self.spec
        return MapCodec(
            spec.btf,  # type: ignore[arg-type]
            spec.key_type,
            spec.value_type,
            key_size=self.key_size,
            value_size=self.value_size,
            name=self.name,
            byteorder=byteorder(self.host.endian),
        )

    @property
    def raw(self) -> RawView:
        """This map through raw bytes: ``m.raw[k]`` is the stored bytes of ``k``."""
        return RawView(self)

    def _typed(self) -> Codec | None:
        return None if self._raw_mode else self.codec

    @contextmanager
    def _raw_face(self) -> Iterator[None]:
        saved, self._raw_mode = self._raw_mode, True
        try:
            yield
        finally:
            self._raw_mode = saved

    def _in_key(self, key: Any, command: str = "BPF_MAP_LOOKUP_ELEM") -> bytes:
        codec = self._typed()
        return self._key(key, command) if codec is None else codec.encode_key(key)

    def _out_key(self, key: bytes) -> Any:
        codec = self._typed()
        return self._decode_key(key) if codec is None else codec.decode_key(key)

    def _out_value(self, found: Any) -> Any:
        codec = self._typed()
        if codec is None:
            return found
        if isinstance(found, list):
            return [codec.decode_value(v) for v in found]
        return codec.decode_value(found)

    def _one_value(self, value: Any) -> bytes:
        codec = self._typed()
        return self._value(value) if codec is None else codec.encode_value(value)

    # -- what subclasses implement (bytes in, bytes out) -------------------------------------
    @abstractmethod
    def _lookup_bytes(self, key: bytes) -> bytes | list[bytes] | None:
        """The value (per-CPU: the list of values) of ``key``, or ``None``."""

    @abstractmethod
    def _update_bytes(self, key: bytes, value: bytes, flags: int) -> int:
        """Insert or replace from the Python face; 0 or a negative errno."""

    @abstractmethod
    def _delete_bytes(self, key: bytes) -> int:
        """Remove; 0 or a negative errno."""

    @abstractmethod
    def _keys(self) -> Sequence[bytes]:
        """The keys in iteration order."""

    # -- the mapping ---------------------------------------------------------------------------
    def __getitem__(self, key: Key) -> Any:
        found = self._lookup_bytes(self._in_key(key))
        if found is None:
            raise KeyError(key)
        return self._out_value(found)

    def __setitem__(self, key: Key, value: Any) -> None:
        self.put(key, value)

    def __delitem__(self, key: Key) -> None:
        result = self._delete_bytes(self._in_key(key, "BPF_MAP_DELETE_ELEM"))
        if result == -errno.ENOENT:
            raise KeyError(key)
        raise_for(result, "BPF_MAP_DELETE_ELEM", self.name)

    def __contains__(self, key: object) -> bool:
        try:
            return self._lookup_bytes(self._in_key(key)) is not None
        except CodecError:
            return False

    def _decode_key(self, key: bytes) -> Any:
        """A key as the Python face gives it back (``bytes``; arrays give ``int``)."""
        return key

    def __iter__(self) -> Iterator[Any]:
        return iter([self._out_key(k) for k in self._keys()])

    def __len__(self) -> int:
        return len(self._keys())

    def keys(self) -> list[Any]:  # type: ignore[override]
        """The keys, as a list (a snapshot, like a kernel map's)."""
        return list(self)

    def values(self) -> list[Any]:  # type: ignore[override]
        """The values, as a list."""
        return [self[k] for k in self]

    def items(self) -> list[tuple[Any, Any]]:  # type: ignore[override]
        """``(key, value)`` pairs, as a list."""
        return [(k, self[k]) for k in self]

    def put(self, key: Key, value: Any, flags: int = UpdateFlags.ANY) -> None:
        """Insert or replace ``key`` (``flags``: ``NOEXIST`` only inserts, ``EXIST`` only
        replaces).

        Raises:
            KeyError: ``EXIST`` and the key is absent, or an array index out of range.
            SyscallError: ``EEXIST`` (``NOEXIST`` and the key is there), ``E2BIG`` (full).
            CodecError: a key or value of the wrong size or type.
        """
        kb = self._in_key(key, "BPF_MAP_UPDATE_ELEM")
        result = self._update_bytes(kb, self._value_bytes(value), int(flags))
        raise_for(result, "BPF_MAP_UPDATE_ELEM", self.name, key)

    def lookup_and_delete(self, key: Key) -> Any:
        """The value of ``key``, removed from the map.

        Raises:
            KeyError: ``key`` is not in the map.
        """
        value = self[key]
        del self[key]
        return value

    def next_key(self, key: Key | None = None) -> Any:
        """The key after ``key`` in iteration order (the first with ``None``, or when ``key``
        is not in the map, as the kernel does); ``None`` after the last."""
        keys = self._keys()
        at = None if key is None else self._position(self._in_key(key, "BPF_MAP_GET_NEXT_KEY"))
        nxt = 0 if at is None else at + 1
        return self._out_key(keys[nxt]) if nxt < len(keys) else None

    def _position(self, key: bytes) -> int | None:
        try:
            return list(self._keys()).index(key)
        except ValueError:
            return None

    # -- values --------------------------------------------------------------------------------
    @property
    def stride(self) -> int:
        """Bytes per CPU in a per-CPU value (the value size rounded up to 8)."""
        return align(self.value_size, 8)

    def _value_bytes(self, value: Any) -> bytes:
        """One value, or for per-CPU maps the per-CPU values laid out at :attr:`stride`."""
        if not self.percpu:
            return self._one_value(value)
        ncpus = self.host.ncpus
        values: list[Value]
        if isinstance(value, list) or (isinstance(value, tuple) and self._typed() is None):
            if len(value) != ncpus:
                hint = f"per-CPU value needs {ncpus} entries, got {len(value)}"
                raise CodecError(hint)
            values = list(value)
        else:
            values = [value] * ncpus
        pad = bytes(self.stride - self.value_size)
        return b"".join(self._one_value(v) + pad for v in values)

    def _split(self, data: bytes) -> list[bytes]:
        """Per-CPU bytes as one value per CPU."""
        s, n = self.stride, self.value_size
        return [data[i * s : i * s + n] for i in range(self.host.ncpus)]


class RawView(MutableMapping[Any, Any]):
    """A :class:`KeyValueMap` seen through raw bytes (``m.raw``): the same elements, keys
    and values as the bytes the program sees (ints accepted on the way in)."""

    def __init__(self, m: KeyValueMap) -> None:
        self.map = m

    def __repr__(self) -> str:
        return f"RawView({self.map!r})"

    def __getitem__(self, key: Key) -> Any:
        with self.map._raw_face():
            return self.map[key]

    def __setitem__(self, key: Key, value: Any) -> None:
        self.put(key, value)

    def __delitem__(self, key: Key) -> None:
        with self.map._raw_face():
            del self.map[key]

    def __contains__(self, key: object) -> bool:
        with self.map._raw_face():
            return key in self.map

    def __iter__(self) -> Iterator[Any]:
        with self.map._raw_face():
            return iter(self.map)

    def __len__(self) -> int:
        return len(self.map)

    def put(self, key: Key, value: Any, flags: int = UpdateFlags.ANY) -> None:
        """:meth:`KeyValueMap.put` with raw bytes."""
        with self.map._raw_face():
            self.map.put(key, value, flags)

    def keys(self) -> list[Any]:  # type: ignore[override]
        return list(self)

    def values(self) -> list[Any]:  # type: ignore[override]
        return [self[k] for k in self]

    def items(self) -> list[tuple[Any, Any]]:  # type: ignore[override]
        return [(k, self[k]) for k in self]
