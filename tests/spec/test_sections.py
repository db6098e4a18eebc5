"""libbpf's section-name table and its matching rules."""

from __future__ import annotations

import pytest

from pybpf.spec import AttachType, ProgType
from pybpf.spec.sections import SECTION_DEFS, SecFlag, find_section

CASES = [
    # section name, program type, expected attach type, flags, attach target
    ("socket", ProgType.SOCKET_FILTER, None, SecFlag.NONE, ""),
    ("xdp", ProgType.XDP, AttachType.XDP, SecFlag.ATTACHABLE | SecFlag.EXP_ATTACH_OPT, ""),
    ("xdp.frags", ProgType.XDP, AttachType.XDP, SecFlag.XDP_FRAGS, ""),
    ("xdp/devmap", ProgType.XDP, AttachType.XDP_DEVMAP, SecFlag.ATTACHABLE, ""),
    ("kprobe/do_unlinkat", ProgType.KPROBE, None, SecFlag.NONE, "do_unlinkat"),
    ("kprobe", ProgType.KPROBE, None, SecFlag.NONE, ""),
    ("kretprobe/do_unlinkat", ProgType.KPROBE, None, SecFlag.NONE, "do_unlinkat"),
    ("uprobe.s//bin/bash:readline", ProgType.KPROBE, None, SecFlag.SLEEPABLE, "/bin/bash:readline"),
    ("usdt/libc.so.6:libc:setjmp", ProgType.KPROBE, None, SecFlag.USDT, "libc.so.6:libc:setjmp"),
    (
        "tp/syscalls/sys_enter_openat",
        ProgType.TRACEPOINT,
        None,
        SecFlag.NONE,
        "syscalls/sys_enter_openat",
    ),
    (
        "tracepoint/sched/sched_switch",
        ProgType.TRACEPOINT,
        None,
        SecFlag.NONE,
        "sched/sched_switch",
    ),
    ("raw_tp/sched_switch", ProgType.RAW_TRACEPOINT, None, SecFlag.NONE, "sched_switch"),
    (
        "tp_btf/sched_switch",
        ProgType.TRACING,
        AttachType.TRACE_RAW_TP,
        SecFlag.ATTACH_BTF,
        "sched_switch",
    ),
    (
        "fentry/do_unlinkat",
        ProgType.TRACING,
        AttachType.TRACE_FENTRY,
        SecFlag.ATTACH_BTF,
        "do_unlinkat",
    ),
    (
        "fentry.s/do_unlinkat",
        ProgType.TRACING,
        AttachType.TRACE_FENTRY,
        SecFlag.ATTACH_BTF | SecFlag.SLEEPABLE,
        "do_unlinkat",
    ),
    ("fmod_ret/x", ProgType.TRACING, AttachType.MODIFY_RETURN, SecFlag.ATTACH_BTF, "x"),
    ("lsm/file_open", ProgType.LSM, AttachType.LSM_MAC, SecFlag.ATTACH_BTF, "file_open"),
    ("iter/task", ProgType.TRACING, AttachType.TRACE_ITER, SecFlag.ATTACH_BTF, "task"),
    ("tc", ProgType.SCHED_CLS, None, SecFlag.NONE, ""),
    ("classifier", ProgType.SCHED_CLS, None, SecFlag.NONE, ""),
    ("tc/ingress", ProgType.SCHED_CLS, AttachType.TCX_INGRESS, SecFlag.NONE, ""),
    ("tcx/egress", ProgType.SCHED_CLS, AttachType.TCX_EGRESS, SecFlag.NONE, ""),
    (
        "cgroup_skb/ingress",
        ProgType.CGROUP_SKB,
        AttachType.CGROUP_INET_INGRESS,
        SecFlag.ATTACHABLE | SecFlag.EXP_ATTACH_OPT,
        "",
    ),
    (
        "cgroup/connect4",
        ProgType.CGROUP_SOCK_ADDR,
        AttachType.CGROUP_INET4_CONNECT,
        SecFlag.ATTACHABLE,
        "",
    ),
    ("sk_skb", ProgType.SK_SKB, None, SecFlag.NONE, ""),
    (
        "sk_skb/stream_verdict",
        ProgType.SK_SKB,
        AttachType.SK_SKB_STREAM_VERDICT,
        SecFlag.ATTACHABLE | SecFlag.EXP_ATTACH_OPT,
        "",
    ),
    ("syscall", ProgType.SYSCALL, None, SecFlag.SLEEPABLE, ""),
    ("struct_ops/tcp_init", ProgType.STRUCT_OPS, None, SecFlag.NONE, "tcp_init"),
    ("netfilter", ProgType.NETFILTER, AttachType.NETFILTER, SecFlag.NONE, ""),
    ("perf_event", ProgType.PERF_EVENT, None, SecFlag.NONE, ""),
]


@pytest.mark.parametrize(("name", "ptype", "atype", "flags", "target"), CASES)
def test_section_lookup(
    name: str, ptype: ProgType, atype: AttachType | None, flags: SecFlag, target: str
) -> None:
    sec = find_section(name)
    assert sec is not None
    assert (sec.prog_type, sec.attach_type, sec.flags) == (ptype, atype, flags)
    assert sec.attach_target(name) == target


@pytest.mark.parametrize(
    "name",
    ["kprobex", "socket/x", "xdpfoo", "tracepointx/a", "cgroup_skb", ".text", "license", ""],
)
def test_names_libbpf_does_not_recognise(name: str) -> None:
    """Exact-match rules: `type+` needs `/` before extras; plain entries match exactly."""
    assert find_section(name) is None


def test_table_is_libbpfs_size_and_order() -> None:
    assert len(SECTION_DEFS) == 116
    patterns = [s.pattern for s in SECTION_DEFS]
    assert len(set(patterns)) == len(patterns)
    # First match wins: the longer sk_reuseport/migrate precedes sk_reuseport.
    assert patterns.index("sk_reuseport/migrate") < patterns.index("sk_reuseport")
    assert patterns.index("xdp.frags/devmap") < patterns.index("xdp.frags")
