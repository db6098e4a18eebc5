"""Differential tests: the VM (every tier) against the kernel's BPF_PROG_TEST_RUN.

* every bpf_conformance test the kernel accepts, as an XDP program with its memory in an array
  map (see :mod:`tests.vm.kernel_oracle`): the same r0 (all 64 bits, through a result map),
  the same XDP verdict, the same memory and packet after the run;
* every clang-compiled fixture program of a type both can test-run (XDP, tc, socket filter,
  cgroup skb, lwt), with its maps, over a mix of packets: the same verdicts, the same packets
  out and the same map contents after all the runs;
* generated programs (:mod:`tests.vm.gen`), a bounded number here; ``scripts/vm_fuzz_kernel.py``
  runs many more.

Everything skips, saying why, without root or a working bpf(2).
"""

from __future__ import annotations

import os
import random
import struct
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings

from pybpf._uapi import ProgType
from pybpf.asm.conformance import parse_test
from pybpf.asm.instruction import Instruction
from pybpf.cli._demo_data import bundled, read_pcap
from pybpf.spec import CollectionSpec, load_collection_spec
from pybpf.vm import TIERS
from pybpf.vm.maps import MAP_CLASSES
from tests.conftest import CONFORMANCE, OBJ, conformance_dir
from tests.vm.conftest import HAS_LLVMLITE
from tests.vm.gen import program
from tests.vm.kernel_oracle import (
    ETH_PACKET,
    Outcome,
    kernel_reason,
    run_kernel,
    run_vm,
    wrap_raw,
)

REASON = kernel_reason()
pytestmark = [
    pytest.mark.root,
    pytest.mark.skipif(REASON is not None, reason=f"kernel differential tests: {REASON}"),
]
VM_TIERS = [t for t in TIERS if t != "jit" or HAS_LLVMLITE]

# The kernel refuses these at load: immediate shifts by the width or more, and callx.
KERNEL_REFUSES = {
    f"{op}{w}-imm-{k}" for op in ("lsh", "rsh", "arsh") for w in (32, 64) for k in ("high", "neg")
} | {"callx"}


def _same(kernel: Outcome, vm: Outcome, tier: str) -> None:
    """Same runs; every map the kernel made has the same contents in the VM (the VM may
    make a map the kernel's partial load leaves out)."""
    for i, (want, got) in enumerate(zip(kernel.runs, vm.runs, strict=True)):
        assert got == want, f"{tier}: run {i}: kernel {want!r}, VM {got!r}"
    missing = kernel.maps.keys() - vm.maps.keys()
    assert not missing, f"{tier}: the VM lacks maps {sorted(missing)}"
    for name, contents in kernel.maps.items():
        assert vm.maps[name] == contents, f"{tier}: map {name!r} differs after the runs"


# -- the conformance suite ----------------------------------------------------------------------


def _conformance() -> list[Path]:
    tests = CONFORMANCE / "tests"
    return sorted(tests.glob("*.data")) if tests.is_dir() else []


@pytest.mark.parametrize("path", _conformance(), ids=lambda p: p.stem)
def test_conformance_against_kernel(path: Path) -> None:
    conformance_dir()
    test = parse_test(path.read_text(), source=path.name)
    case = wrap_raw(test.instructions(), test.mem)
    kernel = run_kernel(case.spec, "raw", [(ETH_PACKET, None)])
    if kernel.error:
        assert path.stem in KERNEL_REFUSES, f"the kernel refused {path.stem}: {kernel.error}"
        pytest.skip(f"the kernel refuses it at load: {kernel.error}")
    r0 = int.from_bytes(kernel.maps["result"][bytes(4)], "little")
    assert r0 == test.result, f"kernel r0 {r0:#x}, the test expects {test.result:#x}"
    for tier in VM_TIERS:
        _same(kernel, run_vm(case.spec, "raw", [(ETH_PACKET, None)], tier), tier)  # type: ignore[arg-type]


# -- clang-compiled fixtures ----------------------------------------------------------------------

RUNNABLE = {
    ProgType.XDP,
    ProgType.SCHED_CLS,
    ProgType.SCHED_ACT,
    ProgType.SOCKET_FILTER,
    ProgType.CGROUP_SKB,
    ProgType.LWT_IN,
    ProgType.LWT_OUT,
    ProgType.LWT_XMIT,
}
# Programs that cannot be compared, and why.
EXCLUDED = {
    "wide_imm": "stores a map's address: a kernel pointer in the kernel, a VM handle in the VM",
    "xdp_devmap_prog": "the kernel does not test-run XDP programs for devmap entries",
    "xdp_cpumap_prog": "the kernel does not test-run XDP programs for cpumap entries",
}


