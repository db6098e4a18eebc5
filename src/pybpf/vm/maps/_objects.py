"""Maps whose values are objects (programs, maps), not bytes: the Python face stores them."""

from __future__ import annotations

import errno
from collections.abc import Iterator, Sequence
from typing import Any

from pybpf.errors import CodecError
from pybpf.spec import MapSpec
from pybpf.vm.maps._kv import KeyValueMap
from pybpf.vm.maps.base import MapHost, check_flags
from pybpf.vm.memory import byteorder

__all__ = ["ObjectMap"]


class ObjectMap(KeyValueMap):
    """Keys are bytes (u32 indexes for the array kinds); values are Python objects."""

    typed = False  # values are objects, not bytes

    indexed = True  # array kinds: keys < max_entries, no E2BIG for a full table

    def __init__(self, spec: MapSpec, host: MapHost) -> None:
        super().__init__(spec, host)
        self._items: dict[bytes, object] = {}
        self._order = byteorder(host.endian)

    def _accept(self, value: object) -> object:
        """The value to store, or raise :class:`CodecError` if unsuitable."""
        return value

    def _decode_key(self, key: bytes) -> Any:
        return int.from_bytes(key, self._order) if self.indexed else key

    def _valid_key(self, key: bytes) -> bool:
        return not self.indexed or int.from_bytes(key, self._order) < self.max_entries

    # -- storage -------------------------------------------------------------------------------
    def _lookup_obj(self, key: bytes) -> object | None:
        return self._items.get(key)

    def _lookup_bytes(self, key: bytes) -> Any:
        return self._items.get(key)

    def _update_bytes(self, key: bytes, value: Any, flags: int) -> int:
        if not self._valid_key(key):
            return -errno.E2BIG
        refused = check_flags(flags, key in self._items)
        if refused:
            return refused
        if not self.indexed and key not in self._items and len(self._items) >= self.max_entries:
            return -errno.E2BIG
        self._items[key] = value
        return 0

    def _value_bytes(self, value: Any) -> Any:
        return self._accept(value)

    def _delete_bytes(self, key: bytes) -> int:
        if self._items.pop(key, None) is None:
            return -errno.ENOENT if self._valid_key(key) or not self.indexed else -errno.E2BIG
        return 0

    def _keys(self) -> Sequence[bytes]:
        if self.indexed:
            return sorted(self._items, key=lambda k: int.from_bytes(k, self._order))
        return list(self._items)

    def bpf_keys(self) -> Iterator[bytes]:
        return iter(self._keys())

    def bpf_delete(self, key: bytes) -> int:
        return self._delete_bytes(key)

    def refuse(self, why: str) -> CodecError:
        """The error of an unsuitable value."""
        return CodecError(f"map {self.name!r}: {why}")
