"""``BPF_MAP_TYPE_RINGBUF``: variable-length records from programs to Python.

The memory image is the kernel's, so the kernel ring-buffer reader can read it: a consumer
position, a producer position and a power-of-two data area, mirrored once after itself as the
kernel maps it twice (a record that wraps is contiguous)::

    consumer_pos (u64)   producer_pos (u64)   data[size] data[size] (mirror)
    record:  | len:30 | discard:1 | busy:1 | pg_off (u32) | sample ... | pad to 8 |

A reserved record is written in its own memory region and copied into the ring on submit, so
a program that touches it after submit or discard faults instead of corrupting the ring.
See https://docs.kernel.org/bpf/ringbuf.html.
"""

from __future__ import annotations

import errno
import struct
from collections.abc import Iterator

from pybpf._util import align
from pybpf.errors import SpecError, VMError
from pybpf.spec import MapSpec
from pybpf.vm.maps.base import MapHost, VMMap
from pybpf.vm.memory import Region

__all__ = ["RingBufMap"]

BUSY = 1 << 31
DISCARD = 1 << 30
HDR = 8
PAGE = 4096
RB_NO_WAKEUP = 1
RB_FORCE_WAKEUP = 2
_HDR = struct.Struct("<II")


class RingBufMap(VMMap):
    """A ring buffer of ``max_entries`` bytes; iterate :meth:`records` to consume."""

    def __init__(self, spec: MapSpec, host: MapHost) -> None:
        super().__init__(spec, host)
        size = self.max_entries
        if size < PAGE or size & (size - 1) or self.key_size or self.value_size:
            hint = "ring buffer size must be a power of 2 multiple of 4096, key/value size 0"
            raise SpecError(f"map {self.name!r}: {hint}")
        self.size = size
        self.mask = size - 1
        self.consumer_pos = 0
        self.producer_pos = 0
        self.data = bytearray(2 * size)
        self._pending: dict[int, tuple[Region, int, int]] = {}  # region base -> (region, pos, n)
        self.wakeups = 0

    # -- the ring ------------------------------------------------------------------------------
    def _put(self, pos: int, blob: bytes) -> None:
        """Write ``blob`` at ring position ``pos`` (and its mirror)."""
        i = pos & self.mask
        end = i + len(blob)
        self.data[i:end] = blob
        if end <= self.size:
            self.data[i + self.size : end + self.size] = blob
        else:
            over = end - self.size
            self.data[:over] = blob[len(blob) - over :]
            self.data[i + self.size : 2 * self.size] = blob[: self.size - i]

    def _reserve(self, n: int) -> int | None:
        """The position of a new record of ``n`` bytes (marked busy), or ``None`` if full."""
        total = align(n + HDR, 8)
        if n > self.size or self.producer_pos + total - self.consumer_pos > self.size:
            return None
        pos = self.producer_pos
        self.producer_pos += total
        self._put(pos, _HDR.pack(n | BUSY, 0))
        return pos

    def _commit(self, pos: int, payload: bytes | None, n: int) -> None:
        if payload is not None:
            self._put(pos + HDR, payload)
            self._put(pos, _HDR.pack(n, 0))
        else:
            self._put(pos, _HDR.pack(n | DISCARD, 0))

    # -- program face --------------------------------------------------------------------------
    def bpf_output(self, payload: bytes, flags: int) -> int:
        """``bpf_ringbuf_output``: 0, or ``-EAGAIN`` when there is no room."""
        pos = self._reserve(len(payload))
        if pos is None:
            return -errno.EAGAIN
        self._commit(pos, payload, len(payload))
        self._wake(flags)
        return 0

    def bpf_reserve(self, n: int) -> int:
        """``bpf_ringbuf_reserve``: the address of ``n`` writable bytes, or 0."""
        pos = self._reserve(n)
        if pos is None:
            return 0
        region = self.host.mem.map(bytearray(max(n, 1)), f"{self.name}@{pos}", hi=n)
        self._pending[region.base] = (region, pos, n)
        return region.base

    def bpf_finish(self, addr: int, discard: bool, flags: int) -> None:
        """``bpf_ringbuf_submit``/``_discard`` of a record reserved at ``addr``.

        Raises:
            VMError: ``addr`` is not a record reserved from this ring buffer.
        """
        entry = self._pending.pop(addr, None)
        if entry is None:
            raise VMError(f"{addr:#x} is not a reserved ring buffer record")
        region, pos, n = entry
        self._commit(pos, None if discard else bytes(region.buf[:n]), n)
        self.host.mem.unmap(region)
        self._wake(flags)

    def owns(self, addr: int) -> bool:
        """True when ``addr`` is a record reserved (and not yet submitted) here."""
        return addr in self._pending

    def bpf_query(self, what: int) -> int:
        """``bpf_ringbuf_query``: available data, size, consumer or producer position."""
        values = {
            0: self.producer_pos - self.consumer_pos,
            1: self.size,
            2: self.consumer_pos,
            3: self.producer_pos,
        }
        return values.get(what, 0)

    def _wake(self, flags: int) -> None:
        if not flags & RB_NO_WAKEUP:
            self.wakeups += 1

    # -- Python face ---------------------------------------------------------------------------
    def records(self) -> Iterator[bytes]:
        """Consume committed records in order (discarded ones are skipped); stops at a record
        still being written or when caught up with the producer."""
        while self.consumer_pos < self.producer_pos:
            i = self.consumer_pos & self.mask
            length, _ = _HDR.unpack_from(self.data, i)
            if length & BUSY:
                return
            n = length & ~(BUSY | DISCARD)
            payload = bytes(self.data[i + HDR : i + HDR + n])
            self.consumer_pos += align(n + HDR, 8)
            if not length & DISCARD:
                yield payload

    def __iter__(self) -> Iterator[bytes]:
        return self.records()

    @property
    def available(self) -> int:
        """Bytes written by producers and not yet consumed."""
        return self.producer_pos - self.consumer_pos

    def close(self) -> None:
        for region, _, _ in self._pending.values():
            self.host.mem.unmap(region)
        self._pending.clear()
