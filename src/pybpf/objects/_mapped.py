"""Memory-mapped map data (``BPF_F_MMAPABLE`` arrays, arenas) as a ``memoryview``."""

from __future__ import annotations

import contextlib
import mmap

from pybpf.sys import FD

__all__ = ["Mapped"]


class Mapped:
    """A shared mapping of ``size`` bytes of a map's data, writable when the kernel allows
    (a frozen or read-only map is mapped read-only)."""

    def __init__(self, fd: FD, size: int, offset: int = 0) -> None:
        length = max(mmap.PAGESIZE, -(-size // mmap.PAGESIZE) * mmap.PAGESIZE)
        try:
            self._mm = mmap.mmap(fd.fileno(), length, mmap.MAP_SHARED, offset=offset)
        except PermissionError:
            self._mm = mmap.mmap(
                fd.fileno(), length, mmap.MAP_SHARED, mmap.PROT_READ, offset=offset
            )
        self.view = memoryview(self._mm)[:size]

    def close(self) -> None:
        """Unmap (left to the garbage collector while a caller still holds a view of it)."""
        self.view.release()
        with contextlib.suppress(BufferError):
            self._mm.close()
