"""Bloom filter maps: ``add(value)`` and ``value in bloom`` (Linux >= 5.16).

A bloom filter answers "maybe present" or "certainly absent": ``in`` may be True for a value
never added (at a rate set by ``max_entries`` and the number of hash functions, the low four
bits of ``map_extra``), never False for one that was.
"""

from __future__ import annotations

import ctypes
import errno

from pybpf._uapi import MapType
from pybpf.errors import SyscallError
from pybpf.objects.queue import _ValueOnly
from pybpf.sys import map_lookup_elem, map_update_elem

__all__ = ["BloomFilterMap"]


class BloomFilterMap(_ValueOnly, types=(MapType.BLOOM_FILTER,)):
    """A ``bloom_filter`` map."""

    def add(self, value: object) -> None:
        """Add ``value`` (``value_size`` bytes, or an int that fits)."""
        ctypes.memmove(self._vbuf, self._encode(value), self.value_size)
        try:
            map_update_elem(self._attr)
        except SyscallError as exc:
            raise self._fail(exc) from None

    def __contains__(self, value: object) -> bool:
        ctypes.memmove(self._vbuf, self._encode(value), self.value_size)
        try:
            map_lookup_elem(self._attr)
        except SyscallError as exc:
            if exc.errno == errno.ENOENT:
                return False
            raise self._fail(exc) from None
        return True
