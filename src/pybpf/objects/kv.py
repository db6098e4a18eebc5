"""Key/value maps as Python mappings: :class:`KeyValueMap`, :class:`HashMap`, :class:`ArrayMap`.

``m[k]``, ``m[k] = v``, ``del m[k]`` (KeyError when absent), ``k in m``, iteration, ``len``,
``get``, ``pop`` and the rest of :class:`collections.abc.MutableMapping`, plus what the kernel
adds: update flags (:meth:`KeyValueMap.put`), lookup-and-delete, ``next_key``, and batches.
``keys()``, ``values()`` and ``items()`` return lists: a snapshot taken by one walk of the
map (batched where the kernel can), so ``list(m.items())`` reads the map once.

Keys and values go through the map's :attr:`~KeyValueMap.codec`. A map created with BTF key
and value types starts with a :class:`~pybpf.objects.codec.TypedCodec` (ints, structs as
objects generated from BTF — see :mod:`pybpf.btf.values`); one without starts with its
:meth:`~KeyValueMap.raw_codec` (bytes of the exact size or ints in, bytes out — array indexes
come out as ints). Raw bytes are always at hand: ``m.raw`` is the same map with the raw codec.
"""

from __future__ import annotations

import ctypes
import errno
import sys
from collections.abc import Iterable, Iterator, MutableMapping

