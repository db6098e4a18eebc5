"""The :class:`FD` type: one owned file descriptor of a bpf object."""

from __future__ import annotations

import contextlib
import fcntl
import os
from types import TracebackType

from pybpf.errors import ClosedError

__all__ = ["FD"]


class FD:
    """An owned file descriptor: closed by :meth:`close`, on ``with`` exit, or when collected.

    Never fd 0: a kernel that hands out 0 (stdin was closed) gets it moved above 0, because
    many ``bpf_attr`` fields read 0 as "no fd". bpf(2) makes every fd close-on-exec, and so does
    :meth:`dup`.
    """

    __slots__ = ("__weakref__", "_fd")

    def __init__(self, fd: int) -> None:
        if fd < 0:
            raise ValueError(f"invalid file descriptor {fd}")
        if fd == 0:
            fd = _move_above_zero(fd)
        self._fd = fd

    @property
    def closed(self) -> bool:
        return self._fd < 0

    def fileno(self) -> int:
        """The descriptor number.

        Raises:
            ClosedError: the descriptor was closed.
        """
        if self._fd < 0:
            raise ClosedError("file descriptor is closed")
        return self._fd

    def __int__(self) -> int:
        return self.fileno()

    def dup(self) -> FD:
        """A second, independently owned descriptor of the same object (close-on-exec)."""
        return FD.dup_of(self.fileno())

    @staticmethod
    def dup_of(fd: int) -> FD:
        """An owned duplicate of a descriptor the caller keeps (close-on-exec, never 0)."""
        return FD(fcntl.fcntl(fd, fcntl.F_DUPFD_CLOEXEC, 1))

    def close(self) -> None:
        """Close the descriptor; closing twice is harmless."""
        fd, self._fd = self._fd, -1
        if fd >= 0:
            os.close(fd)

    def __enter__(self) -> FD:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def __del__(self) -> None:
        fd = getattr(self, "_fd", -1)
        if fd >= 0:
            self._fd = -1
            with contextlib.suppress(OSError):
                os.close(fd)

    def __repr__(self) -> str:
        return f"FD({self._fd})" if self._fd >= 0 else "FD(closed)"


def _move_above_zero(fd: int) -> int:
    new = fcntl.fcntl(fd, fcntl.F_DUPFD_CLOEXEC, 1)
    os.close(fd)
    return new
