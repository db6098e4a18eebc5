"""Raise RLIMIT_MEMLOCK once, on kernels that still charge bpf memory to it (before 5.11).

libbpf does the same (``bump_rlimit_memlock``): kernels with memcg-based accounting ignore the
limit, older ones refuse maps and programs with EPERM once the locked memory passes it.
"""

from __future__ import annotations

import contextlib
import resource

from pybpf.errors import SyscallError
from pybpf.features import MEMCG_ACCOUNT, have

__all__ = ["ensure_memlock"]

_state = {"done": False}


def ensure_memlock() -> None:
    """Lift RLIMIT_MEMLOCK to infinity if this kernel needs it; a no-op after the first call
    and on kernels with memcg accounting. Failure to raise it is left for the EPERM hint."""
    if _state["done"]:
        return
    try:
        needed = not have(MEMCG_ACCOUNT)
    except SyscallError:
        return  # inconclusive (no privileges yet): ask again next time
    _state["done"] = True
    if needed:
        unlimited = (resource.RLIM_INFINITY, resource.RLIM_INFINITY)
        with contextlib.suppress(ValueError, OSError):
            resource.setrlimit(resource.RLIMIT_MEMLOCK, unlimited)
