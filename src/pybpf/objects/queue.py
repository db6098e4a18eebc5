"""Queue and stack maps: ``push``, ``pop`` and ``peek`` of values without keys (Linux >= 4.20).

They are not mappings. An empty queue or stack raises :class:`KeyError` from :meth:`pop` and
:meth:`peek` — absence is a ``KeyError`` throughout pybpf, and the kernel answers ENOENT for
an empty queue as for a missing key. A full one refuses :meth:`push` with E2BIG unless the
push is made with ``UpdateFlags.EXIST``, which drops the oldest value to make room.

Values go through the map's codec (see :class:`~pybpf.objects.codec.Coded`): typed from BTF
when the map has a BTF value type, raw bytes otherwise.
"""

from __future__ import annotations

import ctypes
import errno

from pybpf._uapi import MapType
from pybpf.errors import SyscallError
from pybpf.objects._errors import with_hint
from pybpf.objects.codec import Codec, Coded
from pybpf.objects.map import Map, UpdateFlags
from pybpf.sys import MapElemAttr, map_lookup_and_delete_elem, map_lookup_elem, map_update_elem

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (PEP 781's idiom)
if TYPE_CHECKING:
    from typing import Any

__all__ = ["QueueMap", "StackMap"]

_NO_FD = 0xFFFFFFFF


class _ValueOnly(Map, Coded):
    """A keyless map: values go in and out through one prepared buffer."""

    def _prepare(self) -> None:
        self._vbuf = ctypes.create_string_buffer(max(1, self.value_size))
        self._attr = MapElemAttr(map_fd=self._fd.fileno(), value=ctypes.addressof(self._vbuf))
        self.codec = self.default_codec()

    def _bind(self, codec: Codec) -> None:
        self._encode, self._decode = codec.encode_value, codec.decode_value

    def close(self) -> None:
        self._attr.map_fd = _NO_FD
        super().close()

    def _fail(self, exc: SyscallError, hint: str = "") -> Exception:
        if exc.errno == errno.EBADF and self.closed:
            return self._closed_error()
        return with_hint(exc, hint)


class QueueMap(_ValueOnly, types=(MapType.QUEUE,)):
    """A FIFO queue (``queue`` maps); a :class:`StackMap` is the LIFO twin."""

    _empty = "queue"

    def push(self, value: Any, flags: int = UpdateFlags.ANY) -> None:
        """Add ``value`` (``UpdateFlags.EXIST``: drop the oldest when full).

        Raises:
            CodecError: the value is not ``value_size`` bytes (or an int that fits).
            SyscallError: E2BIG, the map is full.
        """
        ctypes.memmove(self._vbuf, self._encode(value), self.value_size)
        self._attr.flags = flags
        try:
            map_update_elem(self._attr)
        except SyscallError as exc:
            hint = "full; push with UpdateFlags.EXIST to drop the oldest value"
            raise self._fail(exc, hint if exc.errno == errno.E2BIG else "") from None
        finally:
            self._attr.flags = 0

    def pop(self) -> Any:
        """Remove and return the next value.

        Raises:
            KeyError: the map is empty.
        """
        return self._take(map_lookup_and_delete_elem)

    def peek(self) -> Any:
        """The next value, left in place.

        Raises:
            KeyError: the map is empty.
        """
        return self._take(map_lookup_elem)

    def _take(self, call: Any) -> Any:
        try:
            call(self._attr)
        except SyscallError as exc:
            if exc.errno == errno.ENOENT:
                raise KeyError(f"{self._empty} map {self.name!r} is empty") from None
            raise self._fail(exc) from None
        return self._decode(self._vbuf.raw[: self.value_size])

    def drain(self) -> list[Any]:
        """Pop every value, in the order :meth:`pop` gives them."""
        out = []
        while True:
            try:
                out.append(self.pop())
            except KeyError:
                return out


class StackMap(QueueMap, types=(MapType.STACK,)):
    """A LIFO stack (``stack`` maps): :meth:`pop` and :meth:`peek` see the newest value."""

    _empty = "stack"
