"""Hash maps: ``HASH``, ``PERCPU_HASH``, ``LRU_HASH`` and ``LRU_PERCPU_HASH``.

Values live in slab slots (so a program's pointer into a value is real memory); a dict maps
each key to its slot. The LRU variants evict the least recently used element when full; a
program's lookup or update makes an element recently used (the kernel's reference bit), the
Python face does not.
"""

from __future__ import annotations

import errno
from collections import OrderedDict
from collections.abc import Iterator, Sequence

from pybpf.spec import MapSpec
from pybpf.vm.maps._kv import KeyValueMap
from pybpf.vm.maps._slab import Slab
from pybpf.vm.maps.base import MapHost, check_flags

__all__ = ["HashMap", "LRUHashMap", "LRUPerCPUHashMap", "PerCPUHashMap"]


class HashMap(KeyValueMap):
    """``BPF_MAP_TYPE_HASH``: at most ``max_entries`` keys."""

    lru = False

    def __init__(self, spec: MapSpec, host: MapHost) -> None:
        super().__init__(spec, host)
        per_value = self.stride * host.ncpus if self.percpu else self.value_size
        self.slab = Slab(host.mem, self.name, per_value, self.max_entries)
        self._slots: OrderedDict[bytes, int] = OrderedDict()
        self._order: list[bytes] | None = None
        self._where: dict[bytes, int] | None = None

    # -- storage -----------------------------------------------------------------------------
    def _insert(self, key: bytes, value: bytes, flags: int, *, cpu: int | None) -> int:
        slot = self._slots.get(key)
        refused = check_flags(flags, slot is not None)
        if refused:
            return refused
        if slot is None:
            new = self.slab.alloc()
            if new is None and self.lru:
                self._evict()
                new = self.slab.alloc()
            if new is None:
                return -errno.E2BIG
            slot = self._slots[key] = new
            self._order = self._where = None
        elif self.lru:
            self._slots.move_to_end(key)
        if cpu is None or not self.percpu:
            self.slab.view(slot)[: len(value)] = value
        else:
            at = cpu * self.stride
            self.slab.view(slot)[at : at + self.value_size] = value
        return 0

    def _evict(self) -> None:
        _, slot = self._slots.popitem(last=False)
        self.slab.release(slot)
        self._order = self._where = None

    def _remove(self, key: bytes) -> int:
        slot = self._slots.pop(key, None)
        if slot is None:
            return -errno.ENOENT
        self.slab.release(slot)
        self._order = self._where = None
        return 0

    # -- program face --------------------------------------------------------------------------
    def bpf_lookup(self, key: bytes) -> int:
        slot = self._slots.get(key)
        if slot is None:
            return 0
        if self.lru:
            self._slots.move_to_end(key)
        addr = self.slab.address(slot)
        return addr + self.host.cpu * self.stride if self.percpu else addr

    def bpf_update(self, key: bytes, value: bytes, flags: int) -> int:
        return self._insert(key, value, flags, cpu=self.host.cpu)

    def bpf_delete(self, key: bytes) -> int:
        return self._remove(key)

    def bpf_keys(self) -> Iterator[bytes]:
        return iter(list(self._slots))

    # -- Python face ---------------------------------------------------------------------------
    def _lookup_bytes(self, key: bytes) -> bytes | list[bytes] | None:
        slot = self._slots.get(key)
        if slot is None:
            return None
        data = self.slab.get(slot)
        return self._split(data) if self.percpu else data

    def _update_bytes(self, key: bytes, value: bytes, flags: int) -> int:
        return self._insert(key, value, flags, cpu=None)

    def _delete_bytes(self, key: bytes) -> int:
        return self._remove(key)

    def _keys(self) -> Sequence[bytes]:
        if self._order is None:
            self._order = list(self._slots)
        return self._order

    def __len__(self) -> int:
        return len(self._slots)

    def _position(self, key: bytes) -> int | None:
        if self._where is None:
            self._where = {k: i for i, k in enumerate(self._keys())}
        return self._where.get(key)

    def clear(self) -> None:
        """Remove every element."""
        self._slots.clear()
        self.slab.reset()
        self._order = self._where = None

    def close(self) -> None:
        self.slab.close()


class PerCPUHashMap(HashMap):
    """``BPF_MAP_TYPE_PERCPU_HASH``: one value per CPU for each key."""

    percpu = True


class LRUHashMap(HashMap):
    """``BPF_MAP_TYPE_LRU_HASH``: full means the least recently used element goes."""

    lru = True


class LRUPerCPUHashMap(HashMap):
    """``BPF_MAP_TYPE_LRU_PERCPU_HASH``."""

    lru = True
    percpu = True
