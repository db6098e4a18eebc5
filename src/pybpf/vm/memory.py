"""Virtual memory of the VM: every address names a region in its high 32 bits.

A program never sees a host address. An address is a 64-bit value whose high half picks a
region of the :class:`AddressSpace` and whose low half is an offset in it::

    63                              32 31                               0
    +---------------------------------+---------------------------------+
    |          region index           |         offset in region        |
    +---------------------------------+---------------------------------+

    region 0    packet / memory   at PACKET_BASE, so a 32-bit ctx field (xdp_md.data,
                                  __sk_buff.data_end) holds a whole pointer
    region 1    context           (xdp_md, __sk_buff, a metadata buffer, tracepoint args)
    region 2-9  stack frames 0-7  512 bytes each; r10 of frame k = base(2 + k) + 512
    region 10   code              function addresses (``lddw FUNC``, ``callx``); not readable
    region 11   map handles       what ``lddw MAP_FD`` loads; not readable
    region 16+  dynamic           map value storage, ring buffers, helper-returned memory

Each region has a buffer and a window ``[lo, hi)`` of addresses the program may touch; the
buffer index of address ``a`` is ``a - org``. Moving the window is how ``xdp_adjust_head``
works.
Pointer arithmetic that leaves a region lands in another region's tag or outside its window,
and the check of the next access catches it; null (0) is never valid.

Stack frames are zeroed lazily (:meth:`AddressSpace.fresh_frame`): a frame zeroed for a call
stays write-protected (``whi = lo``) until something writes to it, and the first write,
caught by the check like any other, marks it dirty and goes through. A frame nobody wrote
since it was zeroed needs no zeroing for the next call.
"""

from __future__ import annotations

import struct
from collections.abc import Callable
from typing import Literal

from pybpf.errors import VMError

__all__ = [
    "CODE_REGION",
    "CONTEXT_REGION",
    "DYNAMIC_REGION",
    "MAPS_REGION",
    "MAX_FRAMES",
    "OFFSET_MASK",
    "PACKET_BASE",
    "PACKET_REGION",
    "REGION_SHIFT",
    "STACK_REGION",
    "STACK_SIZE",
    "AddressSpace",
    "Region",
    "byteorder",
    "region_base",
]

REGION_SHIFT = 32
OFFSET_MASK = 0xFFFF_FFFF
PACKET_REGION = 0
CONTEXT_REGION = 1
STACK_REGION = 2
CODE_REGION = 10
MAPS_REGION = 11
DYNAMIC_REGION = 16
MAX_FRAMES = 8
STACK_SIZE = 512
PACKET_BASE = 0x1000_0000
"""Offset of the packet buffer's first byte in region 0: low enough for a 32-bit field."""

Buffer = bytearray | memoryview
_ZERO_FRAME = bytes(STACK_SIZE)

_INT = {
    ("<", 1, False): struct.Struct("<B"),
    ("<", 2, False): struct.Struct("<H"),
    ("<", 4, False): struct.Struct("<I"),
    ("<", 8, False): struct.Struct("<Q"),
    ("<", 1, True): struct.Struct("<b"),
    ("<", 2, True): struct.Struct("<h"),
    ("<", 4, True): struct.Struct("<i"),
    ("<", 8, True): struct.Struct("<q"),
    (">", 1, False): struct.Struct(">B"),
    (">", 2, False): struct.Struct(">H"),
    (">", 4, False): struct.Struct(">I"),
    (">", 8, False): struct.Struct(">Q"),
    (">", 1, True): struct.Struct(">b"),
    (">", 2, True): struct.Struct(">h"),
    (">", 4, True): struct.Struct(">i"),
    (">", 8, True): struct.Struct(">q"),
}


def int_struct(endian: str, size: int, signed: bool = False) -> struct.Struct:
    """The ``struct.Struct`` of an integer of ``size`` bytes in ``endian`` (``<`` or ``>``)."""
    return _INT[(endian, size, signed)]


def byteorder(endian: str) -> Literal["little", "big"]:
    """``"little"`` or ``"big"`` for the ``struct`` prefix ``endian`` (``<`` or ``>``)."""
    return "little" if endian == "<" else "big"


