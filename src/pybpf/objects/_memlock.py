"""Raise RLIMIT_MEMLOCK on kernels that still charge bpf memory to it (before 5.11), once a
creation shows it is needed.

libbpf lifts the limit before its first map or program (``bump_rlimit_memlock``), after
probing for memcg-based accounting: kernels that have it ignore the limit, older ones refuse
maps, programs and BTF with EPERM once the locked memory passes it. The probe is a program
load (and its instructions), so pybpf asks it only after a creation was refused with EPERM
(:func:`memlock_raised`), and the caller tries once more when the limit was lifted: a load
on a current kernel never pays for the probe.
"""

from __future__ import annotations

import errno
import resource

from pybpf.errors import SyscallError

__all__ = ["memlock_raised"]

_state = {"done": False}


def memlock_raised(err: int) -> bool:
    """After a map, program or BTF creation refused with ``err``: whether RLIMIT_MEMLOCK was
    lifted just now (at most once per process), so the creation is worth one more try.

    Only an EPERM qualifies, where the limit is finite and the kernel has no memcg
    accounting (or cannot say: the limit is then lifted anyway, as it harms nothing; a
    process without the privilege to raise it gets False).
    """
    if err != errno.EPERM or _state["done"]:
        return False
    _state["done"] = True
    soft, _ = resource.getrlimit(resource.RLIMIT_MEMLOCK)
    if soft == resource.RLIM_INFINITY:
        return False
    from pybpf.features import MEMCG_ACCOUNT, have  # noqa: PLC0415 - a refusal only

    try:
        if have(MEMCG_ACCOUNT):
            return False
    except SyscallError:
        pass  # inconclusive (the probe hit the limit, or no privileges): try to raise it
    try:
        resource.setrlimit(resource.RLIMIT_MEMLOCK, (resource.RLIM_INFINITY,) * 2)
    except (ValueError, OSError):
        return False
    return True
