"""The full feature report ``pybpf probe`` prints, in ``bpftool feature probe``'s shape.

Sections and phrasing follow bpftool (``Scanning eBPF program types...``, ``eBPF map_type
hash is available``, helpers as ``\\t- bpf_map_lookup_elem`` under each program type). An
inconclusive probe prints ``is UNKNOWN`` with the reason instead of guessing.
"""

from __future__ import annotations

from collections.abc import Iterator

from pybpf._uapi import LinkType, MapType, ProgType
from pybpf.asm.helpers import HELPER_NAMES
from pybpf.features._core import Feature, kernel_name, status
from pybpf.features.btf import BTF_KINDS, btf_kind
from pybpf.features.kconfig import kernel_config
from pybpf.features.links import LINK_TYPES, link_type
from pybpf.features.maps import map_type
from pybpf.features.misc import BPF_SYSCALL, MISC
from pybpf.features.programs import helper, prog_type

__all__ = ["CONFIG_OPTIONS", "report"]

# The kernel options bpftool reports, in its order.
CONFIG_OPTIONS = [
    "CONFIG_BPF",
    "CONFIG_BPF_SYSCALL",
    "CONFIG_HAVE_EBPF_JIT",
    "CONFIG_BPF_JIT",
    "CONFIG_BPF_JIT_ALWAYS_ON",
    "CONFIG_DEBUG_INFO_BTF",
    "CONFIG_DEBUG_INFO_BTF_MODULES",
    "CONFIG_CGROUPS",
    "CONFIG_CGROUP_BPF",
    "CONFIG_CGROUP_NET_CLASSID",
    "CONFIG_SOCK_CGROUP_DATA",
    "CONFIG_BPF_EVENTS",
    "CONFIG_KPROBE_EVENTS",
    "CONFIG_UPROBE_EVENTS",
    "CONFIG_TRACING",
    "CONFIG_FTRACE_SYSCALLS",
    "CONFIG_FUNCTION_ERROR_INJECTION",
    "CONFIG_BPF_KPROBE_OVERRIDE",
    "CONFIG_NET",
    "CONFIG_XDP_SOCKETS",
    "CONFIG_LWTUNNEL_BPF",
    "CONFIG_NET_ACT_BPF",
    "CONFIG_NET_CLS_BPF",
    "CONFIG_NET_CLS_ACT",
    "CONFIG_NET_SCH_INGRESS",
    "CONFIG_XFRM",
    "CONFIG_IP_ROUTE_CLASSID",
    "CONFIG_IPV6_SEG6_BPF",
    "CONFIG_BPF_LIRC_MODE2",
    "CONFIG_BPF_STREAM_PARSER",
    "CONFIG_NETFILTER_XT_MATCH_BPF",
    "CONFIG_BPFILTER",
    "CONFIG_BPFILTER_UMH",
    "CONFIG_TEST_BPF",
    "CONFIG_HZ",
]

# Helpers bpftool leaves out unless asked for "full": probing them logs kernel warnings.
NOISY_HELPERS = frozenset({"bpf_trace_printk", "bpf_trace_vprintk", "bpf_probe_write_user"})

# Program types that load only with a real attach target: their helpers cannot be probed.
_UNPROBEABLE = frozenset({ProgType.TRACING, ProgType.EXT, ProgType.LSM, ProgType.STRUCT_OPS})

_SYSCTLS = (
    (
        "/proc/sys/kernel/unprivileged_bpf_disabled",
        {
            "0": "bpf() syscall for unprivileged users is enabled",
            "1": "bpf() syscall restricted to privileged users (without recovery)",
            "2": "bpf() syscall restricted to privileged users (admin can change)",
        },
    ),
    (
        "/proc/sys/net/core/bpf_jit_enable",
        {
            "0": "JIT compiler is disabled",
            "1": "JIT compiler is enabled",
            "2": "JIT compiler is enabled with debugging traces in kernel logs",
        },
    ),
    (
        "/proc/sys/net/core/bpf_jit_harden",
        {
            "0": "JIT compiler hardening is disabled",
            "1": "JIT compiler hardening is enabled for unprivileged users",
            "2": "JIT compiler hardening is enabled for all users",
        },
    ),
    (
        "/proc/sys/net/core/bpf_jit_kallsyms",
        {
            "0": "JIT compiler kallsyms exports are disabled",
            "1": "JIT compiler kallsyms exports are enabled for root",
        },
    ),
)


def _availability(feature: Feature) -> str:
    answer = status(feature)
    if answer is True:
        return "is available"
    if answer is False:
        return "is NOT available"
    return f"is UNKNOWN ({answer})"


def _read(path: str) -> str | None:
    try:
        with open(path) as f:
            return f.read().strip()
    except OSError:
        return None


def _system() -> Iterator[str]:
    yield "Scanning system configuration..."
    for path, phrases in _SYSCTLS:
        value = _read(path)
        if value is not None:
            yield phrases.get(value, f"{path} is {value}")
    limit = _read("/proc/sys/net/core/bpf_jit_limit")
    if limit is not None:
        yield f"Global memory limit for JIT compiler for unprivileged users is {limit} bytes"
    config = kernel_config()
    if config is None:
        yield "skipping kernel config, can't open file: /proc/config.gz or /boot/config-*"
        return
    for name in CONFIG_OPTIONS:
        value = config.get(name)
        yield f"{name} is set to {value}" if value else f"{name} is not set"


def _helpers(t: ProgType, full: bool) -> Iterator[str]:
    yield f"eBPF helpers supported for program type {kernel_name(t)}:"
    answer = status(prog_type(t))
    if answer is False:
        yield "\tProgram type not supported"
        return
    if answer is not True or t in _UNPROBEABLE:
        yield "\tCould not determine which helpers are available"
        return
    for hid, name in sorted(HELPER_NAMES.items()):
        if hid and (full or name not in NOISY_HELPERS) and status(helper(t, hid)) is True:
            yield f"\t- {name}"


def report(*, full: bool = False) -> Iterator[str]:
    """The lines of the report, probing as it goes (about a second with every helper)."""
    yield from _system()
    yield ""
    yield "Scanning system call availability..."
    yield f"bpf() syscall {_availability(BPF_SYSCALL)}"
    yield ""
    types = [t for t in ProgType if t != ProgType.UNSPEC]
    yield "Scanning eBPF program types..."
    yield from (f"eBPF program_type {kernel_name(t)} {_availability(prog_type(t))}" for t in types)
    yield ""
    yield "Scanning eBPF map types..."
    maps = [t for t in MapType if t != MapType.UNSPEC]
    yield from (f"eBPF map_type {kernel_name(t)} {_availability(map_type(t))}" for t in maps)
    yield ""
    yield "Scanning eBPF link types..."
    links = [t for t in LinkType if t in LINK_TYPES]
    yield from (f"eBPF link_type {kernel_name(t)} {_availability(link_type(t))}" for t in links)
    yield ""
    yield "Scanning BTF kinds..."
    yield from (f"BTF_KIND_{k.upper()} support {_availability(btf_kind(k))}" for k in BTF_KINDS)
    yield ""
    yield "Scanning eBPF helper functions..."
    for t in types:
        yield from _helpers(t, full)
    yield ""
    yield "Scanning miscellaneous eBPF features..."
    yield from (f"{f.name} {_availability(f)}" for f in MISC)
