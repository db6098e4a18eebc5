"""libbpf's ELF section names: which program type, expected attach type and flags a
``SEC("...")`` means.

The table follows libbpf's ``section_defs`` (src/libbpf.c, libbpf 1.7) entry for entry and in
the same order, because the first match wins. Matching rules, as libbpf's
``sec_def_matches``:

- ``"type"``: the section name must be exactly ``type``;
- ``"type/"``: the name must start with ``type/`` (extras required);
- ``"type+"``: exactly ``type``, or ``type/extras`` (the ``/`` is required before extras).

What follows the first ``/`` is the attach target (``kprobe/do_unlinkat``,
``tracepoint/syscalls/sys_enter_openat``, ``fentry/tcp_connect``).
"""

from __future__ import annotations

import enum

from pybpf._records import immutable
from pybpf._uapi import AttachType, ProgType

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (PEP 781's idiom)

__all__ = ["SECTION_DEFS", "SecDef", "SecFlag", "find_section"]


class SecFlag(enum.IntFlag):
    """Properties of a section definition (libbpf's ``enum sec_def_flags``)."""

    NONE = 0
    EXP_ATTACH_OPT = 1  # the expected attach type may be dropped on kernels without it
    ATTACHABLE = 2
    ATTACH_BTF = 4  # the attach target is a BTF id (fentry, tp_btf, lsm, iter, ...)
    SLEEPABLE = 8  # loaded with BPF_F_SLEEPABLE
    XDP_FRAGS = 16  # loaded with BPF_F_XDP_HAS_FRAGS
    USDT = 32  # attach type BPF_TRACE_UPROBE_MULTI where the kernel has it


@immutable
class SecDef:
    """One section definition: the pattern and what a matching section means."""

    pattern: str
    prog_type: ProgType
    attach_type: AttachType | None
    flags: SecFlag

    def matches(self, name: str) -> bool:
        """Whether section ``name`` matches this definition (libbpf's rules)."""
        return _matches(self.pattern, name)

    def attach_target(self, name: str) -> str:
        """The part of section ``name`` after this definition's prefix and ``/``."""
        stem = self.pattern.rstrip("+")
        if stem.endswith("/"):
            return name[len(stem) :]
        rest = name[len(stem) :]
        return rest[1:] if rest.startswith("/") else ""


def _matches(pattern: str, name: str) -> bool:
    if pattern.endswith("/"):
        return name.startswith(pattern)
    if pattern.endswith("+"):
        stem = pattern[:-1]
        return name == stem or name.startswith(stem + "/")
    return name == pattern


_Row = tuple[str, ProgType, "AttachType | None", int]


def _d(pattern: str, ptype: ProgType, atype: AttachType | None, flags: int) -> _Row:
    return pattern, ptype, atype, flags


class _Flags:
    """:class:`SecFlag`'s values as plain ints: the table below combines them ~30 times,
    and an ``IntFlag`` ``|`` costs microseconds (a :class:`SecDef` gets its ``SecFlag``)."""

    NONE, EXP_ATTACH_OPT, ATTACHABLE, ATTACH_BTF = 0, 1, 2, 4
    SLEEPABLE, XDP_FRAGS, USDT = 8, 16, 32


P, A, F = ProgType, AttachType, _Flags
_OPT = F.ATTACHABLE | F.EXP_ATTACH_OPT

# The table as plain rows: a load looks up a few section names, and makes the definitions
# it finds (SECTION_DEFS, every definition, is made on first use).
# fmt: off
_ROWS: tuple[_Row, ...] = (
    _d("socket", P.SOCKET_FILTER, None, F.NONE),
    _d("sk_reuseport/migrate", P.SK_REUSEPORT, A.SK_REUSEPORT_SELECT_OR_MIGRATE, F.ATTACHABLE),
    _d("sk_reuseport", P.SK_REUSEPORT, A.SK_REUSEPORT_SELECT, F.ATTACHABLE),
    _d("kprobe+", P.KPROBE, None, F.NONE),
    _d("uprobe+", P.KPROBE, None, F.NONE),
    _d("uprobe.s+", P.KPROBE, None, F.SLEEPABLE),
    _d("kretprobe+", P.KPROBE, None, F.NONE),
    _d("uretprobe+", P.KPROBE, None, F.NONE),
    _d("uretprobe.s+", P.KPROBE, None, F.SLEEPABLE),
    _d("kprobe.multi+", P.KPROBE, A.TRACE_KPROBE_MULTI, F.NONE),
    _d("kretprobe.multi+", P.KPROBE, A.TRACE_KPROBE_MULTI, F.NONE),
    _d("kprobe.session+", P.KPROBE, A.TRACE_KPROBE_SESSION, F.NONE),
    _d("uprobe.multi+", P.KPROBE, A.TRACE_UPROBE_MULTI, F.NONE),
    _d("uretprobe.multi+", P.KPROBE, A.TRACE_UPROBE_MULTI, F.NONE),
    _d("uprobe.session+", P.KPROBE, A.TRACE_UPROBE_SESSION, F.NONE),
    _d("uprobe.multi.s+", P.KPROBE, A.TRACE_UPROBE_MULTI, F.SLEEPABLE),
    _d("uretprobe.multi.s+", P.KPROBE, A.TRACE_UPROBE_MULTI, F.SLEEPABLE),
    _d("uprobe.session.s+", P.KPROBE, A.TRACE_UPROBE_SESSION, F.SLEEPABLE),
    _d("ksyscall+", P.KPROBE, None, F.NONE),
    _d("kretsyscall+", P.KPROBE, None, F.NONE),
    _d("usdt+", P.KPROBE, None, F.USDT),
    _d("usdt.s+", P.KPROBE, None, F.USDT | F.SLEEPABLE),
    _d("tc/ingress", P.SCHED_CLS, A.TCX_INGRESS, F.NONE),
    _d("tc/egress", P.SCHED_CLS, A.TCX_EGRESS, F.NONE),
    _d("tcx/ingress", P.SCHED_CLS, A.TCX_INGRESS, F.NONE),
    _d("tcx/egress", P.SCHED_CLS, A.TCX_EGRESS, F.NONE),
    _d("tc", P.SCHED_CLS, None, F.NONE),
    _d("classifier", P.SCHED_CLS, None, F.NONE),
    _d("action", P.SCHED_ACT, None, F.NONE),
    _d("netkit/primary", P.SCHED_CLS, A.NETKIT_PRIMARY, F.NONE),
    _d("netkit/peer", P.SCHED_CLS, A.NETKIT_PEER, F.NONE),
    _d("tracepoint+", P.TRACEPOINT, None, F.NONE),
    _d("tp+", P.TRACEPOINT, None, F.NONE),
    _d("tracepoint.s+", P.TRACEPOINT, None, F.SLEEPABLE),
    _d("tp.s+", P.TRACEPOINT, None, F.SLEEPABLE),
    _d("raw_tracepoint+", P.RAW_TRACEPOINT, None, F.NONE),
    _d("raw_tp+", P.RAW_TRACEPOINT, None, F.NONE),
    _d("raw_tracepoint.s+", P.RAW_TRACEPOINT, None, F.SLEEPABLE),
    _d("raw_tp.s+", P.RAW_TRACEPOINT, None, F.SLEEPABLE),
    _d("raw_tracepoint.w+", P.RAW_TRACEPOINT_WRITABLE, None, F.NONE),
    _d("raw_tp.w+", P.RAW_TRACEPOINT_WRITABLE, None, F.NONE),
    _d("tp_btf+", P.TRACING, A.TRACE_RAW_TP, F.ATTACH_BTF),
    _d("tp_btf.s+", P.TRACING, A.TRACE_RAW_TP, F.ATTACH_BTF | F.SLEEPABLE),
    _d("fentry+", P.TRACING, A.TRACE_FENTRY, F.ATTACH_BTF),
    _d("fmod_ret+", P.TRACING, A.MODIFY_RETURN, F.ATTACH_BTF),
    _d("fexit+", P.TRACING, A.TRACE_FEXIT, F.ATTACH_BTF),
    _d("fentry.s+", P.TRACING, A.TRACE_FENTRY, F.ATTACH_BTF | F.SLEEPABLE),
    _d("fmod_ret.s+", P.TRACING, A.MODIFY_RETURN, F.ATTACH_BTF | F.SLEEPABLE),
    _d("fexit.s+", P.TRACING, A.TRACE_FEXIT, F.ATTACH_BTF | F.SLEEPABLE),
    _d("fsession+", P.TRACING, A.TRACE_FSESSION, F.ATTACH_BTF),
    _d("fsession.s+", P.TRACING, A.TRACE_FSESSION, F.ATTACH_BTF | F.SLEEPABLE),
    _d("fsession.multi+", P.TRACING, A.TRACE_FSESSION_MULTI, F.NONE),
    _d("fsession.multi.s+", P.TRACING, A.TRACE_FSESSION_MULTI, F.SLEEPABLE),
    _d("fentry.multi+", P.TRACING, A.TRACE_FENTRY_MULTI, F.NONE),
    _d("fexit.multi+", P.TRACING, A.TRACE_FEXIT_MULTI, F.NONE),
    _d("fentry.multi.s+", P.TRACING, A.TRACE_FENTRY_MULTI, F.SLEEPABLE),
    _d("fexit.multi.s+", P.TRACING, A.TRACE_FEXIT_MULTI, F.SLEEPABLE),
    _d("freplace+", P.EXT, None, F.ATTACH_BTF),
    _d("lsm+", P.LSM, A.LSM_MAC, F.ATTACH_BTF),
    _d("lsm.s+", P.LSM, A.LSM_MAC, F.ATTACH_BTF | F.SLEEPABLE),
    _d("lsm_cgroup+", P.LSM, A.LSM_CGROUP, F.ATTACH_BTF),
    _d("iter+", P.TRACING, A.TRACE_ITER, F.ATTACH_BTF),
    _d("iter.s+", P.TRACING, A.TRACE_ITER, F.ATTACH_BTF | F.SLEEPABLE),
    _d("syscall", P.SYSCALL, None, F.SLEEPABLE),
    _d("xdp.frags/devmap", P.XDP, A.XDP_DEVMAP, F.XDP_FRAGS),
    _d("xdp/devmap", P.XDP, A.XDP_DEVMAP, F.ATTACHABLE),
    _d("xdp.frags/cpumap", P.XDP, A.XDP_CPUMAP, F.XDP_FRAGS),
    _d("xdp/cpumap", P.XDP, A.XDP_CPUMAP, F.ATTACHABLE),
    _d("xdp.frags", P.XDP, A.XDP, F.XDP_FRAGS),
    _d("xdp", P.XDP, A.XDP, _OPT),
    _d("perf_event", P.PERF_EVENT, None, F.NONE),
    _d("lwt_in", P.LWT_IN, None, F.NONE),
    _d("lwt_out", P.LWT_OUT, None, F.NONE),
    _d("lwt_xmit", P.LWT_XMIT, None, F.NONE),
    _d("lwt_seg6local", P.LWT_SEG6LOCAL, None, F.NONE),
    _d("sockops", P.SOCK_OPS, A.CGROUP_SOCK_OPS, _OPT),
    _d("sk_skb/stream_parser", P.SK_SKB, A.SK_SKB_STREAM_PARSER, _OPT),
    _d("sk_skb/stream_verdict", P.SK_SKB, A.SK_SKB_STREAM_VERDICT, _OPT),
    _d("sk_skb/verdict", P.SK_SKB, A.SK_SKB_VERDICT, _OPT),
    _d("sk_skb", P.SK_SKB, None, F.NONE),
    _d("sk_msg", P.SK_MSG, A.SK_MSG_VERDICT, _OPT),
    _d("lirc_mode2", P.LIRC_MODE2, A.LIRC_MODE2, _OPT),
    _d("flow_dissector", P.FLOW_DISSECTOR, A.FLOW_DISSECTOR, _OPT),
    _d("cgroup_skb/ingress", P.CGROUP_SKB, A.CGROUP_INET_INGRESS, _OPT),
    _d("cgroup_skb/egress", P.CGROUP_SKB, A.CGROUP_INET_EGRESS, _OPT),
    _d("cgroup/skb", P.CGROUP_SKB, None, F.NONE),
    _d("cgroup/sock_create", P.CGROUP_SOCK, A.CGROUP_INET_SOCK_CREATE, F.ATTACHABLE),
    _d("cgroup/sock_release", P.CGROUP_SOCK, A.CGROUP_INET_SOCK_RELEASE, F.ATTACHABLE),
    _d("cgroup/sock", P.CGROUP_SOCK, A.CGROUP_INET_SOCK_CREATE, _OPT),
    _d("cgroup/post_bind4", P.CGROUP_SOCK, A.CGROUP_INET4_POST_BIND, F.ATTACHABLE),
    _d("cgroup/post_bind6", P.CGROUP_SOCK, A.CGROUP_INET6_POST_BIND, F.ATTACHABLE),
    _d("cgroup/bind4", P.CGROUP_SOCK_ADDR, A.CGROUP_INET4_BIND, F.ATTACHABLE),
    _d("cgroup/bind6", P.CGROUP_SOCK_ADDR, A.CGROUP_INET6_BIND, F.ATTACHABLE),
    _d("cgroup/connect4", P.CGROUP_SOCK_ADDR, A.CGROUP_INET4_CONNECT, F.ATTACHABLE),
    _d("cgroup/connect6", P.CGROUP_SOCK_ADDR, A.CGROUP_INET6_CONNECT, F.ATTACHABLE),
    _d("cgroup/connect_unix", P.CGROUP_SOCK_ADDR, A.CGROUP_UNIX_CONNECT, F.ATTACHABLE),
    _d("cgroup/sendmsg4", P.CGROUP_SOCK_ADDR, A.CGROUP_UDP4_SENDMSG, F.ATTACHABLE),
    _d("cgroup/sendmsg6", P.CGROUP_SOCK_ADDR, A.CGROUP_UDP6_SENDMSG, F.ATTACHABLE),
    _d("cgroup/sendmsg_unix", P.CGROUP_SOCK_ADDR, A.CGROUP_UNIX_SENDMSG, F.ATTACHABLE),
    _d("cgroup/recvmsg4", P.CGROUP_SOCK_ADDR, A.CGROUP_UDP4_RECVMSG, F.ATTACHABLE),
    _d("cgroup/recvmsg6", P.CGROUP_SOCK_ADDR, A.CGROUP_UDP6_RECVMSG, F.ATTACHABLE),
    _d("cgroup/recvmsg_unix", P.CGROUP_SOCK_ADDR, A.CGROUP_UNIX_RECVMSG, F.ATTACHABLE),
    _d("cgroup/getpeername4", P.CGROUP_SOCK_ADDR, A.CGROUP_INET4_GETPEERNAME, F.ATTACHABLE),
    _d("cgroup/getpeername6", P.CGROUP_SOCK_ADDR, A.CGROUP_INET6_GETPEERNAME, F.ATTACHABLE),
    _d("cgroup/getpeername_unix", P.CGROUP_SOCK_ADDR, A.CGROUP_UNIX_GETPEERNAME, F.ATTACHABLE),
    _d("cgroup/getsockname4", P.CGROUP_SOCK_ADDR, A.CGROUP_INET4_GETSOCKNAME, F.ATTACHABLE),
    _d("cgroup/getsockname6", P.CGROUP_SOCK_ADDR, A.CGROUP_INET6_GETSOCKNAME, F.ATTACHABLE),
    _d("cgroup/getsockname_unix", P.CGROUP_SOCK_ADDR, A.CGROUP_UNIX_GETSOCKNAME, F.ATTACHABLE),
    _d("cgroup/sysctl", P.CGROUP_SYSCTL, A.CGROUP_SYSCTL, F.ATTACHABLE),
    _d("cgroup/getsockopt", P.CGROUP_SOCKOPT, A.CGROUP_GETSOCKOPT, F.ATTACHABLE),
    _d("cgroup/setsockopt", P.CGROUP_SOCKOPT, A.CGROUP_SETSOCKOPT, F.ATTACHABLE),
    _d("cgroup/dev", P.CGROUP_DEVICE, A.CGROUP_DEVICE, _OPT),
    _d("struct_ops+", P.STRUCT_OPS, None, F.NONE),
    _d("struct_ops.s+", P.STRUCT_OPS, None, F.SLEEPABLE),
    _d("sk_lookup", P.SK_LOOKUP, A.SK_LOOKUP, F.ATTACHABLE),
    _d("netfilter", P.NETFILTER, A.NETFILTER, F.NONE),
)
# fmt: on

if TYPE_CHECKING:
    SECTION_DEFS: tuple[SecDef, ...]
    """Every section definition, in libbpf's order (the first match wins)."""

_MADE: dict[int, SecDef] = {}


def _made(index: int) -> SecDef:
    found = _MADE.get(index)
    if found is None:
        pattern, ptype, atype, flags = _ROWS[index]
        found = _MADE[index] = SecDef(pattern, ptype, atype, SecFlag(flags))
    return found


def __getattr__(name: str) -> object:
    """``SECTION_DEFS``, made on first use."""
    if name != "SECTION_DEFS":
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    defs = tuple(_made(i) for i in range(len(_ROWS)))
    globals()["SECTION_DEFS"] = defs
    return defs


def find_section(name: str) -> SecDef | None:
    """The definition a section name matches, or ``None`` (libbpf's ``find_sec_def``)."""
    for i, row in enumerate(_ROWS):
        if _matches(row[0], name):
            return _made(i)
    return None
