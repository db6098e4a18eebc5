"""Errors of the objects layer and the hints added to kernel refusals.

:class:`CodecError` and :class:`SpecError` are defined in :mod:`pybpf.errors` (the VM's
user-space maps raise the same :class:`CodecError`) and re-exported here.
"""

from __future__ import annotations

import errno
import resource

from pybpf.errors import CodecError, SpecError, SyscallError
from pybpf.features import MEMCG_ACCOUNT, have, privilege_hint

__all__ = ["CodecError", "SpecError", "with_hint"]


def _memlock_hint() -> str:
    soft, _ = resource.getrlimit(resource.RLIMIT_MEMLOCK)
    if soft == resource.RLIM_INFINITY:
        return ""
    try:
        if have(MEMCG_ACCOUNT):
            return ""
    except SyscallError:
        pass
    return f"RLIMIT_MEMLOCK is {soft} bytes; raise it (ulimit -l) or run on Linux >= 5.11"


def with_hint(exc: SyscallError, hint: str = "") -> SyscallError:
    """``exc`` with a hint saying what to do: the given one, or for EPERM the missing
    privileges or a too small RLIMIT_MEMLOCK."""
    if not hint and exc.errno == errno.EPERM:
        hint = _memlock_hint() or privilege_hint()
    if not hint or exc.hint:
        return exc
    new = SyscallError(exc.command, exc.errno or 0, hint)
    new.__cause__ = exc.__cause__
    return new
