"""Program type and helper probes.

A program type is present when ``r0 = 0; exit`` loads as that type with the attach type and
flags the type insists on (libbpf's ``libbpf_probe_bpf_prog_type`` does the same). A helper is
present for a program type unless the verifier says it does not know it there: ``call
helper; exit`` is refused with "invalid func", "unknown func" or "program of this type cannot
use helper"; any other complaint (wrong arguments) means the helper is known.
"""

from __future__ import annotations

import errno
import functools

from pybpf._uapi import AttachType, ProgType
from pybpf.errors import SyscallError
from pybpf.features import _insns
from pybpf.features._core import (
    ENOTSUPP,
    Feature,
    LoadResult,
    conclude,
    have,
    kernel_name,
    kernel_version_code,
    load_program,
)
from pybpf.sys import command_name

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (PEP 781's idiom)
if TYPE_CHECKING:
    from typing import TypedDict

__all__ = ["PROG_TYPE_MIN_KERNEL", "helper", "kernel_version_code", "prog_type"]

BPF_F_SLEEPABLE = 1 << 4
_PROG_LOAD = command_name(5)

PROG_TYPE_MIN_KERNEL: dict[ProgType, str | None] = {
    ProgType.SOCKET_FILTER: "3.19",
    ProgType.KPROBE: "4.1",
    ProgType.SCHED_CLS: "4.1",
    ProgType.SCHED_ACT: "4.1",
    ProgType.TRACEPOINT: "4.7",
    ProgType.XDP: "4.8",
    ProgType.PERF_EVENT: "4.9",
    ProgType.CGROUP_SKB: "4.10",
    ProgType.CGROUP_SOCK: "4.10",
    ProgType.LWT_IN: "4.10",
    ProgType.LWT_OUT: "4.10",
    ProgType.LWT_XMIT: "4.10",
    ProgType.SOCK_OPS: "4.13",
    ProgType.SK_SKB: "4.14",
    ProgType.CGROUP_DEVICE: "4.15",
    ProgType.SK_MSG: "4.17",
    ProgType.RAW_TRACEPOINT: "4.17",
    ProgType.CGROUP_SOCK_ADDR: "4.17",
    ProgType.LWT_SEG6LOCAL: "4.18",
    ProgType.LIRC_MODE2: "4.18",
    ProgType.SK_REUSEPORT: "4.19",
    ProgType.FLOW_DISSECTOR: "4.20",
    ProgType.CGROUP_SYSCTL: "5.2",
    ProgType.RAW_TRACEPOINT_WRITABLE: "5.2",
    ProgType.CGROUP_SOCKOPT: "5.3",
    ProgType.TRACING: "5.5",
    ProgType.STRUCT_OPS: "5.6",
    ProgType.EXT: "5.6",
    ProgType.LSM: "5.7",
    ProgType.SK_LOOKUP: "5.9",
    ProgType.SYSCALL: "5.14",
    ProgType.NETFILTER: "6.4",
}

# The expected attach type a program type must be loaded with (others take 0).
EXPECTED_ATTACH: dict[ProgType, AttachType] = {
    ProgType.CGROUP_SOCK_ADDR: AttachType.CGROUP_INET4_CONNECT,
    ProgType.CGROUP_SOCKOPT: AttachType.CGROUP_GETSOCKOPT,
    ProgType.SK_LOOKUP: AttachType.SK_LOOKUP,
    ProgType.LIRC_MODE2: AttachType.LIRC_MODE2,
    ProgType.NETFILTER: AttachType.NETFILTER,
    ProgType.TRACING: AttachType.TRACE_FENTRY,
    ProgType.LSM: AttachType.LSM_MAC,
}

# Types that cannot load without a BTF attach target; the probe gives them a bogus one
# (type id 1) and recognises the refusal that shows the kernel knows the type.
_BTF_TARGET_REFUSAL = {
    ProgType.TRACING: "attach_btf_id 1 is not a function",
    ProgType.LSM: "attach_btf_id 1 is not a function",
    ProgType.EXT: "Cannot replace kernel functions",
}

_UNKNOWN_HELPER = ("invalid func ", "unknown func ", "program of this type cannot use helper ")


if TYPE_CHECKING:

    class LoadParams(TypedDict, total=False):
        """Load attributes of a probe program (keywords of :func:`load_program`)."""

        expected_attach_type: int
        flags: int
        kern_version: int
        attach_btf_id: int

else:
    LoadParams = dict


def load_params(t: ProgType) -> LoadParams:
    """The load attributes a minimal program of type ``t`` needs."""
    params: LoadParams = {"expected_attach_type": int(EXPECTED_ATTACH.get(t, 0))}
    if t == ProgType.KPROBE:
        params["kern_version"] = kernel_version_code()
    elif t == ProgType.SYSCALL:
        params["flags"] = BPF_F_SLEEPABLE
    elif t in _BTF_TARGET_REFUSAL:
        params["attach_btf_id"] = 1
    return params


def _probe_type(t: ProgType) -> bool:
    refusal = _BTF_TARGET_REFUSAL.get(t)
    r = load_program(t, _insns.RET0, log_size=4096 if refusal else 0, **load_params(t))
    if refusal is not None:
        if r.errno == errno.EINVAL and refusal in r.log:
            return True
        return conclude(r.errno or errno.EINVAL, _PROG_LOAD, present=())
    if t == ProgType.STRUCT_OPS:
        # Without a struct_ops target the kernel answers ENOTSUPP when it knows the type.
        return conclude(r.errno, _PROG_LOAD, present=(ENOTSUPP,))
    return conclude(r.errno, _PROG_LOAD)


@functools.cache
def prog_type(t: ProgType) -> Feature:
    """The feature "the kernel can load programs of type ``t``"."""
    t = ProgType(t)
    probe = functools.partial(_probe_type, t)
    return Feature(
        f"program_type {kernel_name(t)}", PROG_TYPE_MIN_KERNEL.get(t), probe, "prog_type"
    )


def _probe_helper(t: ProgType, helper_id: int) -> bool:
    if not have(prog_type(t)):
        return False
    if t in _BTF_TARGET_REFUSAL or t == ProgType.STRUCT_OPS:
        raise SyscallError(_PROG_LOAD, errno.EOPNOTSUPP, "helpers of this type cannot be probed")
    r = load_program(t, (_insns.call(helper_id), _insns.EXIT), log_size=8192, **load_params(t))
    return _helper_outcome(r)


def _helper_outcome(r: LoadResult) -> bool:
    if r.errno in (0, errno.ENOSPC):
        return True
    if r.errno in (errno.EINVAL, errno.EACCES):
        return not any(s in r.log for s in _UNKNOWN_HELPER)
    raise SyscallError(_PROG_LOAD, r.errno)


@functools.cache
def helper(t: ProgType, helper_id: int) -> Feature:
    """The feature "programs of type ``t`` may call helper ``helper_id``"."""
    t = ProgType(t)
    from pybpf.asm.helpers import HELPER_NAMES  # noqa: PLC0415 - a large table, loaded lazily

    name = HELPER_NAMES.get(helper_id, f"helper#{helper_id}")
    probe = functools.partial(_probe_helper, t, helper_id)
    return Feature(f"{name} for {kernel_name(t)}", None, probe, "helper")
