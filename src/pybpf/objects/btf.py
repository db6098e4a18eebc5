"""BTF loaded into the kernel: :class:`BTFHandle`.

Maps and programs name their key, value and function types by id in a loaded BTF object.
:meth:`BTFHandle.load` loads raw BTF (the bytes of a ``.BTF`` section, or what
:mod:`pybpf.btf` writes); :meth:`BTFHandle.from_id` opens one the kernel already has
(``vmlinux``, a module's, another program's).
"""

from __future__ import annotations

import ctypes
import errno
from types import TracebackType

from pybpf.errors import SyscallError, VerifierError
from pybpf.objects._errors import with_hint
from pybpf.objects._memlock import memlock_raised
from pybpf.sys import FD, BtfLoadAttr, btf_get_fd_by_id, btf_load, obj_get_info_by_fd

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (PEP 781's idiom)
if TYPE_CHECKING:
    from pybpf.objects.info import BTFInfo

__all__ = ["BTFHandle"]

_LOG_START = 64 * 1024
_LOG_MAX = (1 << 32) // 4 - 1  # the kernel refuses log buffers of UINT_MAX >> 2 and more


class BTFHandle:
    """A BTF object in the kernel, behind a file descriptor."""

    def __init__(self, fd: FD) -> None:
        self._fd = fd

    @classmethod
    def load(cls, raw: bytes) -> BTFHandle:
        """Load raw BTF into the kernel.

        Raises:
            VerifierError: the kernel refused the BTF (``log`` has the kernel's reasons).
            SyscallError: another refusal (EPERM without privileges …).
        """
        data = ctypes.create_string_buffer(bytes(raw), len(raw))
        attr = BtfLoadAttr(btf=ctypes.addressof(data), btf_size=len(raw))
        try:
            return cls(btf_load(attr))
        except SyscallError as exc:
            if memlock_raised(exc.errno or 0):
                return cls.load(raw)  # once more, RLIMIT_MEMLOCK lifted
            if exc.errno == errno.EPERM:
                raise with_hint(exc) from None
        return cls(_load_logged(attr))

    @classmethod
    def from_id(cls, btf_id: int) -> BTFHandle:
        """Open the kernel's BTF object ``btf_id`` (1 is usually ``vmlinux``)."""
        return cls(btf_get_fd_by_id(btf_id))

    @property
    def fd(self) -> FD:
        return self._fd

    def fileno(self) -> int:
        return self._fd.fileno()

    def info(self) -> BTFInfo:
        """Id, name, size and whether the kernel provides this BTF."""
        from pybpf.objects.info import btf_info  # noqa: PLC0415 - info is not on a load's path

        return btf_info(self._fd.fileno())

    def raw(self) -> bytes:
        """The BTF bytes as the kernel holds them."""
        from pybpf.sys.info import BtfInfo  # noqa: PLC0415

        size = self.info().size
        buf = ctypes.create_string_buffer(size)
        obj_get_info_by_fd(self._fd.fileno(), BtfInfo(btf=ctypes.addressof(buf), btf_size=size))
        return buf.raw

    def close(self) -> None:
        self._fd.close()

    @property
    def closed(self) -> bool:
        return self._fd.closed

    def __enter__(self) -> BTFHandle:
        return self

    def __exit__(
        self, t: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"BTFHandle({self._fd!r})"


def _load_logged(attr: BtfLoadAttr) -> FD:
    """Load again with a log (growing it as needed) to say why the kernel refused."""
    size = _LOG_START
    while True:
        log = ctypes.create_string_buffer(size)
        attr.btf_log_buf, attr.btf_log_size, attr.btf_log_level = ctypes.addressof(log), size, 1
        try:
            return btf_load(attr)
        except SyscallError as exc:
            err = exc.errno or 0
            if err == errno.ENOSPC and size < _LOG_MAX:
                size = min(_LOG_MAX, max(size * 4, attr.btf_log_true_size))
                continue
            text = log.value.decode(errors="replace")
            if text:
                raise VerifierError(exc.command, err, text) from None
            raise
