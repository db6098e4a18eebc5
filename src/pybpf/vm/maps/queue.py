"""``BPF_MAP_TYPE_QUEUE`` (FIFO) and ``BPF_MAP_TYPE_STACK`` (LIFO): values without keys.

Not mappings: ``push(value, flags)``, ``pop()``, ``peek()``, ``len()``. Pushing to a full map
fails with ``E2BIG`` unless ``flags`` is ``BPF_EXIST``, which drops the oldest value first.
"""

from __future__ import annotations

import errno
from collections import deque

from pybpf._uapi import UpdateFlags
from pybpf.errors import SpecError
from pybpf.spec import MapSpec
from pybpf.vm.maps.base import MapHost, Value, VMMap, raise_for

__all__ = ["QueueMap", "StackMap"]


class QueueMap(VMMap):
    """A FIFO of ``max_entries`` values of ``value_size`` bytes."""

    lifo = False

    def __init__(self, spec: MapSpec, host: MapHost) -> None:
        super().__init__(spec, host)
        if self.key_size != 0:
            raise SpecError(f"map {self.name!r}: a queue's or stack's key_size must be 0")
        self._items: deque[bytes] = deque()

    # -- program face --------------------------------------------------------------------------
    def bpf_push(self, value: bytes, flags: int) -> int:
        if flags & ~UpdateFlags.EXIST:
            return -errno.EINVAL
        if len(self._items) >= self.max_entries:
            if flags != UpdateFlags.EXIST:
                return -errno.E2BIG
            self._items.popleft()
        self._items.append(value)
        return 0

    def bpf_pop(self, peek: bool) -> bytes | int:
        if not self._items:
            return -errno.ENOENT
        if peek:
            return self._items[-1] if self.lifo else self._items[0]
        return self._items.pop() if self.lifo else self._items.popleft()

    # -- Python face ---------------------------------------------------------------------------
    def push(self, value: Value, flags: int = UpdateFlags.ANY) -> None:
        """Add ``value``.

        Raises:
            SyscallError: ``E2BIG`` when full (and ``flags`` is not ``EXIST``).
        """
        result = self.bpf_push(self._value(value), int(flags))
        raise_for(result, "BPF_MAP_UPDATE_ELEM", self.name)

    def pop(self) -> bytes:
        """Remove and return the next value.

        Raises:
            KeyError: the map is empty.
        """
        value = self.bpf_pop(False)
        if isinstance(value, int):
            raise KeyError(f"map {self.name!r} is empty")
        return value

    def peek(self) -> bytes:
        """The next value, left in place.

        Raises:
            KeyError: the map is empty.
        """
        value = self.bpf_pop(True)
        if isinstance(value, int):
            raise KeyError(f"map {self.name!r} is empty")
        return value

    def drain(self) -> list[bytes]:
        """Pop every value, in the order :meth:`pop` gives them."""
        out = []
        while self._items:
            out.append(self.pop())
        return out

    def __len__(self) -> int:
        return len(self._items)


class StackMap(QueueMap):
    """A LIFO of ``max_entries`` values."""

    lifo = True
