"""Pinning: keep bpf objects alive as files in a bpf filesystem, and open them again.

A pin is a file in a bpffs (usually mounted at ``/sys/fs/bpf``); the object lives as long as
the file does. :func:`pin` mounts the bpffs at the default root when nothing is mounted there
(as libbpf and bpftool do) and creates missing directories. See
https://docs.kernel.org/bpf/ (BPF_OBJ_PIN / BPF_OBJ_GET in include/uapi/linux/bpf.h).
"""

from __future__ import annotations

import errno
import os
import weakref

from pybpf.errors import SyscallError
from pybpf.objects._errors import SpecError
from pybpf.sys import FD, current, obj_get, obj_pin

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (PEP 781's idiom)
if TYPE_CHECKING:
    from pybpf.sys import Backend

__all__ = ["BPFFS_ROOT", "ensure_bpffs", "open_pinned", "pin", "unpin"]

BPFFS_ROOT = "/sys/fs/bpf"

_KIND_NAMES = {"map": "a map", "prog": "a program", "link": "a link", "btf": "BTF"}


_ON_BPFFS: weakref.WeakKeyDictionary[Backend, set[str]] = weakref.WeakKeyDictionary()


def ensure_bpffs(directory: str) -> None:
    """Make sure ``directory`` exists on a bpffs, mounting one at :data:`BPFFS_ROOT` if needed.

    A directory found on a bpffs is remembered for the process (each check reads the mount
    table: pinning a collection's programs one by one would read it once per program).

    Raises:
        SpecError: the directory is on another filesystem.
        SyscallError: mounting the bpffs failed.
    """
    backend = current()
    known = _ON_BPFFS.setdefault(backend, set())
    if directory in known and os.path.isdir(directory):
        return
    _check_bpffs(backend, directory)
    known.add(directory)


def _check_bpffs(backend: Backend, directory: str) -> None:
    root = os.path.realpath(BPFFS_ROOT)
    target = os.path.realpath(directory)
    inside_root = target == root or target.startswith(root + "/")
    if inside_root and os.path.isdir(root) and not backend.bpffs_at(root):
        backend.mount_bpffs(root)
    os.makedirs(target, exist_ok=True)
    if not backend.bpffs_at(target):
        raise SpecError(f"{directory} is not on a bpf filesystem (mount -t bpf bpf {directory})")


def pin(fd: FD, path: str) -> None:
    """Pin the object of ``fd`` at ``path`` (creating directories, mounting the bpffs).

    Raises:
        SyscallError: the kernel refused (EEXIST: something is already pinned there).
    """
    ensure_bpffs(os.path.dirname(os.path.abspath(path)) or "/")
    try:
        obj_pin(fd.fileno(), path)
    except SyscallError as exc:
        hint = f"{path} already exists" if exc.errno == errno.EEXIST else f"pinning at {path}"
        raise SyscallError(exc.command, exc.errno or 0, hint) from None


def unpin(path: str) -> None:
    """Remove the pin at ``path`` (the object lives on while anything else holds it).

    Raises:
        SyscallError: nothing is pinned there (ENOENT), or the file could not be removed.
    """
    try:
        os.unlink(path)
    except OSError as exc:
        raise SyscallError("unlink", exc.errno or errno.EIO, f"unpinning {path}") from None


def open_pinned(path: str, kind: str) -> FD:
    """A new fd for the object pinned at ``path``, which must be of ``kind`` (``"map"``,
    ``"prog"``, ``"link"``, ``"btf"``).

    Raises:
        SyscallError: nothing is pinned at ``path`` (ENOENT, with a hint).
        SpecError: what is pinned there is not of ``kind``.
    """
    try:
        fd = obj_get(path)
    except SyscallError as exc:
        hint = f"nothing is pinned at {path}" if exc.errno == errno.ENOENT else f"opening {path}"
        raise SyscallError(exc.command, exc.errno or 0, hint) from None
    found = current().object_kind(fd.fileno())
    if found != kind:
        fd.close()
        what = _KIND_NAMES.get(found or "", "not a bpf object")
        raise SpecError(f"{path} holds {what}, not {_KIND_NAMES[kind]}")
    return fd
