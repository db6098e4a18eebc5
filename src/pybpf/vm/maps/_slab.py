"""Value storage of a map: fixed-size slots in chunks, each chunk an addressable region.

A program's pointer to a map value is an address inside a chunk, so writes through it change
the map, and Python sees them. Chunks are allocated when first touched (a large, sparse map
costs what it holds), and never move once allocated: a value pointer stays valid (RCU-like) for
as long as the map lives, even after its element is deleted.
"""

from __future__ import annotations

from pybpf._util import align
from pybpf.errors import VMError
from pybpf.vm.memory import AddressSpace, Region

__all__ = ["Slab"]

CHUNK_BYTES = 64 * 1024


class Slab:
    """``capacity`` slots of ``size`` bytes (each slot 8-byte aligned)."""

    def __init__(
        self,
        mem: AddressSpace,
        name: str,
        size: int,
        capacity: int,
        *,
        writable: bool = True,
        chunk_bytes: int = CHUNK_BYTES,
    ) -> None:
        self.mem = mem
        self.name = name
        self.size = size
        self.stride = max(8, align(size, 8))
        self.capacity = capacity
        self.per_chunk = max(1, chunk_bytes // self.stride)
        self.writable = writable
        self.chunks: dict[int, Region] = {}
        self._free: list[int] = []
        self._next = 0

    # -- slots -----------------------------------------------------------------------------
    def alloc(self) -> int | None:
        """A free slot (zeroed), or ``None`` when all ``capacity`` slots are in use."""
        if self._free:
            slot = self._free.pop()
        elif self._next < self.capacity:
            slot = self._next
            self._next += 1
        else:
            return None
        self.clear(slot)
        return slot

    def release(self, slot: int) -> None:
        """Give a slot back (its memory stays addressable)."""
        self._free.append(slot)

    def reset(self) -> None:
        """Forget every allocation (the memory stays)."""
        self._free.clear()
        self._next = 0

    # -- memory ----------------------------------------------------------------------------
    def _chunk(self, slot: int) -> tuple[Region, int]:
        if not 0 <= slot < self.capacity:
            raise VMError(f"map {self.name!r}: slot {slot} out of range")
        number, i = divmod(slot, self.per_chunk)
        region = self.chunks.get(number)
        if region is None:
            count = min(self.per_chunk, self.capacity - number * self.per_chunk)
            region = self.mem.map(
                bytearray(count * self.stride), f"{self.name}[{number}]", writable=self.writable
            )
            self.chunks[number] = region
        return region, i * self.stride

    @property
    def contiguous(self) -> bool:
        """True when every slot is in one region (slot ``i`` at ``address(0) + i * stride``)."""
        return self.capacity <= self.per_chunk

    def address(self, slot: int) -> int:
        """The address of the slot's first byte."""
        region, at = self._chunk(slot)
        return region.base + at

    def view(self, slot: int) -> memoryview:
        """A live view of the slot's ``size`` bytes."""
        region, at = self._chunk(slot)
        return memoryview(region.buf)[at : at + self.size]

    def get(self, slot: int) -> bytes:
        """A copy of the slot's bytes."""
        return bytes(self.view(slot))

    def set(self, slot: int, data: bytes) -> None:
        """Overwrite the slot (``data`` must be ``size`` bytes)."""
        self.view(slot)[:] = data

    def clear(self, slot: int) -> None:
        """Zero the slot."""
        self.view(slot)[:] = bytes(self.size)

    def close(self) -> None:
        """Unmap every chunk."""
        for region in self.chunks.values():
            self.mem.unmap(region)
        self.chunks.clear()