from pybpf._uapi import Cmd, MapType
from pybpf._util import paused_gc
from pybpf.errors import NotSupportedError, SyscallError
from pybpf.features import BATCH_OPS
from pybpf.objects import _batch
from pybpf.objects._create import BPF_F_MMAPABLE
from pybpf.objects._errors import SpecError, with_hint
from pybpf.objects._mapped import Mapped
from pybpf.objects.codec import Codec, Coded, DeferredCodec, RawCodec
from pybpf.objects.map import Map, UpdateFlags
from pybpf.sys import (
    MapBatchAttr,
    MapElemAttr,
    last_error,
    map_delete_batch,
    map_delete_elem,
    map_get_next_key,
    map_update_batch,
    map_update_elem,
    prepare,
)

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (PEP 781's idiom)
if TYPE_CHECKING:
    from typing import Any
else:
    Any = object  # (run time: only the base class below is subscripted with it)

__all__ = ["ArrayMap", "HashMap", "KeyValueMap"]

_ENOENT, _EBADF = errno.ENOENT, errno.EBADF
_LOOKUP, _UPDATE = int(Cmd.MAP_LOOKUP_ELEM), int(Cmd.MAP_UPDATE_ELEM)
_DELETE, _LOOKUP_AND_DELETE = int(Cmd.MAP_DELETE_ELEM), int(Cmd.MAP_LOOKUP_AND_DELETE_ELEM)
_NO_FD = 0xFFFFFFFF  # what a closed map's prepared attrs point at: any call fails with EBADF
_MISSING = object()


class KeyValueMap(Map, Coded, MutableMapping[Any, Any]):
    """A map with keys and values: the mapping protocol over the element commands."""

    def _prepare(self) -> None:
        self._value_bytes = self._element_bytes()
        self._kbuf = ctypes.create_string_buffer(max(1, self.key_size))
        self._vbuf = ctypes.create_string_buffer(max(1, self._value_bytes))
        self._kmv = memoryview(self._kbuf).cast("B")[: self.key_size]
        fd, key = self._fd.fileno(), ctypes.addressof(self._kbuf)
        self._attr = MapElemAttr(map_fd=fd, key=key, value=ctypes.addressof(self._vbuf))
        # BPF_MAP_DELETE_ELEM refuses an attr with anything set after ``key``.
        self._del_attr = MapElemAttr(map_fd=fd, key=key)
        self._lookup = prepare(_LOOKUP, self._attr)
        self._update = prepare(_UPDATE, self._attr)
        self._delete = prepare(_DELETE, self._del_attr)
        self._lookup_and_delete = prepare(_LOOKUP_AND_DELETE, self._attr)
        self._batches: _batch.Batches | None = None
        self._batch_ok = True
        self.codec = self.default_codec()

    def _element_bytes(self) -> int:
        """Bytes of one value as user space reads and writes it."""
        return self.value_size

    @property
    def raw(self) -> KeyValueMap:
        """This map with its :meth:`raw_codec`: ``m.raw[k]`` is the kernel's bytes. A second
        handle (its own fd), made on first use and closed with this one."""
        twin = self._raw_twin
        if twin is None or twin.closed:
            self.fileno()  # ClosedError first
            twin = Map.clone(self)
            twin.codec = twin.raw_codec()
            self._raw_twin = twin
        return twin

    _raw_twin: KeyValueMap | None = None

    def _bind(self, codec: Codec) -> None:
        self._encode_key, self._encode_value = codec.encode_key, codec.encode_value
        self._decode_key, self._decode_value = codec.decode_key, codec.decode_value
        # The lookup path: int keys packed and values built in C calls, no Python frame.
        self._pack_key = codec.key_packer(self._kbuf)
        self._unpack_value, self._build_value = codec.value_reader()

    def close(self) -> None:
        self._attr.map_fd = self._del_attr.map_fd = _NO_FD
        if self._raw_twin is not None:
            self._raw_twin.close()
        super().close()

    def clone(self) -> KeyValueMap:
        twin = super().clone()
        if not isinstance(self._codec, DeferredCodec):  # else the twin defers its own
            twin.codec = self._codec
        return twin

    def _fail(self, exc: SyscallError, hint: str = "") -> Exception:
        if exc.errno == _EBADF and self.closed:
            return self._closed_error()
        return with_hint(exc, hint)

    # -- single elements ---------------------------------------------------------------------
    # The element operations go through calls prepared once (:func:`pybpf.sys.prepare`): a
    # call returns 0, or -1 with the errno in ctypes.get_errno(). That keeps a lookup to one
    # Python frame around the system call.
    def _refused(self, cmd: int, key: Any, hint: str = "") -> Exception:
        exc = last_error(cmd)
        if exc.errno == _ENOENT:
            return KeyError(key)
        return self._fail(exc, hint)

    def __getitem__(self, key: Any) -> Any:
        pack = self._pack_key
        if pack is None:
            self._kmv[:] = self._encode_key(key)
        else:
            try:
                pack(key)
            except Exception:  # not an int it can pack: the codec's checks decide
                self._kmv[:] = self._encode_key(key)
        if self._lookup():
            raise self._refused(_LOOKUP, key) from None
        return self._build_value(self._unpack_value(self._vbuf))

    def _lookup_raw(self, key: Any) -> bytes:
        """The value of ``key`` as the kernel's bytes (KeyError when absent)."""
        self._kmv[:] = self._encode_key(key)
        if self._lookup():
            raise self._refused(_LOOKUP, key) from None
        return self._vbuf.raw[: self._value_bytes]

    def get(self, key: Any, default: Any = None) -> Any:
        """``m[key]``, or ``default`` when the key is absent."""
        pack = self._pack_key
        if pack is None:
            self._kmv[:] = self._encode_key(key)
        else:
            try:
                pack(key)
            except Exception:  # as in __getitem__
                self._kmv[:] = self._encode_key(key)
        if self._lookup():
            exc = self._refused(_LOOKUP, key)
            if isinstance(exc, KeyError):
                return default
            raise exc from None
        return self._build_value(self._unpack_value(self._vbuf))

    def __contains__(self, key: object) -> bool:
        return self.get(key, _MISSING) is not _MISSING

    def __setitem__(self, key: Any, value: Any) -> None:
        self._kmv[:] = self._encode_key(key)
        ctypes.memmove(self._vbuf, self._encode_value(value), self._value_bytes)
        if self._update():
            raise self._update_error(last_error(_UPDATE), key) from None

    def put(self, key: Any, value: Any, flags: int = UpdateFlags.ANY) -> None:
        """Store ``value`` at ``key``: ``NOEXIST`` only creates, ``EXIST`` only replaces.

        Raises:
            KeyError: ``EXIST`` and the key is absent, or an array index out of range.
            SyscallError: EEXIST (``NOEXIST`` and the key is there), E2BIG (the map is full).
        """
        self._attr.flags = flags
        try:
            self[key] = value
        finally:
            self._attr.flags = 0

    def _update_error(self, exc: SyscallError, key: Any) -> Exception:
        if exc.errno == _ENOENT:
            return KeyError(key)
        if exc.errno == errno.EEXIST:
            return self._fail(exc, f"key {key!r} exists (UpdateFlags.NOEXIST)")
        if exc.errno == errno.E2BIG:
            return self._fail(exc, f"map {self.name!r} is full ({self.max_entries} entries)")
        return self._fail(exc)

    def __delitem__(self, key: Any) -> None:
        self._kmv[:] = self._encode_key(key)
        if self._delete():
            exc = last_error(_DELETE)
            if exc.errno == _ENOENT:
                raise KeyError(key) from None
            raise self._fail(exc, self._delete_hint(exc)) from None

    def _delete_hint(self, exc: SyscallError) -> str:
        return ""

    def lookup_and_delete(self, key: Any) -> Any:
        """Remove ``key`` and return its value in one step (hash maps: Linux >= 5.14).

        Raises:
            KeyError: the key is absent.
        """
        self._kmv[:] = self._encode_key(key)
        if self._lookup_and_delete():
            raise self._refused(_LOOKUP_AND_DELETE, key) from None
        return self._decode_value(self._vbuf.raw)

    def pop(self, key: Any, default: Any = _MISSING) -> Any:
        """Remove ``key`` and return its value (``default`` if given and the key is absent)."""
        try:
            return self.lookup_and_delete(key)
        except KeyError:
            if default is _MISSING:
                raise
            return default
        except SyscallError as exc:
            if exc.errno not in _batch.UNSUPPORTED:
                raise
        value = self[key]  # older kernels: look up, then delete
        del self[key]
        return value

    def next_key(self, key: Any = None) -> Any:
        """The key after ``key`` in the kernel's order (the first key for ``None``), or
        ``None`` after the last."""
        nxt = ctypes.create_string_buffer(max(1, self.key_size))
        attr = MapElemAttr(map_fd=self.fileno(), value=ctypes.addressof(nxt))
        if key is not None:
            self._kmv[:] = self._encode_key(key)
            attr.key = ctypes.addressof(self._kbuf)
        try:
            map_get_next_key(attr)
        except SyscallError as exc:
            if exc.errno == _ENOENT:
                return None
            raise self._fail(exc) from None
        return self._decode_key(nxt.raw[: self.key_size])

    # -- walks -------------------------------------------------------------------------------
    def _walk(self, delete: bool = False) -> Iterator[tuple[bytes, bytes, int]] | None:
        """Batches of raw entries, or None where the kernel cannot walk this map in batches."""
        if not self._batch_ok or not _batch.batch_supported():
            return None
        if self._batches is None:
            chunk = _batch.default_chunk(self.max_entries, self.key_size, self._value_bytes)
            self._batches = _batch.Batches(self._fd, self.key_size, self._value_bytes, chunk)
        walk = self._batches.walk(delete=delete)
        try:
            first = next(walk, None)
        except SyscallError as exc:
            if exc.errno in _batch.UNSUPPORTED:
                self._batch_ok = False
                return None
            raise self._fail(exc) from None
        return _chain(first, walk)

    def _raw_keys(self) -> Iterator[bytes]:
        return _batch.iter_next_keys(self._fd, self.key_size)

    def __iter__(self) -> Iterator[Any]:
        walk = self._walk()
        if walk is None:
            yield from map(self._decode_key, self._raw_keys())
            return
        for keys, _, n in walk:
            yield from self._codec.decode_keys(keys, n)

    def __len__(self) -> int:
        walk = self._walk()
        if walk is None:
            return sum(1 for _ in self._raw_keys())
        return sum(n for _, _, n in walk)

    def keys(self) -> list[Any]:  # type: ignore[override]
        """Every key, in one walk of the map."""
        return list(self)

    def values(self) -> list[Any]:  # type: ignore[override]
        """Every value, in one walk of the map."""
        return [v for _, v in self.items()]

    def items(self) -> list[tuple[Any, Any]]:  # type: ignore[override]
        """Every ``(key, value)`` pair, in one walk (batched where the kernel can)."""
        walk = self._walk()
        if walk is None:
            return self._items_one_by_one()
        return self._pairs(walk)

    def _pairs(self, walk: Iterator[_Chunk]) -> list[tuple[Any, Any]]:
        out: list[tuple[Any, Any]] = []
        decode_keys, decode_values = self._codec.decode_keys, self._codec.decode_values
        for keys, values, n in walk:
            with paused_gc():  # the cyclic GC would rescan the growing list of new tuples
                out += zip(decode_keys(keys, n), decode_values(values, n), strict=True)
        return out

    def _items_one_by_one(self) -> list[tuple[Any, Any]]:
        out = []
        for raw in self._raw_keys():
            key = self._decode_key(raw)
            value = self.get(raw, _MISSING)
            if value is not _MISSING:  # deleted meanwhile
                out.append((key, value))
        return out

    def _all_raw_keys(self) -> list[bytes]:
        walk = self._walk()
        if walk is None:
            return list(self._raw_keys())
        size = self.key_size
        return [keys[i : i + size] for keys, _, n in walk for i in range(0, size * n, size)]

    def clear(self) -> None:
        """Remove every entry (batched where the kernel can)."""
        self._delete_raw(self._all_raw_keys())

    # -- batches -----------------------------------------------------------------------------
    def _require_batches(self) -> None:
        if not _batch.batch_supported():
            raise NotSupportedError(BATCH_OPS.name, BATCH_OPS.min_kernel)

    def lookup_batch(self) -> list[tuple[Any, Any]]:
        """Every ``(key, value)`` pair through BPF_MAP_LOOKUP_BATCH (no fallback).

        Raises:
            NotSupportedError: the kernel (< 5.6) or this map type has no batch lookup.
        """
        return self._batch_items(delete=False)

    def lookup_and_delete_batch(self) -> list[tuple[Any, Any]]:
        """Remove every entry and return the pairs (BPF_MAP_LOOKUP_AND_DELETE_BATCH).

        Raises:
            NotSupportedError: the kernel or this map type has no such batch.
        """
        return self._batch_items(delete=True)

    def _batch_items(self, delete: bool) -> list[tuple[Any, Any]]:
        self._require_batches()
        walk = self._walk(delete)
        if walk is None:
            what = f"batch operations on {self.type.name.lower()} maps"
            raise NotSupportedError(what, BATCH_OPS.min_kernel)
        return self._pairs(walk)

    def update_batch(
        self, keys: Iterable[Any], values: Iterable[Any], flags: int = UpdateFlags.ANY
    ) -> None:
        """Store many pairs in one call (BPF_MAP_UPDATE_BATCH); ``flags`` is ``ANY`` or
        ``LOCK`` (the kernel takes no other flag in batches).

        Raises:
            CodecError: a key or value does not encode (nothing was stored).
            SpecError: a flag other than ``LOCK``.
            SyscallError: the kernel stopped part way; the hint says how many were stored.
        """
        if flags & ~UpdateFlags.LOCK:
            raise SpecError("batch updates take only UpdateFlags.LOCK; use put() for the others")
        self._require_batches()
        kbytes = b"".join(map(self._encode_key, keys))
        vbytes = b"".join(map(self._encode_value, values))
        count = len(kbytes) // max(1, self.key_size)
        if len(vbytes) != count * self._value_bytes:
            raise ValueError(f"{count} keys but {len(vbytes) // self._value_bytes} values")
        attr = _batch_attr(self, kbytes, vbytes, count)
        attr.elem_flags = flags
        self._run_batch(map_update_batch, attr, count, "updated")

    def delete_batch(self, keys: Iterable[Any]) -> None:
        """Remove many keys in one call (BPF_MAP_DELETE_BATCH).

        Raises:
            SyscallError: a key is absent (ENOENT) or the kernel stopped part way.
        """
        self._require_batches()
        self._delete_raw([self._encode_key(k) for k in keys])

    def _delete_raw(self, keys: list[bytes]) -> None:
        if not keys:
            return
        if not _batch.batch_supported():
            for raw in keys:
                self._kmv[:] = raw
                map_delete_elem(self._del_attr)
            return
        attr = _batch_attr(self, b"".join(keys), b"", len(keys))
        self._run_batch(map_delete_batch, attr, len(keys), "deleted")

    def _run_batch(self, call: Any, attr: MapBatchAttr, count: int, done: str) -> None:
        try:
            call(attr)
        except SyscallError as exc:
            if exc.errno in _batch.UNSUPPORTED and attr.count == 0:
                what = f"batch operations on {self.type.name.lower()} maps"
                raise NotSupportedError(what, BATCH_OPS.min_kernel) from None
            partial = f"{attr.count} of {count} {done}" if attr.count < count else ""
            raise self._fail(exc, partial) from None


_Chunk = tuple[bytes, bytes, int]


def _chain(first: _Chunk | None, rest: Iterator[_Chunk]) -> Iterator[_Chunk]:
    if first is not None:
        yield first
        yield from rest


def _batch_attr(m: KeyValueMap, kbytes: bytes, vbytes: bytes, count: int) -> MapBatchAttr:
    kbuf = ctypes.create_string_buffer(kbytes, max(1, len(kbytes)))
    vbuf = ctypes.create_string_buffer(vbytes, max(1, len(vbytes)))
    attr = MapBatchAttr(map_fd=m.fileno(), count=count)
    attr.keys, attr.values = ctypes.addressof(kbuf), ctypes.addressof(vbuf)
    attr._keep = (kbuf, vbuf)
    return attr


class HashMap(KeyValueMap, types=(MapType.HASH, MapType.LRU_HASH)):
    """Hash maps (``hash``, ``lru_hash``): keys come and go; ``len`` counts them (a walk)."""


class ArrayMap(KeyValueMap, types=(MapType.ARRAY,)):
    """Array maps: every index in ``range(max_entries)`` always holds a value; keys are ints.

    Elements cannot be deleted (store zeros instead). A map created with ``BPF_F_MMAPABLE``
    (Linux >= 5.5) exposes its values as memory: :meth:`mmap`.
    """

    int_keys = True

    def raw_codec(self) -> Codec:
        return RawCodec(self.key_size, self.value_size, int_keys=True)

    def __len__(self) -> int:
        self.fileno()
        return self.max_entries

    def __iter__(self) -> Iterator[Any]:
        self.fileno()
        decode = self._decode_key
        return (decode(i.to_bytes(4, sys.byteorder)) for i in range(self.max_entries))

    def _delete_hint(self, exc: SyscallError) -> str:
        return "array map elements cannot be deleted; store zeros instead"

    def clear(self) -> None:
        """Set every element to zeros."""
        zero = bytes(self._value_bytes)
        for key in self:
            self._kmv[:] = self._encode_key(key)
            ctypes.memmove(self._vbuf, zero, self._value_bytes)
            map_update_elem(self._attr)

    def mmap(self) -> memoryview:
        """The values as shared memory: element ``i`` at ``i * round_up(value_size, 8)``.

        Raises:
            SpecError: the map was not created with ``BPF_F_MMAPABLE``.
        """
        if self._mapped is None:
            if not self.flags & BPF_F_MMAPABLE:
                raise SpecError(f"map {self.name!r} was not created with BPF_F_MMAPABLE")
            stride = -(-self.value_size // 8) * 8
            self._mapped = Mapped(self._fd, stride * self.max_entries)
        return self._mapped.view

    _mapped: Mapped | None = None

    def close(self) -> None:
        if self._mapped is not None:
            self._mapped.close()
            self._mapped = None
        super().close()
