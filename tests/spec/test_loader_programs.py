"""Programs as the spec loader reads them from the fixtures: names, sections, program types,
expected attach types, attach targets, load flags, license and kernel version.

The expected values are written from the fixture sources (tests/testdata/src) and libbpf's
SEC() table; tests/spec/test_loader_libbpf.py compares the same fields with libbpf.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

import pytest

from pybpf.spec import AttachType, CollectionSpec, ProgType
from pybpf.spec.loader import load_collection_spec
from pybpf.spec.sections import SecFlag, find_section
from pybpf.spec.specs import BPF_F_SLEEPABLE, BPF_F_XDP_HAS_FRAGS
from tests.conftest import TESTDATA

OBJ = TESTDATA / "obj"
A, P = AttachType, ProgType
S, F = BPF_F_SLEEPABLE, BPF_F_XDP_HAS_FRAGS


@cache
def load(stem: str) -> CollectionSpec:
    return load_collection_spec(OBJ / f"{stem}.o")


# fixture, program: section, type, expected attach type, attach target, flags
PROGRAMS = [
    ("sec_trace", "kprobe_unlinkat", "kprobe/do_unlinkat", P.KPROBE, None, "do_unlinkat", 0),
    ("sec_trace", "kretprobe_unlinkat", "kretprobe/do_unlinkat", P.KPROBE, None, "do_unlinkat", 0),
    ("sec_trace", "kprobe_manual", "kprobe", P.KPROBE, None, "", 0),
    ("sec_trace", "kprobe_multi", "kprobe.multi/do_unlinkat*", P.KPROBE, A.TRACE_KPROBE_MULTI,
     "do_unlinkat*", 0),
    ("sec_trace", "ksyscall_kill", "ksyscall/kill", P.KPROBE, None, "kill", 0),
    ("sec_trace", "uprobe_malloc", "uprobe/libc.so.6:malloc", P.KPROBE, None,
     "libc.so.6:malloc", 0),
    ("sec_trace", "uprobe_sleepable", "uprobe.s/libc.so.6:free", P.KPROBE, None,
     "libc.so.6:free", S),
    ("sec_trace", "usdt_setjmp", "usdt/libc.so.6:libc:setjmp", P.KPROBE, None,
     "libc.so.6:libc:setjmp", 0),
    ("sec_trace", "tracepoint_openat", "tracepoint/syscalls/sys_enter_openat", P.TRACEPOINT,
     None, "syscalls/sys_enter_openat", 0),
    ("sec_trace", "tp_exit", "tp/sched/sched_process_exit", P.TRACEPOINT, None,
     "sched/sched_process_exit", 0),
    ("sec_trace", "raw_tp_writable", "raw_tp.w/bpf_test_finish", P.RAW_TRACEPOINT_WRITABLE,
     None, "bpf_test_finish", 0),
    ("sec_trace", "perf_event_prog", "perf_event", P.PERF_EVENT, None, "", 0),
    ("sec_btf", "tp_btf_switch", "tp_btf/sched_switch", P.TRACING, A.TRACE_RAW_TP,
     "sched_switch", 0),
    ("sec_btf", "iter_task", "iter/task", P.TRACING, A.TRACE_ITER, "task", 0),
    ("sec_btf", "iter_task_sleepable", "iter.s/task", P.TRACING, A.TRACE_ITER, "task", S),
    ("sec_btf", "syscall_prog", "syscall", P.SYSCALL, None, "", S),
    ("sec_tramp", "fentry_unlinkat", "fentry/do_unlinkat", P.TRACING, A.TRACE_FENTRY,
     "do_unlinkat", 0),
    ("sec_tramp", "fexit_sleepable", "fexit.s/do_unlinkat", P.TRACING, A.TRACE_FEXIT,
     "do_unlinkat", S),
    ("sec_tramp", "fmod_ret_getsid", "fmod_ret/security_task_getsid", P.TRACING,
     A.MODIFY_RETURN, "security_task_getsid", 0),
    ("sec_tramp", "lsm_file_open", "lsm.s/file_open", P.LSM, A.LSM_MAC, "file_open", S),
    ("sec_tramp", "lsm_cgroup_bind", "lsm_cgroup/socket_bind", P.LSM, A.LSM_CGROUP,
     "socket_bind", 0),
    ("sec_tramp", "freplace_count", "freplace/count_packet", P.EXT, None, "count_packet", 0),
    ("sec_new", "netfilter_prog", "netfilter", P.NETFILTER, A.NETFILTER, "", 0),
    ("sec_new", "tcx_ingress", "tcx/ingress", P.SCHED_CLS, A.TCX_INGRESS, "", 0),
    ("sec_new", "tc_egress", "tc/egress", P.SCHED_CLS, A.TCX_EGRESS, "", 0),
    ("sec_new", "netkit_peer", "netkit/peer", P.SCHED_CLS, A.NETKIT_PEER, "", 0),
    ("sec_new", "uprobe_multi_sleepable", "uprobe.multi.s/libc.so.6:free", P.KPROBE,
     A.TRACE_UPROBE_MULTI, "libc.so.6:free", S),
    ("sec_new", "connect_unix", "cgroup/connect_unix", P.CGROUP_SOCK_ADDR,
     A.CGROUP_UNIX_CONNECT, "", 0),
    ("sec_new", "kprobe_session", "kprobe.session/do_unlinkat", P.KPROBE,
     A.TRACE_KPROBE_SESSION, "do_unlinkat", 0),
    ("sec_net", "xdp_frags_prog", "xdp.frags", P.XDP, A.XDP, "", F),
    ("sec_net", "xdp_devmap_prog", "xdp/devmap", P.XDP, A.XDP_DEVMAP, "", 0),
    ("sec_net", "tc_prog", "tc", P.SCHED_CLS, None, "", 0),
    ("sec_net", "cgroup_skb_ingress", "cgroup_skb/ingress", P.CGROUP_SKB,
     A.CGROUP_INET_INGRESS, "", 0),
    ("sec_net", "sk_lookup_prog", "sk_lookup", P.SK_LOOKUP, A.SK_LOOKUP, "", 0),
    ("struct_ops", "pybpf_ssthresh", "struct_ops/pybpf_ssthresh", P.STRUCT_OPS, None,
     "pybpf_ssthresh", 0),
]  # fmt: skip


@pytest.mark.parametrize("variant", ["el.v3", "eb.v3"])
@pytest.mark.parametrize("row", PROGRAMS, ids=[f"{row[0]}:{row[1]}" for row in PROGRAMS])
def test_program_from_its_section(variant: str, row: tuple[object, ...]) -> None:
    fixture, name, section, ptype, attach, target, flags = row
    spec = load(f"{fixture}.{variant}")
    assert name in spec.programs, sorted(spec.programs)
    prog = spec.programs[str(name)]
    assert (prog.section, prog.type, prog.attach_type) == (section, ptype, attach)
    assert (prog.attach_to, prog.flags, prog.autoload) == (target, flags, True)
    assert prog.byte_order == ("little" if variant.startswith("el") else "big")


OBJECTS = sorted(p for p in OBJ.glob("*.o") if not p.name.startswith("link_"))


@pytest.mark.parametrize("path", OBJECTS, ids=lambda p: p.name)
def test_every_program_follows_the_section_table(path: Path) -> None:
    spec = load_collection_spec(path)
    assert spec.programs, "every fixture has programs"
    for prog in spec.programs.values():
        sec_def = find_section(prog.section)
        assert sec_def is not None, f"{prog.section}: every fixture section is known"
        assert (prog.type, prog.attach_type) == (sec_def.prog_type, sec_def.attach_type)
        assert prog.attach_to == sec_def.attach_target(prog.section)
        assert bool(prog.flags & S) == bool(sec_def.flags & SecFlag.SLEEPABLE)
        assert bool(prog.flags & F) == bool(sec_def.flags & SecFlag.XDP_FRAGS)
        assert prog.btf is spec.btf and prog.btf is not None
        assert prog.insn_count > 0


def test_counts_of_programs() -> None:
    counts = {
        "sec_net.el.v3": 38,
        "sec_trace.el.v3": 18,
        "sec_btf.el.v3": 6,
        "sec_tramp.el.v3": 10,
        "sec_new.el.v3": 18,
        "isa_calls.el.v3": 5,
        "maps.el.v3": 4,
        "struct_ops.el.v3": 4,
    }
    assert {stem: len(load(stem).programs) for stem in counts} == counts


def test_programs_in_libbpf_order() -> None:
    # by section index, then offset in the section (libbpf's cmp_progs)
    assert list(load("maps.el.v3").programs) == [
        "tail_target",
        "use_maps",
        "use_perf",
        "use_sk_storage",
    ]
    assert list(load("isa_calls.el.v3").programs) == [
        "calls",
        "calls_again",
        "tail_target",
        "tail_caller",
        "kfuncs",
    ]


@pytest.mark.parametrize(
    ("stem", "license", "version"),
    [
        ("globals.el.v3", "Dual MIT/GPL", 0),
        ("globals.eb.v3", "Dual MIT/GPL", 0),
        ("sec_trace.el.v3", "GPL", 0x060100),
        ("sec_trace.eb.v3", "GPL", 0x060100),
        ("maps_legacy.eb.v3", "GPL", 0x060100),
        ("maps.el.v3", "GPL", 0),
    ],
)
def test_license_and_version(stem: str, license: str, version: int) -> None:
    for prog in load(stem).programs.values():
        assert (prog.license, prog.kernel_version) == (license, version)


def test_subprograms_are_not_programs() -> None:
    spec = load("isa_calls.el.v3")
    for name in ("mix", "nested", "global_scale", "loop_step", "sum_entry"):
        assert name not in spec.programs
    assert spec.programs["calls"].subprograms == {
        "mix": 56,
        "nested": 65,
        "global_scale": 76,
        "loop_step": 80,
        "sum_entry": 93,
    }


def test_object_name_and_byte_order() -> None:
    spec = load("globals.eb.v3")
    assert (spec.name, spec.byte_order) == ("globals", "big")
    from_bytes = load_collection_spec((OBJ / "globals.el.v3.o").read_bytes())
    assert (from_bytes.name, from_bytes.byte_order) == ("", "little")
    named = load_collection_spec((OBJ / "globals.el.v3.o").read_bytes(), name="my_prog.bpf.o")
    assert named.name == "my_prog"
    assert CollectionSpec.from_file(OBJ / "globals.el.v3.o").name == "globals"


def test_hidden_functions() -> None:
    # link_a's a_calls is a hidden variable; no fixture has a hidden function but
    # linked.o, where the linker keeps visibility
    assert load("linked.el.v3").hidden_functions == set()
    assert load("isa_calls.el.v3").hidden_functions == set()
