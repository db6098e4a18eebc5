"""The Python face shared by hash- and array-like maps: a ``MutableMapping``."""

from __future__ import annotations

import errno
from abc import abstractmethod
from collections.abc import Iterator, MutableMapping, Sequence
from typing import Any

from pybpf._uapi import UpdateFlags
from pybpf._util import align
from pybpf.errors import CodecError
from pybpf.vm.maps.base import Key, Value, VMMap, raise_for

__all__ = ["KeyValueMap"]


class KeyValueMap(VMMap, MutableMapping[Any, Any]):
    """A map with keys and values: ``m[k]``, ``m[k] = v``, ``del m[k]``, ``in``, ``len``,
    iteration over keys (as ``bytes``), plus ``put``, ``lookup_and_delete`` and ``next_key``.

    Values read back as ``bytes``; per-CPU maps give a list with one value per CPU and take
    either such a list or one value for every CPU.
    """

    percpu = False

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
        found = self._lookup_bytes(self._key(key))
        if found is None:
            raise KeyError(key)
        return found

    def __setitem__(self, key: Key, value: Any) -> None:
        self.put(key, value)

    def __delitem__(self, key: Key) -> None:
        result = self._delete_bytes(self._key(key, "BPF_MAP_DELETE_ELEM"))
        if result == -errno.ENOENT:
            raise KeyError(key)
        raise_for(result, "BPF_MAP_DELETE_ELEM", self.name)

    def __contains__(self, key: object) -> bool:
        try:
            return self._lookup_bytes(self._key(key)) is not None  # type: ignore[arg-type]
        except CodecError:
            return False

    def _decode_key(self, key: bytes) -> Any:
        """A key as the Python face gives it back (``bytes``; arrays give ``int``)."""
        return key

    def __iter__(self) -> Iterator[Any]:
        return iter([self._decode_key(k) for k in self._keys()])

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
        kb = self._key(key, "BPF_MAP_UPDATE_ELEM")
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
        at = None if key is None else self._position(self._key(key, "BPF_MAP_GET_NEXT_KEY"))
        nxt = 0 if at is None else at + 1
        return self._decode_key(keys[nxt]) if nxt < len(keys) else None

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
            return self._value(value)
        ncpus = self.host.ncpus
        values: list[Value]
        if isinstance(value, (list, tuple)):
            if len(value) != ncpus:
                hint = f"per-CPU value needs {ncpus} entries, got {len(value)}"
                raise CodecError(hint)
            values = list(value)
        else:
            values = [value] * ncpus
        pad = bytes(self.stride - self.value_size)
        return b"".join(self._value(v) + pad for v in values)

    def _split(self, data: bytes) -> list[bytes]:
        """Per-CPU bytes as one value per CPU."""
        s, n = self.stride, self.value_size
        return [data[i * s : i * s + n] for i in range(self.host.ncpus)]
