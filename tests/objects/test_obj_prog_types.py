"""Every program type: a minimal valid program loads with the attach type the type needs.

Types this kernel refuses are skipped with the reason (absent types as NotSupportedError,
types the kernel forbids even to root as EPERM).
"""

from __future__ import annotations

import errno

import pytest

from pybpf import features
from pybpf.errors import NotSupportedError, SyscallError
from pybpf.objects import Program
from pybpf.spec import AttachType, ProgramSpec, ProgType
from pybpf.spec.specs import BPF_F_SLEEPABLE
from tests.objects.progs import RET0

PLAIN = {
    ProgType.SOCKET_FILTER,
    ProgType.KPROBE,
    ProgType.SCHED_CLS,
    ProgType.SCHED_ACT,
    ProgType.TRACEPOINT,
    ProgType.XDP,
    ProgType.PERF_EVENT,
    ProgType.CGROUP_SKB,
    ProgType.LWT_IN,
    ProgType.LWT_OUT,
    ProgType.LWT_XMIT,
    ProgType.SOCK_OPS,
    ProgType.SK_SKB,
    ProgType.CGROUP_DEVICE,
    ProgType.SK_MSG,
    ProgType.RAW_TRACEPOINT,
    ProgType.LWT_SEG6LOCAL,
    ProgType.SK_REUSEPORT,
    ProgType.FLOW_DISSECTOR,
    ProgType.CGROUP_SYSCTL,
    ProgType.RAW_TRACEPOINT_WRITABLE,
}
ATTACH = {
    ProgType.CGROUP_SOCK: AttachType.CGROUP_INET_SOCK_CREATE,
    ProgType.CGROUP_SOCK_ADDR: AttachType.CGROUP_INET4_CONNECT,
    ProgType.CGROUP_SOCKOPT: AttachType.CGROUP_GETSOCKOPT,
    ProgType.SK_LOOKUP: AttachType.SK_LOOKUP,
    ProgType.NETFILTER: AttachType.NETFILTER,
    ProgType.LIRC_MODE2: AttachType.LIRC_MODE2,
}
# Types that load only against a kernel BTF target: (attach type, BTF name, BTF kind name).
BTF_TARGET = {
    "tp_btf": (ProgType.TRACING, AttachType.TRACE_RAW_TP, "btf_trace_sched_switch", "TYPEDEF"),
    "iter": (ProgType.TRACING, AttachType.TRACE_ITER, "bpf_iter_task", "FUNC"),
    "fentry": (ProgType.TRACING, AttachType.TRACE_FENTRY, "do_nanosleep", "FUNC"),
    "fexit": (ProgType.TRACING, AttachType.TRACE_FEXIT, "do_nanosleep", "FUNC"),
    "fmod_ret": (ProgType.TRACING, AttachType.MODIFY_RETURN, "do_nanosleep", "FUNC"),
    "lsm": (ProgType.LSM, AttachType.LSM_MAC, "bpf_lsm_file_open", "FUNC"),
}
NEEDS_LOADER = {
    ProgType.EXT: "freplace needs a target program with BTF func info (loaded by the ELF loader)",
    ProgType.STRUCT_OPS: "struct_ops programs load against a struct_ops map's BTF (ELF loader)",
}


def _load(spec: ProgramSpec, **kw: int) -> Program:
    try:
        return Program.load(spec, **kw)
    except NotSupportedError as exc:
        pytest.skip(f"this kernel lacks it: {exc}")
    except SyscallError as exc:
        if exc.errno == errno.EPERM:
            pytest.skip(f"this kernel forbids it even to root: {exc}")
        raise


def test_every_program_type_has_a_case() -> None:
    covered = PLAIN | set(ATTACH) | set(NEEDS_LOADER) | {ProgType.TRACING, ProgType.LSM}
    assert covered | {ProgType.SYSCALL} == {t for t in ProgType if t != ProgType.UNSPEC}


@pytest.mark.parametrize("t", sorted(PLAIN | set(ATTACH)), ids=features.kernel_name)
def test_minimal_program_loads(kernel: None, t: ProgType) -> None:
    spec = ProgramSpec(f"t_{features.kernel_name(t)}"[:15], t, list(RET0), license="GPL")
    spec.attach_type = ATTACH.get(t)
    with _load(spec) as prog:
        info = prog.info()
        assert info.type == t and info.name == spec.name and info.xlated_size > 0


def test_sleepable_syscall_program_runs(kernel: None) -> None:
    spec = ProgramSpec("syscall", ProgType.SYSCALL, list(RET0), license="GPL")
    spec.flags = BPF_F_SLEEPABLE
    with _load(spec) as prog:
        assert prog.test_run(ctx=bytes(8)).retval == 0


@pytest.mark.parametrize("section", list(BTF_TARGET))
def test_btf_targeted_program_loads(kernel: None, section: str) -> None:
    btf_mod = pytest.importorskip("pybpf.btf", reason="pybpf.btf finds the kernel's BTF ids")
    t, attach, target, kind = BTF_TARGET[section]
    vmlinux = btf_mod.BTF.from_path("/sys/kernel/btf/vmlinux")
    type_id = vmlinux.find_by_name_kind(target, getattr(btf_mod.Kind, kind))
    if type_id is None:
        pytest.skip(f"{target} is not in this kernel's BTF")
    spec = ProgramSpec(section, t, list(RET0), license="GPL", attach_type=attach)
    with _load(spec, attach_btf_id=type_id) as prog:
        assert prog.info().attach_btf_id == type_id


@pytest.mark.parametrize("t", list(NEEDS_LOADER), ids=features.kernel_name)
def test_types_that_need_the_elf_loader(kernel: None, t: ProgType) -> None:
    pytest.skip(NEEDS_LOADER[t])
