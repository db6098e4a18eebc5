"""The base of user-space maps: the kernel map API, in Python, on VM memory.

Every map has two faces. The Python face is the one kernel maps have (``m[key]``,
``m.put(key, value, flags)``, ``m.next_key(key)`` …; keys and values as ``bytes`` or ``int``);
the program face (``bpf_*`` methods) is what helpers call, with raw bytes in and negative
errno values out, as the kernel's map ops.

Failures of the Python face raise what a kernel map (:mod:`pybpf.objects`) raises: ``KeyError``
for a missing key (also ``put(..., EXIST)`` of one, and an array index out of range),
:class:`~pybpf.errors.SyscallError` with the kernel's errno for a refused update (``EEXIST``,
``E2BIG``), :class:`~pybpf.errors.CodecError` for a key or value of the wrong size or type,
:class:`~pybpf.errors.SpecError` for a spec the map cannot be made from — so code written
against one works against the other.
"""

from __future__ import annotations

import errno
from collections.abc import Iterator
from typing import Protocol

from pybpf._uapi import MapType, UpdateFlags
from pybpf.errors import CodecError, SpecError, SyscallError
from pybpf.spec import MapSpec
from pybpf.vm.memory import AddressSpace, byteorder

__all__ = ["Key", "MapHost", "UpdateFlags", "VMMap", "Value", "to_bytes"]

Key = bytes | bytearray | memoryview | int
Value = bytes | bytearray | memoryview | int


class MapHost(Protocol):
    """What a map needs from its VM."""

    mem: AddressSpace
    ncpus: int
    endian: str

    @property
    def cpu(self) -> int: ...


def to_bytes(x: Key, size: int, endian: str, what: str, command: str) -> bytes:
    """``x`` as exactly ``size`` bytes: ints in the VM's byte order, buffers as given.

    Raises:
        CodecError: the size is wrong, the int does not fit, or the type is not taken.
    """
    if isinstance(x, int) and not isinstance(x, bool):
        try:
            return x.to_bytes(size, byteorder(endian), signed=x < 0)
        except OverflowError as exc:
            raise CodecError(f"{what} {x} does not fit {size} bytes") from exc
    if isinstance(x, (bytes, bytearray, memoryview)):
        data = bytes(x)
        if len(data) != size:
            hint = f"{what} is {len(data)} bytes, the map's is {size}"
            raise CodecError(hint)
        return data
    raise CodecError(f"{what} must be bytes or int, not {type(x).__name__}")


def neg(err: int) -> int:
    """A negative errno as the u64 a helper returns."""
    return -err & 0xFFFF_FFFF_FFFF_FFFF


class VMMap:
    """A map in the VM, built from a :class:`MapSpec`.

    ``handle`` is the address ``lddw map`` loads for it (set when the VM registers it).
    """

    kind = "map"

    def __init__(self, spec: MapSpec, host: MapHost) -> None:
        self.spec = spec
        self.host = host
        self.name = spec.name
        self.type = MapType(spec.type)
        self.key_size = spec.key_size
        self.value_size = spec.value_size
        self.max_entries = spec.max_entries
        self.flags = spec.flags
        self.handle = 0
        self._check_spec()

    def _check_spec(self) -> None:
        if self.max_entries <= 0 and self.type not in _NO_MAX:
            raise SpecError(f"map {self.name!r}: max_entries is 0")

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}({self.name!r}, key_size={self.key_size}, "
            f"value_size={self.value_size}, max_entries={self.max_entries})"
        )

    # -- conversions -------------------------------------------------------------------------
    def _key(self, key: Key, command: str = "BPF_MAP_LOOKUP_ELEM") -> bytes:
        return to_bytes(key, self.key_size, self.host.endian, "key", command)

    def _value(self, value: Value, command: str = "BPF_MAP_UPDATE_ELEM") -> bytes:
        return to_bytes(value, self.value_size, self.host.endian, "value", command)

    # -- the program's face (helpers) ----------------------------------------------------------
    def bpf_lookup(self, key: bytes) -> int:
        """The address of the value of ``key`` for the running CPU, or 0."""
        return 0

    def bpf_update(self, key: bytes, value: bytes, flags: int) -> int:
        """Insert or replace; 0 or a negative errno."""
        return -errno.EINVAL

    def bpf_delete(self, key: bytes) -> int:
        """Remove; 0 or a negative errno."""
        return -errno.EINVAL

    def bpf_push(self, value: bytes, flags: int) -> int:
        """Push (queue, stack, bloom filter); 0 or a negative errno."""
        return -errno.EINVAL

    def bpf_pop(self, peek: bool) -> bytes | int:
        """Pop or peek: the value, or a negative errno."""
        return -errno.EINVAL

    def bpf_keys(self) -> Iterator[bytes]:
        """Keys in iteration order, for ``bpf_for_each_map_elem``."""
        return iter(())

    def close(self) -> None:
        """Release the map's memory regions."""


_NO_MAX = {MapType.PERF_EVENT_ARRAY, MapType.RINGBUF}


def check_flags(flags: int, exists: bool, command: str = "BPF_MAP_UPDATE_ELEM") -> int:
    """0 when an update with ``flags`` may proceed, else the negative errno (as the kernel)."""
    base = flags & ~UpdateFlags.LOCK
    if base > UpdateFlags.EXIST:
        return -errno.EINVAL
    if base == UpdateFlags.NOEXIST and exists:
        return -errno.EEXIST
    if base == UpdateFlags.EXIST and not exists:
        return -errno.ENOENT
    return 0


def raise_for(result: int, command: str, name: str, key: object = None) -> None:
    """Raise what a kernel map raises for the negative errno ``result``: ``KeyError`` for
    ``ENOENT`` (an absent key), else :class:`SyscallError`."""
    if result == -errno.ENOENT:
        raise KeyError(key)
    if result < 0:
        raise SyscallError(command, -result, f"map {name!r}")
