"""The backend that performs bpf(2), and the one function every command goes through.

:func:`bpf` is the only way pybpf reaches the kernel's bpf(2). It hands the command to the
active :class:`Backend`: :class:`KernelBackend` makes the real system call; tests swap in
:class:`pybpf.sys.fake.FakeBackend` with :func:`use_backend` to exercise map and program logic
without root. A backend also answers the few questions about the kernel's objects that are not
bpf(2) commands: what kind of object an fd is, how many CPUs per-CPU values span, and whether
a path is on a bpf filesystem (and mounting one).

See bpf(2): https://man7.org/linux/man-pages/man2/bpf.2.html
"""

from __future__ import annotations

import abc
import ctypes
import errno
import functools
import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from pybpf._uapi import Cmd
from pybpf.errors import SyscallError
from pybpf.sys.attrs import Attr

__all__ = [
    "Backend",
    "KernelBackend",
    "bpf",
    "command_name",
    "current",
    "last_error",
    "prepare",
    "refusal",
    "use_backend",
]

# __NR_bpf per architecture (arch/*/include/uapi/asm/unistd*.h, arch/*/entry/syscalls/*.tbl).
_NR_BPF = {
    "x86_64": 321,
    "i386": 357,
    "i686": 357,
    "aarch64": 280,
    "arm64": 280,
    "riscv64": 280,
    "loongarch64": 280,
    "armv7l": 386,
    "armv6l": 386,
    "ppc64le": 361,
    "ppc64": 361,
    "s390x": 351,
    "mips64": 5315,
}

_NAMES = {int(c): f"BPF_{c.name}" for c in Cmd}

# readlink(/proc/self/fd/N) of each kind of bpf fd (the anon inode names in kernel/bpf/*.c).
_KINDS = {
    "anon_inode:bpf-map": "map",
    "anon_inode:bpf-prog": "prog",
    "anon_inode:bpf_link": "link",
    "anon_inode:btf": "btf",
}


def command_name(cmd: int) -> str:
    """``BPF_MAP_CREATE`` for 0, and so on."""
    return _NAMES.get(cmd, f"bpf command {cmd}")


class Backend(abc.ABC):
    """Performs bpf(2) commands and answers questions about the kernel's bpf objects."""

    @abc.abstractmethod
    def call(self, cmd: int, attr: Attr) -> int:
        """Perform one command; return its non-negative result, or ``-errno``."""

    def prepare(self, cmd: int, attr: Attr) -> Callable[[], int]:
        """``cmd`` on ``attr`` bound once, for hot paths: calling it performs the command and
        returns its result, or -1 with the errno left in :func:`ctypes.get_errno` (as libc
        does). The attr's contents may change between calls; the attr itself may not."""
        call = self.call

        def run() -> int:
            r = call(cmd, attr)
            if r < 0:
                ctypes.set_errno(-r)
                return -1
            return r

        return run

    @abc.abstractmethod
    def object_kind(self, fd: int) -> str | None:
        """``"map"``, ``"prog"``, ``"link"`` or ``"btf"`` for a bpf fd; ``None`` otherwise."""

    @abc.abstractmethod
    def possible_cpus(self) -> int:
        """How many CPUs per-CPU map values span (the kernel's possible CPUs)."""

    @abc.abstractmethod
    def bpffs_at(self, path: str) -> bool:
        """True when ``path`` (an existing directory) is on a mounted bpf filesystem."""

    @abc.abstractmethod
    def mount_bpffs(self, path: str) -> None:
        """Mount a bpf filesystem on the directory ``path``.

        Raises:
            SyscallError: mount(2) refused (``command`` is ``"mount"``).
        """


