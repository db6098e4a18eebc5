"""Arena maps (Linux >= 6.9): memory shared by programs and user space, page by page.

``max_entries`` is the size in pages. :meth:`ArenaMap.mmap` maps it into this process (the
kernel then knows the user-space address programs' pointers translate to).
"""

from __future__ import annotations

import mmap

from pybpf._uapi import MapType
from pybpf.objects._mapped import Mapped
from pybpf.objects.map import Map

__all__ = ["ArenaMap"]


class ArenaMap(Map, types=(MapType.ARENA,)):
    """An ``arena`` map."""

    _mapped: Mapped | None = None

    def mmap(self) -> memoryview:
        """The arena's pages as shared memory (pages a program has not touched read as
        zeros; writing one allocates it)."""
        if self._mapped is None:
            self._mapped = Mapped(self._fd, self.max_entries * mmap.PAGESIZE)
        return self._mapped.view

    def close(self) -> None:
        if self._mapped is not None:
            self._mapped.close()
            self._mapped = None
        super().close()
