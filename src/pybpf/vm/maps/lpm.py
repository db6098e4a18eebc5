"""``BPF_MAP_TYPE_LPM_TRIE``: longest-prefix match on byte strings (IP routes).

A key is ``struct bpf_lpm_trie_key_u8``::

    +----------------------+------------------------------------+
    | prefixlen (u32, host) | data[key_size - 4] (network order) |
    +----------------------+------------------------------------+

The Python face also takes ``(prefixlen, data)`` with ``data`` as bytes, an int (big-endian,
as an address is written) or an :mod:`ipaddress` address, and ``ipaddress`` networks.
Lookups find the longest stored prefix that matches the first ``prefixlen`` bits of the key.
"""

from __future__ import annotations

import errno
import ipaddress
from collections.abc import Iterator, Sequence
from typing import Any

from pybpf.errors import CodecError, SpecError
from pybpf.spec import MapSpec
from pybpf.vm.maps._kv import KeyValueMap
from pybpf.vm.maps._slab import Slab
from pybpf.vm.maps.base import MapHost, check_flags
from pybpf.vm.memory import byteorder

__all__ = ["LPMTrieMap"]

BPF_F_NO_PREALLOC = 1


class LPMTrieMap(KeyValueMap):
    """Longest-prefix-match map; keys yielded as raw ``bytes`` (prefixlen + data)."""

    typed = False  # keys are {prefixlen, data}: raw bytes or (prefixlen, data) pairs

    def __init__(self, spec: MapSpec, host: MapHost) -> None:
        super().__init__(spec, host)
        self.data_size = self.key_size - 4
        if self.data_size <= 0 or self.data_size > 256:
            raise SpecError(f"map {self.name!r}: an LPM key must be 5-260 bytes")
        self.max_prefix = self.data_size * 8
        self.slab = Slab(host.mem, self.name, self.value_size, self.max_entries)
        self._slots: dict[tuple[int, bytes], int] = {}
        self._lengths: list[int] = []  # stored prefix lengths, longest first
        self._order = byteorder(host.endian)

    # -- keys --------------------------------------------------------------------------------
    def _key(self, key: Any, command: str = "BPF_MAP_LOOKUP_ELEM") -> bytes:
        if isinstance(key, (ipaddress.IPv4Network, ipaddress.IPv6Network)):
            key = (key.prefixlen, key.network_address)
        if isinstance(key, tuple) and len(key) == 2:
            plen, data = key
            return int(plen).to_bytes(4, self._order) + self._data(data, command)
        return super()._key(key, command)

    def _data(self, data: object, command: str) -> bytes:
        if isinstance(data, (ipaddress.IPv4Address, ipaddress.IPv6Address)):
            data = data.packed
        if isinstance(data, int):
            try:
                return data.to_bytes(self.data_size, "big")
            except OverflowError as exc:
                raise CodecError(f"LPM data {data} does not fit {self.data_size} bytes") from exc
        if isinstance(data, (bytes, bytearray, memoryview)) and len(data) == self.data_size:
            return bytes(data)
        raise CodecError(f"LPM data must be {self.data_size} bytes (or an int, an address)")

    def _split_key(self, key: bytes) -> tuple[int, bytes] | None:
        plen = int.from_bytes(key[:4], self._order)
        if plen > self.max_prefix:
            return None
        return plen, _mask(key[4:], plen)

    # -- storage -------------------------------------------------------------------------------
    def _match(self, key: bytes) -> int | None:
        plen = min(int.from_bytes(key[:4], self._order), self.max_prefix)
        data = key[4:]
        for length in self._lengths:
            if length <= plen:
                slot = self._slots.get((length, _mask(data, length)))
                if slot is not None:
                    return slot
        return None

    def _insert(self, key: bytes, value: bytes, flags: int) -> int:
        parts = self._split_key(key)
        if parts is None:
            return -errno.EINVAL
        slot = self._slots.get(parts)
        refused = check_flags(flags, slot is not None)
        if refused:
            return refused
        if slot is None:
            slot = self.slab.alloc()
            if slot is None:
                return -errno.ENOSPC
            self._slots[parts] = slot
            if parts[0] not in self._lengths:
                self._lengths = sorted({*self._lengths, parts[0]}, reverse=True)
        self.slab.set(slot, value)
        return 0

    def _remove(self, key: bytes) -> int:
        parts = self._split_key(key)
        slot = self._slots.pop(parts, None) if parts is not None else None
        if slot is None:
            return -errno.ENOENT
        self.slab.release(slot)
        if not any(length == parts[0] for length, _ in self._slots):  # type: ignore[index]
            self._lengths.remove(parts[0])  # type: ignore[index]
        return 0

    # -- program face ----------------------------------------------------------------------------
    def bpf_lookup(self, key: bytes) -> int:
        slot = self._match(key)
        return 0 if slot is None else self.slab.address(slot)

    def bpf_update(self, key: bytes, value: bytes, flags: int) -> int:
        return self._insert(key, value, flags)

    def bpf_delete(self, key: bytes) -> int:
        return self._remove(key)

    def bpf_keys(self) -> Iterator[bytes]:
        return iter(self._keys())

    # -- Python face ---------------------------------------------------------------------------
    def _lookup_bytes(self, key: bytes) -> bytes | list[bytes] | None:
        """Longest-prefix match, as the kernel's lookup (from a program or the syscall)."""
        slot = self._match(key)
        return None if slot is None else self.slab.get(slot)

    def _update_bytes(self, key: bytes, value: bytes, flags: int) -> int:
        return self._insert(key, value, flags)

    def _delete_bytes(self, key: bytes) -> int:
        return self._remove(key)

    def _keys(self) -> Sequence[bytes]:
        ordered = sorted(self._slots, key=lambda kv: (-kv[0], kv[1]))
        return [plen.to_bytes(4, self._order) + data for plen, data in ordered]

    def close(self) -> None:
        self.slab.close()


def _mask(data: bytes, plen: int) -> bytes:
    """``data`` with every bit after the first ``plen`` cleared."""
    full, rest = divmod(plen, 8)
    out = bytearray(len(data))
    out[:full] = data[:full]
    if rest and full < len(data):
        out[full] = data[full] & (0xFF << (8 - rest)) & 0xFF
    return bytes(out)