# Map values that hold times (bpf_ktime_get_ns): only the bytes before them are compared.
TIMED_VALUES = {"flows": 16}  # large.bpf.c: struct flow_stats {packets, bytes, first, last}


def _untimed(out: Outcome) -> Outcome:
    for name, cut in TIMED_VALUES.items():
        if name in out.maps:
            out.maps[name] = {k: v[:cut] for k, v in out.maps[name].items()}
    return out


def _operands(a: int, b: int, c: int, d: int, n: int) -> bytes:
    """An operand record of the isa_* fixtures (u64 a, b; u32 c, d, n …), padded."""
    return struct.pack("<QQIII", a, b, c, d, n).ljust(64, b"\x5a")


def _packets() -> list[bytes]:
    rnd = random.Random(5)
    frames = [f.data for f in read_pcap(bundled("demo.pcap"))]
    frames += [bytes(rnd.randrange(256) for _ in range(n)) for n in (14, 48, 64, 200, 1500)]
    frames += [
        _operands(2**64 - 1, 3, 0x8000_0000, 7, 5),
        _operands(12345, 2**63, 1, 0xFFFF_FFFF, 0),
        _operands(7, 7, 0, 0, 40),
    ]
    return frames


# large.el.v4.o has 86 programs of one pattern: a few of them here unless PYBPF_FULL_DIFF=1
# (scripts/vm_fuzz_kernel.py --fixtures sets it); far_jump (33k instructions) takes the JIT
# about 8 s to compile cold, so it runs on the Python tiers here.
FULL = os.environ.get("PYBPF_FULL_DIFF") == "1"
SAMPLED = {"large.el.v4.o": {"far_jump", *(f"filler_{i}" for i in range(6))}}
NO_JIT = {"far_jump"}


def _fixture_cases() -> list[tuple[str, str]]:
    cases = []
    for path in sorted(OBJ.glob("*.el.v*.o")):
        try:
            spec = load_collection_spec(path)
        except Exception:  # objects that need linking first (link_a, link_b)
            continue
        sample = None if FULL else SAMPLED.get(path.name)
        for name, prog in spec.programs.items():
            if prog.type in RUNNABLE and (sample is None or name in sample):
                cases.append((path.name, name))
    return cases


def _vm_can_run(spec: CollectionSpec, program: str) -> str | None:
    refs = {i.ref for i in spec.programs[program].instructions if i.ref in spec.maps}
    for name in refs:
        if spec.maps[name].type not in MAP_CLASSES:
            return f"map {name!r} is a {spec.maps[name].type.name}, which the VM does not have"
    return None


def _inputs(program: str) -> list[tuple[bytes, bytes | None]]:
    packets = _packets()
    # long_jumps loops op->n times, bounded by may_goto only: small n here. Where may_goto
    # runs out is not comparable: Linux >= 6.14 JITs bound it by time (about 250 ms, some
    # 250M iterations here), the VM by the 8M count of the interpreter (BPF_MAX_LOOPS).
    if program == "long_jumps":
        packets = [p for p in packets if len(p) >= 32 and struct.unpack_from("<I", p, 24)[0] < 99]
    return [(p, None) for p in packets]


@pytest.mark.parametrize(("obj", "program"), _fixture_cases(), ids=lambda x: x)
def test_fixture_against_kernel(obj: str, program: str) -> None:
    if program in EXCLUDED:
        pytest.skip(EXCLUDED[program])
    spec = load_collection_spec(OBJ / obj)
    why = _vm_can_run(spec, program)
    if why:
        pytest.skip(why)
    inputs = _inputs(program)
    kernel = _untimed(run_kernel(spec, program, inputs))
    if kernel.error:
        pytest.skip(f"the kernel refuses it: {kernel.error}")
    for tier in VM_TIERS:
        if tier == "jit" and program in NO_JIT and not FULL:
            continue
        _same(kernel, _untimed(run_vm(spec, program, inputs, tier)), tier)  # type: ignore[arg-type]


# -- generated programs ------------------------------------------------------------------------


@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
@given(program(kernel=True))
def test_generated_against_kernel(insns: list[Instruction]) -> None:
    case = wrap_raw(insns, b"")
    kernel = run_kernel(case.spec, "raw", [(ETH_PACKET, None)])
    assert not kernel.error, f"the kernel refused a generated program: {kernel.error}"
    for tier in VM_TIERS:
        _same(kernel, run_vm(case.spec, "raw", [(ETH_PACKET, None)], tier), tier)  # type: ignore[arg-type]