class KernelBackend(Backend):
    """The real kernel: bpf(2) through libc's ``syscall()``, with ctypes."""

    def __init__(self) -> None:
        libc = ctypes.CDLL(None, use_errno=True)
        self._mount = libc.mount
        self._syscall = libc.syscall
        nr = self._nr = _NR_BPF.get(os.uname().machine, -1)
        # The hot path: a closure over the libc function and __NR_bpf, so one call costs
        # one Python frame and one foreign call.
        self.call = _syscaller(libc.syscall, nr) if nr >= 0 else _no_bpf  # type: ignore[method-assign, assignment]

    def call(self, cmd: int, attr: Attr) -> int:  # replaced per instance in __init__
        return -errno.ENOSYS

    def prepare(self, cmd: int, attr: Attr) -> Callable[[], int]:
        if self._nr < 0:
            return super().prepare(cmd, attr)
        # A C-level partial of libc's syscall(): a prepared lookup costs no Python frame.
        return functools.partial(self._syscall, self._nr, cmd, attr._ref, attr._size)

    def object_kind(self, fd: int) -> str | None:
        try:
            target = os.readlink(f"/proc/self/fd/{fd}")
        except OSError:
            return None
        return _KINDS.get(target)

    def possible_cpus(self) -> int:
        with open("/sys/devices/system/cpu/possible") as f:
            return parse_cpu_list(f.read())

    def bpffs_at(self, path: str) -> bool:
        return _fs_type(os.path.realpath(path)) == "bpf"

    def mount_bpffs(self, path: str) -> None:
        r = self._mount(b"bpf", os.fsencode(path), b"bpf", ctypes.c_ulong(0), None)
        if r != 0:
            raise SyscallError("mount", ctypes.get_errno(), f"mounting bpffs on {path}")


def _syscaller(syscall: Callable[..., int], nr: int) -> Callable[[int, Attr], int]:
    get_errno = ctypes.get_errno

    def call(cmd: int, attr: Attr) -> int:
        r = syscall(nr, cmd, attr._ref, attr._size)
        return r if r >= 0 else -get_errno()

    return call


def _no_bpf(cmd: int, attr: Attr) -> int:
    return -errno.ENOSYS


def parse_cpu_list(text: str) -> int:
    """How many CPUs a kernel CPU list names (``"0-3,8"`` → 5)."""
    count = 0
    for part in text.strip().split(","):
        if not part:
            continue
        lo, _, hi = part.partition("-")
        count += int(hi or lo) - int(lo) + 1
    return count


def _fs_type(path: str) -> str | None:
    """The filesystem type of the mount holding ``path``, from /proc/self/mountinfo."""
    best, fstype = "", None
    with open("/proc/self/mountinfo") as f:
        for line in f:
            left, _, right = line.partition(" - ")
            point = left.split()[4].replace("\\040", " ")
            inside = path == point or path.startswith(point.rstrip("/") + "/")
            if inside and len(point) >= len(best):
                best, fstype = point, right.split()[0]
    return fstype


_backend: Backend = KernelBackend()
_call = _backend.call


def current() -> Backend:
    """The backend bpf(2) commands go to now."""
    return _backend


@contextmanager
def use_backend(backend: Backend) -> Iterator[Backend]:
    """Send every bpf(2) command to ``backend`` inside the ``with`` block.

    Objects keep the fds their backend gave them: use them inside the same block.
    """
    global _backend, _call
    saved = _backend
    _backend, _call = backend, backend.call
    try:
        yield backend
    finally:
        _backend, _call = saved, saved.call


def bpf(cmd: int, attr: Attr) -> int:
    """Perform one bpf(2) command through the active backend: the only door to the kernel.

    Returns the command's result (an fd for commands that create one, else 0).

    Raises:
        SyscallError: the kernel refused; ``errno`` and ``command`` say how and what.
    """
    r = _call(cmd, attr)
    if r < 0:
        raise refusal(cmd, -r)
    return r


def refusal(cmd: int, err: int) -> SyscallError:
    """The error for command ``cmd`` refused with ``err``."""
    return SyscallError(_NAMES.get(cmd, f"bpf command {cmd}"), err)


def prepare(cmd: int, attr: Attr) -> Callable[[], int]:
    """Bind ``cmd`` to ``attr`` on the active backend (see :meth:`Backend.prepare`); after a
    call returns -1, :func:`last_error` is the error to raise."""
    return _backend.prepare(cmd, attr)


def last_error(cmd: int) -> SyscallError:
    """The refusal of the prepared call of ``cmd`` that just returned -1."""
    return refusal(cmd, ctypes.get_errno())
