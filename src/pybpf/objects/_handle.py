"""What every kernel object handle has: an owned fd, closing, ``with``, and pinning."""

from __future__ import annotations

from types import TracebackType

from pybpf.errors import ClosedError
from pybpf.objects import pin
from pybpf.objects._errors import SpecError
from pybpf.sys import FD

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (PEP 781's idiom)
if TYPE_CHECKING:
    from typing import TypeVar

    _H = TypeVar("_H", bound="Handle")

__all__ = ["Handle"]


class Handle:
    """An owned bpf object fd: closed by :meth:`close`, on ``with`` exit, or when collected;
    any use after closing raises :class:`~pybpf.errors.ClosedError`."""

    kind = "object"  # "map", "program" … in messages
    _pinned: str | None = None

    def __init__(self, fd: FD) -> None:
        self._fd = fd

    @property
    def name(self) -> str:
        return ""

    @property
    def fd(self) -> FD:
        return self._fd

    def fileno(self) -> int:
        """The object's fd (raises :class:`~pybpf.errors.ClosedError` once closed)."""
        if self._fd.closed:
            raise self._closed_error()
        return self._fd.fileno()

    @property
    def closed(self) -> bool:
        return self._fd.closed

    def close(self) -> None:
        """Release the object (the kernel frees it once nothing else holds it)."""
        self._fd.close()

    def __enter__(self: _H) -> _H:
        return self

    def __exit__(
        self, t: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def _closed_error(self) -> ClosedError:
        return ClosedError(f"{self.kind} {self.name!r} is closed")

    # -- pinning -----------------------------------------------------------------------------
    def pin(self, path: str) -> None:
        """Pin the object at ``path`` in a bpffs (mounting ``/sys/fs/bpf`` if needed).

        Raises:
            SyscallError: EEXIST when something is already pinned there.
        """
        self.fileno()  # ClosedError first
        pin.pin(self._fd, path)
        self._pinned = path

    def unpin(self, path: str | None = None) -> None:
        """Remove the pin at ``path`` (default: where this handle pinned or opened it).

        Raises:
            SpecError: no path given and this handle knows of no pin.
            SyscallError: nothing is pinned there.
        """
        target = path or self._pinned
        if target is None:
            raise SpecError(f"{self.kind} {self.name!r} is not pinned; give the path to unpin")
        pin.unpin(target)
        if target == self._pinned:
            self._pinned = None

    @property
    def pinned_path(self) -> str | None:
        """Where this handle pinned the object, or the pin it was opened from."""
        return self._pinned
