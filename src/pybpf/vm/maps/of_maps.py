"""``BPF_MAP_TYPE_ARRAY_OF_MAPS`` and ``BPF_MAP_TYPE_HASH_OF_MAPS``.

Values are maps of the same VM matching the spec's ``inner_map`` (type, key and value sizes);
a program's lookup gives the inner map's handle, usable wherever a map is.
"""

from __future__ import annotations

from pybpf.vm.maps._objects import ObjectMap
from pybpf.vm.maps.base import VMMap

__all__ = ["ArrayOfMaps", "HashOfMaps"]


class ArrayOfMaps(ObjectMap):
    """Index → inner map."""

    def _accept(self, value: object) -> object:
        if not isinstance(value, VMMap):
            raise self.refuse(f"values are maps of the VM, not {type(value).__name__}")
        inner = self.spec.inner_map
        if inner is not None and (
            value.type != inner.type
            or value.key_size != inner.key_size
            or value.value_size != inner.value_size
        ):
            raise self.refuse(f"map {value.name!r} does not match the inner map spec")
        return value

    def bpf_lookup(self, key: bytes) -> int:
        found = self._items.get(key)
        return found.handle if isinstance(found, VMMap) else 0


class HashOfMaps(ArrayOfMaps):
    """Key → inner map."""

    indexed = False
