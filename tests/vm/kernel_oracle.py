"""The kernel as the VM's oracle: the same program through BPF_PROG_TEST_RUN and the VM.

Used by the differential tests (``tests/vm/test_kernel_diff.py``) and by
``scripts/vm_fuzz_kernel.py``. Everything here needs root and a working bpf(2); callers ask
:func:`kernel_reason` first and skip with its answer.

Raw programs with the bpf_conformance contract (r1 = memory, r2 = its length) become XDP
programs of the same instructions with a prologue and an epilogue (:func:`wrap_raw`)::

    r1 = map_value(mem, 0)       ; the memory lives in a one-element array map
    r2 = len(mem)
    <the program; every exit of its main function jumps to the epilogue instead>
  epilogue:
    r1 = map_value(result, 0)    ; the whole 64-bit r0 (XDP returns only the low 32 bits)
    *(u64 *)(r1 + 0) = r0
    exit

Slot numbers of the program's own instructions stay relative to each other (the epilogue is
inserted where the main function ends, and pc-relative fields crossing it are moved).
"""

from __future__ import annotations

import contextlib
import errno
import os
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from pybpf._uapi import MapType, ProgType
from pybpf.asm.instruction import Instruction
from pybpf.asm.opcodes import Kind, PseudoSrc
from pybpf.errors import BPFError, VMError
from pybpf.spec import CollectionSpec, MapSpec, PinType, ProgramSpec
from pybpf.vm import VM, Tier
from pybpf.vm.maps._kv import KeyValueMap

__all__ = [
    "Outcome",
    "RawCase",
    "kernel_reason",
    "load_kernel",
    "map_contents",
    "run_kernel",
    "run_vm",
    "wrap_raw",
]

ETH_PACKET = bytes(64)  # XDP test runs need at least an Ethernet header of data
MEM, RESULT = "mem", "result"
REFUSED = -1
"""The retval recorded for a run the test run refused (its data is the errno)."""


def kernel_reason() -> str | None:
    """Why the kernel cannot be the oracle here (not root, no bpf(2)), or ``None``."""
    if os.geteuid() != 0:
        return "needs root (BPF_PROG_LOAD and BPF_PROG_TEST_RUN)"
    try:
        from pybpf.objects import Map

        Map.create(MapSpec("probe", MapType.ARRAY, 4, 4, 1)).close()
    except (BPFError, OSError) as exc:
        return f"bpf(2) does not work here: {exc}"
    return None


def kernel_cpus() -> int:
    """How many CPUs the kernel's per-CPU values span (the VM runs with as many, on CPU 0)."""
    from pybpf.objects import possible_cpus

    return possible_cpus()


# -- wrapping raw programs ----------------------------------------------------------------------


@dataclass
class RawCase:
    """A raw program and its memory, as one XDP program with its maps."""

    spec: CollectionSpec
    mem: bytes

    @property
    def program(self) -> ProgramSpec:
        return self.spec.programs["raw"]


def _slots(insns: Sequence[Instruction]) -> list[int]:
    pcs, pc = [], 0
    for insn in insns:
        pcs.append(pc)
        pc += insn.slots
    return pcs


def _is_local_ref(insn: Instruction) -> bool:
    op = insn.op
    return op is not None and op.name in ("CALL.LOCAL", "LD.IMM64.FUNC")


def _main_end(insns: Sequence[Instruction], pcs: list[int]) -> int:
    """The slot where the main function ends: the first other function's start."""
    total = pcs[-1] + insns[-1].slots if insns else 0
    starts = [
        t
        for pc, insn in zip(pcs, insns, strict=True)
        if _is_local_ref(insn) and (t := insn.jump_target(pc)) is not None and t > 0
    ]
    return min(starts, default=total)


def _moved(insn: Instruction, pc: int, at: int, by: int) -> Instruction:
    """``insn`` at ``pc`` with its pc-relative field moved by ``by`` when the target and the
    instruction lie on either side of slot ``at`` (where ``by`` slots are inserted)."""
    target = insn.jump_target(pc)
    op = insn.op
    if target is None or op is None or op.target_field is None:
        return insn
    if pc < at <= target:
        delta = by
    elif target < at <= pc:
        delta = -by
    else:
        return insn
    name = op.target_field
    return insn.with_fields(**{name: getattr(insn, name) + delta})


def wrap_raw(insns: Sequence[Instruction], mem: bytes) -> RawCase:
    """The XDP program and maps that run ``insns`` with ``mem`` as the module docstring says."""
    pcs = _slots(insns)
    end = _main_end(insns, pcs)
    epilogue = [
        Instruction.lddw(1, 0, PseudoSrc.MAP_VALUE).with_fields(ref=RESULT),
        Instruction(0x7B, 1, 0, 0, 0),  # *(u64 *)(r1 + 0) = r0
        Instruction(0x95),
    ]
    size = sum(i.slots for i in epilogue)
    body: list[Instruction] = []
    for pc, original in zip(pcs, insns, strict=True):
        if pc == end:
            body += epilogue
        insn = _moved(original, pc, end, size)
        op = insn.op
        if op is not None and op.kind is Kind.EXIT and pc < end:
            insn = Instruction(0x05, off=(end - pc - 1))  # goto epilogue
        body.append(insn)
    if end >= (pcs[-1] + insns[-1].slots if insns else 0):
        body += epilogue
    prologue = [
        Instruction.lddw(1, 0, PseudoSrc.MAP_VALUE).with_fields(ref=MEM),
        Instruction(0xB7, 2, imm=len(mem)),
    ]
    maps = {
        MEM: MapSpec(MEM, MapType.ARRAY, 4, max(len(mem), 1), 1),
        RESULT: MapSpec(RESULT, MapType.ARRAY, 4, 8, 1),
    }
    maps[MEM].contents = [(0, mem.ljust(max(len(mem), 1), b"\0"))]
    prog = ProgramSpec("raw", ProgType.XDP, prologue + body, license="GPL")
    return RawCase(CollectionSpec(maps=maps, programs={"raw": prog}), mem)


