"""Array maps: ``BPF_MAP_TYPE_ARRAY`` and ``BPF_MAP_TYPE_PERCPU_ARRAY``.

Keys are u32 indexes; every index below ``max_entries`` always has a value (zeros at first);
elements cannot be deleted. Global variables (``.data``, ``.rodata``, ``.bss``) are one-element
arrays: :meth:`ArrayMap.memory` is their live memory, like the kernel's mmap of the map.
"""

from __future__ import annotations

import errno
from collections.abc import Iterator, Sequence
from typing import Any

from pybpf.errors import SpecError
from pybpf.spec import MapSpec
from pybpf.vm.maps._kv import KeyValueMap
from pybpf.vm.maps._slab import CHUNK_BYTES, Slab
from pybpf.vm.maps.base import MapHost, check_flags
from pybpf.vm.memory import byteorder

__all__ = ["ArrayMap", "PerCPUArrayMap"]

BPF_F_RDONLY_PROG = 1 << 7
CONTIGUOUS_LIMIT = 16 << 20
"""Arrays up to this size are one region, so the JIT can compute a value's address."""


class ArrayMap(KeyValueMap):
    """``BPF_MAP_TYPE_ARRAY``: ``max_entries`` values, addressed by index."""

    def __init__(self, spec: MapSpec, host: MapHost) -> None:
        super().__init__(spec, host)
        if self.key_size != 4:
            self._fail_create("an array's key must be 4 bytes")
        per_value = self.stride * host.ncpus if self.percpu else self.value_size
        writable = not self.flags & BPF_F_RDONLY_PROG
        total = max(per_value, 8) * self.max_entries
        chunk = total if total <= CONTIGUOUS_LIMIT else CHUNK_BYTES  # one region: inlinable
        self.slab = Slab(
            host.mem, self.name, per_value, self.max_entries, writable=writable, chunk_bytes=chunk
        )
        self._indexes = [i.to_bytes(4, byteorder(host.endian)) for i in range(self.max_entries)]
        if spec.data is not None and not self.percpu:
            self.slab.view(0)[: len(spec.data)] = spec.data

    def _fail_create(self, why: str) -> None:
        raise SpecError(f"map {self.name!r}: {why}")

    def _index(self, key: bytes) -> int | None:
        i = int.from_bytes(key, byteorder(self.host.endian))
        return i if i < self.max_entries else None

    # -- program face ------------------------------------------------------------------------
    def bpf_lookup(self, key: bytes) -> int:
        i = self._index(key)
        if i is None:
            return 0
        addr = self.slab.address(i)
        return addr + self.host.cpu * self.stride if self.percpu else addr

    def bpf_update(self, key: bytes, value: bytes, flags: int) -> int:
        i = self._index(key)
        if i is None:
            return -errno.E2BIG
        refused = check_flags(flags, True)
        if refused:
            return refused
        if self.percpu:
            at = self.host.cpu * self.stride
            self.slab.view(i)[at : at + self.value_size] = value
        else:
            self.slab.set(i, value)
        return 0

    def bpf_delete(self, key: bytes) -> int:
        return -errno.EINVAL

    def bpf_keys(self) -> Iterator[bytes]:
        return iter(self._indexes)

    # -- Python face ---------------------------------------------------------------------------
    def _lookup_bytes(self, key: bytes) -> bytes | list[bytes] | None:
        i = self._index(key)
        if i is None:
            return None
        data = self.slab.get(i)
        return self._split(data) if self.percpu else data

    def _update_bytes(self, key: bytes, value: bytes, flags: int) -> int:
        i = self._index(key)
        if i is None:
            return -errno.ENOENT  # the Python face: KeyError, as a kernel map handle
        refused = check_flags(flags, True)
        if refused:
            return refused
        self.slab.set(i, value)
        return 0

    def _delete_bytes(self, key: bytes) -> int:
        return -errno.EINVAL

    def _keys(self) -> Sequence[bytes]:
        return self._indexes

    def _position(self, key: bytes) -> int | None:
        return self._index(key)

    def _decode_key(self, key: bytes) -> Any:
        return int.from_bytes(key, byteorder(self.host.endian))

    def memory(self, index: int = 0) -> memoryview:
        """The live bytes of element ``index`` (for global data: the variables' memory)."""
        return self.slab.view(index)

    def direct(self) -> tuple[int, int, int] | None:
        """``(address of value 0, stride, max_entries)`` when a value's address is computable
        (one region, not per-CPU): what the JIT inlines ``bpf_map_lookup_elem`` with."""
        if self.percpu or not self.slab.contiguous:
            return None
        return self.slab.address(0), self.slab.stride, self.max_entries

    def value_address(self, index: int = 0) -> int:
        """The address a program sees for element ``index`` (``lddw MAP_VALUE``)."""
        return self.slab.address(index)

    def close(self) -> None:
        self.slab.close()


class PerCPUArrayMap(ArrayMap):
    """``BPF_MAP_TYPE_PERCPU_ARRAY``: one value per CPU at each index."""

    percpu = True
