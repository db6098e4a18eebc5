"""User-space maps for the VM, with the Python API of kernel maps.

:func:`create_map` builds the map a :class:`~pybpf.spec.MapSpec` describes; a program loaded in
the same VM reaches it through ``lddw`` and the map helpers, and Python reads and writes it
directly (``m[key]``, ``m[key] = value``, ``m.put(key, value, UpdateFlags.NOEXIST)``).
"""

from __future__ import annotations

from pybpf._uapi import MapType, UpdateFlags
from pybpf.errors import SpecError
from pybpf.spec import MapSpec
from pybpf.vm.maps.array import ArrayMap, PerCPUArrayMap
from pybpf.vm.maps.base import MapHost, VMMap
from pybpf.vm.maps.bloom import BloomFilterMap
from pybpf.vm.maps.hash import HashMap, LRUHashMap, LRUPerCPUHashMap, PerCPUHashMap
from pybpf.vm.maps.lpm import LPMTrieMap
from pybpf.vm.maps.of_maps import ArrayOfMaps, HashOfMaps
from pybpf.vm.maps.perf import PerfEventArrayMap
from pybpf.vm.maps.prog_array import ProgArrayMap
from pybpf.vm.maps.queue import QueueMap, StackMap
from pybpf.vm.maps.redirect import CPUMap, DevMap, DevMapHash, XSKMap
from pybpf.vm.maps.ringbuf import RingBufMap

__all__ = [
    "MAP_CLASSES",
    "ArrayMap",
    "ArrayOfMaps",
    "BloomFilterMap",
    "CPUMap",
    "DevMap",
    "DevMapHash",
    "HashMap",
    "HashOfMaps",
    "LPMTrieMap",
    "LRUHashMap",
    "LRUPerCPUHashMap",
    "PerCPUArrayMap",
    "PerCPUHashMap",
    "PerfEventArrayMap",
    "ProgArrayMap",
    "QueueMap",
    "RingBufMap",
    "StackMap",
    "UpdateFlags",
    "VMMap",
    "XSKMap",
    "create_map",
]

MAP_CLASSES: dict[MapType, type[VMMap]] = {
    MapType.HASH: HashMap,
    MapType.ARRAY: ArrayMap,
    MapType.PROG_ARRAY: ProgArrayMap,
    MapType.PERF_EVENT_ARRAY: PerfEventArrayMap,
    MapType.PERCPU_HASH: PerCPUHashMap,
    MapType.PERCPU_ARRAY: PerCPUArrayMap,
    MapType.LRU_HASH: LRUHashMap,
    MapType.LRU_PERCPU_HASH: LRUPerCPUHashMap,
    MapType.LPM_TRIE: LPMTrieMap,
    MapType.ARRAY_OF_MAPS: ArrayOfMaps,
    MapType.HASH_OF_MAPS: HashOfMaps,
    MapType.QUEUE: QueueMap,
    MapType.STACK: StackMap,
    MapType.RINGBUF: RingBufMap,
    MapType.BLOOM_FILTER: BloomFilterMap,
    MapType.DEVMAP: DevMap,
    MapType.DEVMAP_HASH: DevMapHash,
    MapType.CPUMAP: CPUMap,
    MapType.XSKMAP: XSKMap,
}
"""The map class of each map type the VM has."""


def create_map(spec: MapSpec, host: MapHost) -> VMMap:
    """A new map in ``host``'s memory, as ``spec`` describes (without its ``contents``).

    Raises:
        SpecError: a map type the VM does not have, or sizes the type forbids.
    """
    cls = MAP_CLASSES.get(MapType(spec.type))
    if cls is None:
        hint = f"map {spec.name!r}: type {MapType(spec.type).name} does not run in the VM"
        raise SpecError(hint)
    return cls(spec, host)
