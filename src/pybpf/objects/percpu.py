"""Per-CPU maps: one value per possible CPU.

User space reads and writes every CPU's copy at once. A value is a list with one entry per
possible CPU (``/sys/devices/system/cpu/possible``); in the kernel's buffer each CPU's value
starts on an 8-byte boundary::

    | cpu 0 value | pad to 8 | cpu 1 value | pad to 8 | ... | cpu N-1 value | pad to 8 |

Writing a single (non-list) value stores it on every CPU.
"""

from __future__ import annotations

from collections.abc import Sequence

from pybpf._uapi import MapType
from pybpf.objects._errors import CodecError
from pybpf.objects.codec import Codec, RawCodec, split
from pybpf.objects.kv import ArrayMap, HashMap, KeyValueMap
from pybpf.sys import current

__all__ = ["PerCPUArrayMap", "PerCPUCodec", "PerCPUHashMap", "possible_cpus"]


def possible_cpus() -> int:
    """How many CPUs a per-CPU value spans (the kernel's possible CPUs)."""
    return current().possible_cpus()


class PerCPUCodec(Codec):
    """Wraps the codec of one CPU's value: values are lists of ``cpus`` of them.

    ``value_size`` is the size of the whole buffer (``cpus`` times the value rounded up to 8).
    """

    def __init__(self, element: Codec, cpus: int) -> None:
        self.element = element
        self.cpus = cpus
        self.key_size = element.key_size
        self.stride = -(-element.value_size // 8) * 8
        self.value_size = self.stride * cpus
        self._pad = bytes(self.stride - element.value_size)
        self.encode_key = element.encode_key  # type: ignore[method-assign]
        self.decode_key = element.decode_key  # type: ignore[method-assign]

    def encode_key(self, key: object) -> bytes:
        return self.element.encode_key(key)

    def decode_key(self, data: bytes) -> object:
        return self.element.decode_key(data)

    def encode_value(self, value: object) -> bytes:
        if isinstance(value, (list, tuple)):
            if len(value) != self.cpus:
                raise CodecError(
                    f"per-CPU value has {len(value)} entries; this machine has {self.cpus} CPUs"
                )
            items: Sequence[object] = value
        else:
            items = [value] * self.cpus
        pad = self._pad
        return b"".join(self.element.encode_value(v) + pad for v in items)

    def decode_value(self, data: bytes) -> list[object]:
        size = self.element.value_size
        return [self.element.decode_value(b[:size]) for b in split(data, self.stride, self.cpus)]

    def decode_values(self, data: bytes, count: int) -> list[object]:
        return [self.decode_value(b) for b in split(data, self.value_size, count)]

    def __repr__(self) -> str:
        return f"PerCPUCodec({self.element!r}, cpus={self.cpus})"


class _PerCPU(KeyValueMap):
    def _element_bytes(self) -> int:
        return -(-self.value_size // 8) * 8 * possible_cpus()

    def per_cpu(self, element: Codec) -> PerCPUCodec:
        """A per-CPU codec around ``element`` (assign it to :attr:`codec`)."""
        return PerCPUCodec(element, possible_cpus())

    def typed_codec(self) -> Codec:
        return self.per_cpu(super().typed_codec())


class PerCPUHashMap(_PerCPU, HashMap, types=(MapType.PERCPU_HASH, MapType.LRU_PERCPU_HASH)):
    """``percpu_hash`` and ``lru_percpu_hash``: values are lists, one entry per CPU."""

    def raw_codec(self) -> Codec:
        return self.per_cpu(RawCodec(self.key_size, self.value_size))


class PerCPUArrayMap(_PerCPU, ArrayMap, types=(MapType.PERCPU_ARRAY,)):
    """``percpu_array``: integer indexes; values are lists, one entry per CPU."""

    def raw_codec(self) -> Codec:
        return self.per_cpu(RawCodec(self.key_size, self.value_size, int_keys=True))
