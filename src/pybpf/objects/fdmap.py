"""Maps whose values are kernel objects: programs, maps, sockets, devices, CPUs, perf events.

User space stores a file descriptor (a :class:`~pybpf.objects.program.Program`, a
:class:`~pybpf.objects.map.Map`, a socket — anything with ``fileno()`` — or a plain int fd)
and reads back what the kernel keeps instead: a program or map id, a socket cookie, an
ifindex. Array-like ones hold only the slots that were set: iteration, ``len`` and ``in`` see
those, and ``del`` empties a slot.

==========================  =====================  =================================
map type                    value written          value read
==========================  =====================  =================================
prog_array                  program fd             program id
array_of_maps, hash_of_maps map fd                 map id (:meth:`MapOfMaps.get_map`)
sockmap, sockhash,          socket fd              socket cookie (8-byte values)
reuseport_sockarray
devmap, devmap_hash         ifindex (or struct)    the same
cpumap                      queue size (or struct) the same
xskmap, cgroup_array,       AF_XDP socket /        (not readable from user space)
perf_event_array            cgroup / perf fd
==========================  =====================  =================================
"""

from __future__ import annotations

import errno
from collections.abc import Iterator

from pybpf._uapi import MapType
from pybpf.errors import SyscallError
from pybpf.objects.codec import Codec, RawCodec
from pybpf.objects.kv import ArrayMap, HashMap, KeyValueMap
from pybpf.objects.map import Map

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (PEP 781's idiom)
if TYPE_CHECKING:
    from typing import Any

__all__ = [
    "ArrayOfMapsMap",
    "FDArrayMap",
    "FDCodec",
    "FDHashMap",
    "HashOfMapsMap",
    "MapOfMaps",
    "ProgArrayMap",
]


class FDCodec(RawCodec):
    """A raw codec whose values may also be objects with ``fileno()`` (stored as their fd)."""

    def encode_value(self, value: object) -> bytes:
        fileno = getattr(value, "fileno", None)
        if fileno is not None:
            value = fileno()
        return super().encode_value(value)


class _FDValues(KeyValueMap):
    int_keys = False
    typed = False  # values are fds in and ids out, whatever the BTF calls them

    def raw_codec(self) -> Codec:
        return FDCodec(
            self.key_size,
            self.value_size,
            int_keys=self.int_keys,
            int_values=self.value_size in (4, 8),
        )


class FDArrayMap(
    _FDValues,
    ArrayMap,
    types=(
        MapType.PERF_EVENT_ARRAY,
        MapType.CGROUP_ARRAY,
        MapType.DEVMAP,
        MapType.SOCKMAP,
        MapType.CPUMAP,
        MapType.XSKMAP,
        MapType.REUSEPORT_SOCKARRAY,
    ),
):
    """Arrays of sockets, devices, CPUs, cgroups, perf events and AF_XDP sockets."""

    int_keys = True

    def _slots(self) -> Iterator[Any]:
        for key in ArrayMap.__iter__(self):
            if KeyValueMap.__contains__(self, key):
                yield key

    def __iter__(self) -> Iterator[Any]:
        """The slots that hold something (a lookup per slot)."""
        return self._slots()

    def __len__(self) -> int:
        return sum(1 for _ in self._slots())

    def _delete_hint(self, exc: SyscallError) -> str:
        return ""

    def clear(self) -> None:
        """Empty every slot."""
        for key in list(self._slots()):
            del self[key]

    def items(self) -> list[tuple[Any, Any]]:  # type: ignore[override]
        return [(k, v) for k in ArrayMap.__iter__(self) if (v := self.get(k, _NONE)) is not _NONE]


_NONE = object()


class FDHashMap(_FDValues, HashMap, types=(MapType.DEVMAP_HASH, MapType.SOCKHASH)):
    """Hashes of devices (``devmap_hash``) and sockets (``sockhash``)."""


class ProgArrayMap(FDArrayMap, types=(MapType.PROG_ARRAY,)):
    """A ``prog_array`` (tail-call table): store programs, read back their ids."""


class MapOfMaps(KeyValueMap):
    """What maps of maps add: open the map stored at a key."""

    def get_map(self, key: Any) -> Map:
        """The map stored at ``key`` (a new handle, opened by its id).

        Raises:
            KeyError: nothing is stored at ``key``.
        """
        map_id = self[key]
        try:
            return Map.from_id(map_id)
        except SyscallError as exc:
            if exc.errno == errno.ENOENT:  # replaced or freed meanwhile
                raise KeyError(key) from None
            raise


class ArrayOfMapsMap(MapOfMaps, FDArrayMap, types=(MapType.ARRAY_OF_MAPS,)):
    """An ``array_of_maps``: slots hold maps shaped like the inner map."""


class HashOfMapsMap(MapOfMaps, FDHashMap, types=(MapType.HASH_OF_MAPS,)):
    """A ``hash_of_maps``: keys map to maps shaped like the inner map."""
