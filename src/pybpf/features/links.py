"""Link type probes: does BPF_LINK_CREATE know this kind of attachment?

Each probe loads a minimal program of the right type and asks for a link with a target that
cannot exist (fd -1, ifindex 0, the path "/" …). A kernel that knows the link type gets as
far as looking the target up and fails there (EBADF, ENODEV …); one that does not refuses the
attach type itself with EINVAL. Nothing is ever attached. Link types that cannot be probed
without attaching for real (XDP, raw tracepoints, tracing, iterators) are not listed.
"""

from __future__ import annotations

import ctypes
import errno
import functools
from collections.abc import Callable

from pybpf._records import immutable
from pybpf._uapi import AttachType, LinkType, ProgType
from pybpf.errors import SyscallError
from pybpf.features import _insns
from pybpf.features._core import Feature, conclude, kernel_name
from pybpf.features.programs import load_params
from pybpf.sys import FD, LinkCreateAttr, ProgLoadAttr, command_name, link_create, prog_load

__all__ = ["LINK_TYPES", "link_type"]

_NO_FD = 0xFFFFFFFF  # -1 as the kernel reads a __u32 fd
_NFPROTO_INVALID = 255
_MAX_KPROBE_MULTI_CNT = 1 << 20


@immutable(slots=False)
class _LinkProbe:
    prog_type: ProgType
    attach_type: AttachType
    min_kernel: str
    present: tuple[int, ...]
    setup: Callable[[LinkCreateAttr, list[object]], None] | None = None


def _bad_target(attr: LinkCreateAttr, keep: list[object]) -> None:
    attr.target_fd = _NO_FD


def _kprobe_multi(attr: LinkCreateAttr, keep: list[object]) -> None:
    syms = ctypes.create_string_buffer(8)
    keep.append(syms)
    attr.extra.kprobe_multi.syms = ctypes.addressof(syms)
    attr.extra.kprobe_multi.cnt = _MAX_KPROBE_MULTI_CNT + 1


def _uprobe_multi(attr: LinkCreateAttr, keep: list[object]) -> None:
    path, offsets = ctypes.create_string_buffer(b"/"), (ctypes.c_uint64 * 1)(0)
    keep += [path, offsets]
    attr.target_fd = _NO_FD
    attr.extra.uprobe_multi.path = ctypes.addressof(path)
    attr.extra.uprobe_multi.offsets = ctypes.addressof(offsets)
    attr.extra.uprobe_multi.cnt = 1


def _netfilter(attr: LinkCreateAttr, keep: list[object]) -> None:
    attr.extra.netfilter.pf = _NFPROTO_INVALID


LINK_TYPES: dict[LinkType, _LinkProbe] = {
    LinkType.CGROUP: _LinkProbe(
        ProgType.CGROUP_SKB, AttachType.CGROUP_INET_INGRESS, "5.7", (errno.EBADF,), _bad_target
    ),
    LinkType.NETNS: _LinkProbe(
        ProgType.FLOW_DISSECTOR, AttachType.FLOW_DISSECTOR, "5.8", (errno.EBADF,), _bad_target
    ),
    LinkType.PERF_EVENT: _LinkProbe(
        ProgType.TRACEPOINT, AttachType.PERF_EVENT, "5.15", (errno.EBADF,), _bad_target
    ),
    LinkType.KPROBE_MULTI: _LinkProbe(
        ProgType.KPROBE, AttachType.TRACE_KPROBE_MULTI, "5.18", (errno.E2BIG,), _kprobe_multi
    ),
    LinkType.NETFILTER: _LinkProbe(
        ProgType.NETFILTER, AttachType.NETFILTER, "6.4", (errno.EAFNOSUPPORT,), _netfilter
    ),
    LinkType.TCX: _LinkProbe(ProgType.SCHED_CLS, AttachType.TCX_INGRESS, "6.6", (errno.ENODEV,)),
    LinkType.UPROBE_MULTI: _LinkProbe(
        ProgType.KPROBE, AttachType.TRACE_UPROBE_MULTI, "6.6", (errno.EBADF,), _uprobe_multi
    ),
    LinkType.NETKIT: _LinkProbe(
        ProgType.SCHED_CLS, AttachType.NETKIT_PRIMARY, "6.7", (errno.ENODEV,)
    ),
    LinkType.SOCKMAP: _LinkProbe(
        ProgType.SK_SKB, AttachType.SK_SKB_STREAM_VERDICT, "6.10", (errno.EBADF,), _bad_target
    ),
}


def _load(p: _LinkProbe) -> FD:
    from pybpf.asm.instruction import encode  # noqa: PLC0415 - only probes encode here

    code = ctypes.create_string_buffer(encode(_insns.RET0))
    lic = ctypes.create_string_buffer(b"GPL")
    params = load_params(p.prog_type)
    attr = ProgLoadAttr(
        prog_type=p.prog_type,
        insn_cnt=len(_insns.RET0),
        insns=ctypes.addressof(code),
        license=ctypes.addressof(lic),
        expected_attach_type=p.attach_type,
        kern_version=params.get("kern_version", 0),
    )
    return prog_load(attr)


def _probe(t: LinkType) -> bool:
    p = LINK_TYPES[t]
    try:
        prog = _load(p)
    except SyscallError as exc:
        return conclude(exc.errno or 0, exc.command, present=())
    keep: list[object] = []
    with prog:
        attr = LinkCreateAttr(prog_fd=prog.fileno(), attach_type=p.attach_type)
        if p.setup is not None:
            p.setup(attr, keep)
        try:
            link_create(attr).close()
        except SyscallError as exc:
            return conclude(exc.errno or 0, command_name(28), present=p.present)
    return True


@functools.cache
def link_type(t: LinkType) -> Feature:
    """The feature "BPF_LINK_CREATE makes links of type ``t``" (see :data:`LINK_TYPES`).

    Raises:
        KeyError: the link type cannot be probed without attaching for real.
    """
    t = LinkType(t)
    p = LINK_TYPES[t]
    return Feature(
        f"link_type {kernel_name(t)}", p.min_kernel, functools.partial(_probe, t), "link_type"
    )
