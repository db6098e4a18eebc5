"""``BPF_MAP_TYPE_BLOOM_FILTER``: probabilistic set membership, no false negatives.

``map_extra`` (low 4 bits) is the number of hash functions (5 when 0), as in the kernel. The
bit array has about ``max_entries * nr_hashes / ln 2`` bits, rounded up to a power of two.
The hashes are the VM's own (BLAKE2b), so which false positives happen differs from the
kernel's; membership of added values does not.
"""

from __future__ import annotations

import errno
import hashlib
import math

from pybpf._uapi import UpdateFlags
from pybpf.errors import CodecError, SpecError
from pybpf.spec import MapSpec
from pybpf.vm.maps.base import MapHost, Value, VMMap, raise_for

__all__ = ["BloomFilterMap"]


class BloomFilterMap(VMMap):
    """``add(value)``, ``value in bloom``; programs use ``map_push_elem``/``map_peek_elem``."""

    def __init__(self, spec: MapSpec, host: MapHost) -> None:
        super().__init__(spec, host)
        if self.key_size != 0:
            raise SpecError(f"map {self.name!r}: a bloom filter's key_size must be 0")
        self.nr_hashes = (spec.map_extra & 0xF) or 5
        want = max(1, math.ceil(self.max_entries * self.nr_hashes / math.log(2)))
        self.nbits = 1 << max(3, (want - 1).bit_length())
        self.bits = bytearray(self.nbits // 8)

    def _positions(self, value: bytes) -> list[int]:
        digest = hashlib.blake2b(value, digest_size=16).digest()
        h1 = int.from_bytes(digest[:8], "little")
        h2 = int.from_bytes(digest[8:], "little") | 1
        return [(h1 + i * h2) % self.nbits for i in range(self.nr_hashes)]

    # -- program face --------------------------------------------------------------------------
    def bpf_push(self, value: bytes, flags: int) -> int:
        if flags != UpdateFlags.ANY:
            return -errno.EINVAL
        for bit in self._positions(value):
            self.bits[bit >> 3] |= 1 << (bit & 7)
        return 0

    def bpf_pop(self, peek: bool) -> bytes | int:
        """Bloom filters cannot pop; peek is done by :meth:`bpf_contains`."""
        return -errno.EOPNOTSUPP

    def bpf_contains(self, value: bytes) -> bool:
        """True when ``value`` may have been added."""
        return all(self.bits[bit >> 3] >> (bit & 7) & 1 for bit in self._positions(value))

    # -- Python face ---------------------------------------------------------------------------
    def add(self, value: Value) -> None:
        """Add ``value`` to the set."""
        raise_for(self.bpf_push(self._value(value), 0), "BPF_MAP_UPDATE_ELEM", self.name)

    def __contains__(self, value: object) -> bool:
        try:
            return self.bpf_contains(self._value(value))  # type: ignore[arg-type]
        except CodecError:
            return False

    def push(self, value: Value, flags: int = UpdateFlags.ANY) -> None:
        """The kernel's name for :meth:`add` (``BPF_MAP_UPDATE_ELEM`` with no key)."""
        raise_for(self.bpf_push(self._value(value), int(flags)), "BPF_MAP_UPDATE_ELEM", self.name)
