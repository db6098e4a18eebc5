"""The tables of ``bpf_redirect_map``: ``DEVMAP``, ``DEVMAP_HASH``, ``CPUMAP`` and ``XSKMAP``.

In the kernel their values name a device (ifindex, or ``struct bpf_devmap_val``), a CPU's
queue size (``struct bpf_cpumap_val``) or an AF_XDP socket; the VM has no devices, so a value
is just bytes of the map's value size, kept for the program to test presence
(``bpf_redirect_map`` returns ``XDP_REDIRECT`` for a key that is there, and records the
target in ``vm.redirects``). A program's lookup gives read-only memory, as the kernel's.
"""

from __future__ import annotations

import errno

from pybpf.spec import MapSpec
from pybpf.vm.maps._slab import Slab
from pybpf.vm.maps.base import MapHost
from pybpf.vm.maps.hash import HashMap
from pybpf.vm.memory import byteorder

__all__ = ["CPUMap", "DevMap", "DevMapHash", "XSKMap"]


class DevMapHash(HashMap):
    """``BPF_MAP_TYPE_DEVMAP_HASH``: any u32 key → a device."""

    def __init__(self, spec: MapSpec, host: MapHost) -> None:
        super().__init__(spec, host)
        self.slab = Slab(host.mem, self.name, self.value_size, self.max_entries, writable=False)

    def bpf_update(self, key: bytes, value: bytes, flags: int) -> int:
        return -errno.EINVAL  # programs may only read these maps

    def bpf_delete(self, key: bytes) -> int:
        return -errno.EINVAL


class DevMap(DevMapHash):
    """``BPF_MAP_TYPE_DEVMAP``: index ``0 .. max_entries - 1`` → a device; slots start empty."""

    def _index(self, key: bytes) -> int:
        return int.from_bytes(key, byteorder(self.host.endian))

    def _insert(self, key: bytes, value: bytes, flags: int, *, cpu: int | None) -> int:
        if self._index(key) >= self.max_entries:
            return -errno.E2BIG
        return super()._insert(key, value, flags, cpu=cpu)

    def _decode_key(self, key: bytes) -> int:
        return self._index(key)

    def _keys(self) -> list[bytes]:
        return sorted(self._slots, key=self._index)


class CPUMap(DevMap):
    """``BPF_MAP_TYPE_CPUMAP``: CPU number → its queue."""


class XSKMap(DevMap):
    """``BPF_MAP_TYPE_XSKMAP``: queue index → an AF_XDP socket."""