def region_base(index: int) -> int:
    """The address of offset 0 of region ``index``."""
    return index << REGION_SHIFT


class Region:
    """A buffer the program may address, and the window of it that is accessible.

    ``buf`` is a writable buffer (``bytearray`` or a writable ``memoryview``): read-only
    regions are enforced by ``writable``, not by the buffer type, so every tier (the JIT
    too) can address the same bytes. All positions are absolute addresses: ``org`` is the
    address of ``buf[0]``, ``[lo, hi)`` the accessible addresses and ``whi`` the end of the
    writable ones (``lo`` when read-only, and in a stack frame known to be zero: see
    :meth:`AddressSpace.fresh_frame`), so a check is two comparisons.
    """

    __slots__ = ("base", "buf", "hi", "index", "lo", "name", "org", "whi", "writable")

    def __init__(
        self, index: int, buf: Buffer, name: str, *, writable: bool, org: int, lo: int, hi: int
    ) -> None:
        self.index = index
        self.base = index << REGION_SHIFT
        self.buf = buf
        self.name = name
        self.org = org
        self.lo = lo
        self.hi = hi
        self.writable = writable
        self.whi = hi if writable else lo

    @property
    def start(self) -> int:
        """The address of the first accessible byte."""
        return self.lo

    @property
    def end(self) -> int:
        """The address one past the last accessible byte."""
        return self.hi

    def __repr__(self) -> str:
        rw = "rw" if self.writable else "ro"
        return f"Region({self.name!r}, {self.lo:#x}-{self.hi:#x}, {rw})"


def fault(reason: str, addr: int, size: int) -> VMError:
    """A :class:`VMError` for a bad access; the tier adds the pc and instruction."""
    err = VMError(f"{reason}: {size} bytes at {addr:#x}")
    err.address = addr
    return err