# -- running ----------------------------------------------------------------------------------


@dataclass
class Outcome:
    """What runs of a program left: each run's (retval, data out) and the maps after them."""

    runs: list[tuple[int, bytes]] = field(default_factory=list)
    maps: dict[str, dict[bytes, Any]] = field(default_factory=dict)
    error: str = ""


def _key_bytes(key: object, size: int) -> bytes:
    if isinstance(key, int):
        return key.to_bytes(size, "little")
    return bytes(key)  # type: ignore[arg-type]


_COMPARABLE = {
    MapType.HASH,
    MapType.ARRAY,
    MapType.LRU_HASH,
    MapType.PERCPU_ARRAY,
    MapType.PERCPU_HASH,
    MapType.LRU_PERCPU_HASH,
}


def map_contents(maps: dict[str, Any]) -> dict[str, dict[bytes, Any]]:
    """The key/value maps among ``maps`` (kernel or VM) as ``{key bytes: value}``; per-CPU
    values as the list of CPUs' values."""
    out: dict[str, dict[bytes, Any]] = {}
    for name, m in sorted(maps.items()):
        if MapType(m.type) in (MapType.QUEUE, MapType.STACK):
            out[name] = {i.to_bytes(4, "little"): v for i, v in enumerate(m.drain())}
        if MapType(m.type) not in _COMPARABLE:
            continue
        items = (m.raw if isinstance(m, KeyValueMap) else m).items()  # VM maps: bytes
        out[name] = {_key_bytes(k, m.key_size): _norm(v) for k, v in items}
    return out


def _norm(value: object) -> object:
    if isinstance(value, list):
        return [bytes(v) for v in value]
    return bytes(value)  # type: ignore[arg-type]


@contextlib.contextmanager
def on_cpu0() -> Iterator[None]:
    """Run the block on CPU 0 (per-CPU maps then change in CPU 0's slot, as in the VM)."""
    before = os.sched_getaffinity(0)
    os.sched_setaffinity(0, {0})
    try:
        yield
    finally:
        os.sched_setaffinity(0, before)


def kernel_spec(spec: CollectionSpec) -> CollectionSpec:
    """A copy of ``spec`` the kernel loads without the object's BTF (maps keep sizes) and
    without pinning: every run starts from new maps, as in the VM, and leaves nothing in
    /sys/fs/bpf."""
    spec = spec.copy()
    for top in spec.maps.values():
        m: MapSpec | None = top
        while m is not None:
            m.btf, m.key_type, m.value_type = None, None, None
            m.pinning = PinType.NONE
            m = m.inner_map
    for p in spec.programs.values():
        p.btf = None
        p.func_info, p.line_info = [], []
    return spec


def load_kernel(spec: CollectionSpec, programs: Sequence[str]) -> Any:
    """``spec``'s ``programs`` and their maps loaded in the kernel (a ``Collection``)."""
    from pybpf.objects import Collection

    return Collection.load(kernel_spec(spec), programs=list(programs))


def run_kernel(
    spec: CollectionSpec, program: str, inputs: Sequence[tuple[bytes, bytes | None]]
) -> Outcome:
    """Load and run ``program`` once per input in the kernel; an unloadable program gives an
    outcome with ``error`` set."""
    out = Outcome()
    try:
        coll = load_kernel(spec, [program])
    except (BPFError, OSError) as exc:
        out.error = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        return out
    with coll, on_cpu0():
        prog = coll.programs[program]
        for data, ctx in inputs:
            try:
                res = prog.test_run(data, ctx=ctx)
            except BPFError as exc:  # the test run refused this input
                out.runs.append((REFUSED, str(getattr(exc, "errno", "")).encode()))
                continue
            out.runs.append((res.retval, res.data))
        out.maps = map_contents(dict(coll.maps))
    return out


def run_vm(
    spec: CollectionSpec,
    program: str,
    inputs: Sequence[tuple[bytes, bytes | None]],
    tier: Tier,
    *,
    ncpus: int | None = None,
    budget: int | None = None,
) -> Outcome:
    """Load and run ``program`` once per input in a fresh VM on ``tier``; r0 is cut to the
    low 32 bits as the kernel's test run reports it. An input the VM's entry refuses (as
    the kernel's test run does: a packet too short for its headers) is recorded as refused;
    any other error propagates."""
    out = Outcome()
    ncpus = ncpus or kernel_cpus()
    vm = VM(tier=tier, ncpus=ncpus) if budget is None else VM(tier=tier, ncpus=ncpus, budget=budget)
    coll = vm.load_collection(spec, programs=[program])
    prog = coll.programs[program]
    for data, ctx in inputs:
        try:
            prog.entry.setup(vm.mem, data, ctx)
        except VMError:
            out.runs.append((REFUSED, str(errno.EINVAL).encode()))
            continue
        res = prog.test_run(data, ctx)
        out.runs.append((res.retval & 0xFFFF_FFFF, res.data))
    out.maps = map_contents(dict(coll.maps))
    return out