class AddressSpace:
    """The regions of one VM, indexed by the high half of an address.

    Observers (the JIT keeps a native copy of the table) are told of every change through
    :meth:`changed`.
    """

    def __init__(self, endian: str = "<") -> None:
        self.endian = endian
        self.regions: list[Region | None] = [None] * DYNAMIC_REGION
        self._free: list[int] = []
        self.observers: list[Callable[[int], None]] = []
        self.zeroed = 0
        """Bit ``i`` set: region ``i`` is a frame zeroed and not written since."""

    # -- regions ---------------------------------------------------------------------------
    def map(
        self,
        buf: Buffer,
        name: str,
        *,
        writable: bool = True,
        index: int | None = None,
        origin: int = 0,
        lo: int | None = None,
        hi: int | None = None,
    ) -> Region:
        """Make ``buf`` addressable; a fixed ``index`` replaces what was there.

        Raises:
            VMError: the buffer is read-only or larger than a region (4 GiB).
        """
        if isinstance(buf, memoryview) and buf.readonly:
            raise VMError(f"region {name!r}: buffer must be writable (a bytearray)")
        if origin + len(buf) > OFFSET_MASK:
            raise VMError(f"region {name!r}: {len(buf)} bytes do not fit a region")
        if index is None:
            index = self._free.pop() if self._free else len(self.regions)
            if index == len(self.regions):
                self.regions.append(None)
        base = index << REGION_SHIFT
        low = origin if lo is None else lo
        high = origin + len(buf) if hi is None else hi
        region = Region(
            index, buf, name, writable=writable, org=base + origin, lo=base + low, hi=base + high
        )
        self.regions[index] = region
        self.zeroed &= ~(1 << index)
        self.changed(index)
        return region

    def unmap(self, region: Region) -> None:
        """Remove a dynamic region; its index may be reused later."""
        if self.regions[region.index] is region:
            self.regions[region.index] = None
            if region.index >= DYNAMIC_REGION:
                self._free.append(region.index)
            self.changed(region.index)

    def set_window(self, region: Region, lo: int, hi: int, writable: bool | None = None) -> None:
        """Move the accessible window of ``region`` to the addresses ``[lo, hi)``
        (``xdp_adjust_head``/``_tail``), and optionally change whether it is writable."""
        if writable is not None:
            region.writable = writable
        region.lo, region.hi = lo, hi
        region.whi = hi if region.writable else lo
        self.zeroed &= ~(1 << region.index)
        self.changed(region.index)

    def changed(self, index: int) -> None:
        """Tell the observers that region ``index`` changed."""
        for observer in self.observers:
            observer(index)

    # -- stack frames ----------------------------------------------------------------------
    def fresh_frame(self, region: Region) -> None:
        """Make the stack frame ``region`` all zeros for a new call: zero it unless nothing
        wrote to it since it was last zeroed, and keep it write-protected until the next
        write (see the module docstring)."""
        if region.whi != region.lo:
            region.buf[:] = _ZERO_FRAME
            region.whi = region.lo
            self.zeroed |= 1 << region.index

    def dirty_frames(self) -> None:
        """Forget which frames are zero: code that writes memory without :meth:`translate`
        (the native JIT) calls this before it runs."""
        bits, self.zeroed = self.zeroed, 0
        index = 0
        while bits:
            region = self.regions[index]
            if bits & 1 and region is not None:
                region.whi = region.hi
            bits >>= 1
            index += 1

    # -- translation -----------------------------------------------------------------------
    def translate(self, addr: int, size: int, write: bool = False) -> tuple[Region, int]:
        """The region holding ``size`` bytes at ``addr`` and the buffer index of ``addr``.

        Raises:
            VMError: the bytes are not all inside one accessible region (or not writable).
        """
        index = addr >> REGION_SHIFT
        region = self.regions[index] if index < len(self.regions) else None
        if region is None or addr < region.lo or addr + size > region.hi or size < 0:
            raise fault("out of bounds access", addr, size)
        if write and addr + size > region.whi:
            if not region.writable:
                raise fault("write to read-only memory", addr, size)
            region.whi = region.hi  # the first write to a zeroed frame
            self.zeroed &= ~(1 << index)
        return region, addr - region.org

    def load(self, addr: int, size: int, signed: bool = False) -> int:
        """Load an integer of ``size`` bytes (1, 2, 4, 8) in the VM's byte order."""
        region, i = self.translate(addr, size)
        value: int = _INT[(self.endian, size, signed)].unpack_from(region.buf, i)[0]
        return value

    def store(self, addr: int, size: int, value: int) -> None:
        """Store the low ``size`` bytes of ``value``."""
        region, i = self.translate(addr, size, write=True)
        mask = (1 << (size * 8)) - 1
        _INT[(self.endian, size, False)].pack_into(region.buf, i, value & mask)

    def read(self, addr: int, n: int) -> bytes:
        """A copy of ``n`` bytes at ``addr``."""
        if n == 0:
            return b""
        region, i = self.translate(addr, n)
        return bytes(region.buf[i : i + n])

    def write(self, addr: int, data: bytes | bytearray | memoryview) -> None:
        """Write ``data`` at ``addr``."""
        if not data:
            return
        region, i = self.translate(addr, len(data), write=True)
        region.buf[i : i + len(data)] = data

    def view(self, addr: int, n: int, write: bool = False) -> memoryview:
        """A live view of ``n`` bytes at ``addr`` (checked like an access)."""
        region, i = self.translate(addr, n, write)
        return memoryview(region.buf)[i : i + n]

    def read_cstr(self, addr: int, limit: int) -> bytes:
        """The bytes of the NUL-terminated string at ``addr`` (at most ``limit``, no NUL).

        Raises:
            VMError: the string runs out of its region before a NUL or ``limit`` bytes.
        """
        region, i = self.translate(addr, 1)
        avail = min(limit, region.hi - addr)
        chunk = bytes(region.buf[i : i + avail])
        nul = chunk.find(b"\0")
        if nul >= 0:
            return chunk[:nul]
        if avail < limit:
            raise fault("string runs out of memory", addr, avail + 1)
        return chunk

    def region_at(self, addr: int) -> Region | None:
        """The region whose tag ``addr`` carries, or ``None``."""
        index = addr >> REGION_SHIFT
        return self.regions[index] if index < len(self.regions) else None
