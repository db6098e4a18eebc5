"""The VM's load-time checks: a syntactic verifier, replaceable by the user.

The VM does not prove a program safe (it checks every access at run time instead); this pass
refuses what cannot run at all: unknown opcodes or forms, registers above r10, writes to r10,
reserved fields that are not zero, jumps out of range or into the second slot of an ``lddw``,
jumps out of their function, a function that can fall off its end, an empty program.

A verifier is any callable taking the instructions and raising :class:`~pybpf.errors.VMError`;
pass ``verifier=`` to :class:`~pybpf.vm.VM` to replace this one, or call :func:`verify` from
your own to extend it (rbpf's ``set_verifier``)::

    def no_loops(insns):
        verify(insns)
        for pc, insn in slots(insns):
            target = insn.jump_target(pc)
            if target is not None and target <= pc:
                raise VMError("backward jump", pc=pc, insn=insn)

    vm = VM(insns, verifier=no_loops)
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence

from pybpf.asm.instruction import Instruction
from pybpf.asm.opcodes import CallKind, Class, Kind, PseudoSrc
from pybpf.errors import DecodeError, VMError

__all__ = ["Verifier", "function_entries", "slots", "verify"]

Verifier = Callable[[Sequence[Instruction]], None]
"""A load-time check: takes the instructions, raises :class:`VMError` to refuse them."""

MAX_SLOTS = 1_000_000
"""The most instruction slots a program may have (the kernel's BPF_COMPLEXITY_LIMIT_INSNS)."""

_WRITES_DST = {Kind.ALU, Kind.NEG, Kind.MOV, Kind.MOVSX, Kind.END, Kind.LDDW, Kind.LDX}
_ENDS_FUNCTION = {Kind.EXIT, Kind.JA}


def slots(insns: Sequence[Instruction]) -> Iterator[tuple[int, Instruction]]:
    """``(slot index, instruction)`` pairs: ``lddw`` takes two slots."""
    pc = 0
    for insn in insns:
        yield pc, insn
        pc += insn.slots


def function_entries(insns: Sequence[Instruction]) -> list[int]:
    """Sorted slot indexes where functions start: 0, local call and ``lddw FUNC`` targets."""
    entries = {0}
    for pc, insn in slots(insns):
        if _is_local_call(insn) or _is_func_ref(insn):
            target = insn.jump_target(pc)
            if target is not None:
                entries.add(target)
    return sorted(entries)


def verify(insns: Sequence[Instruction]) -> None:
    """Refuse instructions the VM cannot run; see the module docstring for the checks.

    Raises:
        VMError: with the pc (slot index) and the instruction at fault.
    """
    if not insns:
        raise VMError("program is empty")
    table = list(slots(insns))
    total = table[-1][0] + table[-1][1].slots
    if total > MAX_SLOTS:
        raise VMError(f"program has {total} instructions, more than {MAX_SLOTS}")
    starts = {pc for pc, _ in table}
    for pc, insn in table:
        _check_form(pc, insn)
    entries = function_entries(insns)
    for pc, insn in table:
        _check_target(pc, insn, starts, total, entries)
    _check_ends(table, entries, total)


def _check_form(pc: int, insn: Instruction) -> None:
    try:
        insn.check()
    except DecodeError as exc:
        raise VMError(exc.reason, pc=pc) from exc
    op = insn.op
    assert op is not None  # check() passed
    if op.kind in _WRITES_DST and insn.dst == 10:
        raise VMError("r10 (the frame pointer) is read-only", pc=pc, insn=_show(insn))
    if op.kind is Kind.ATOMIC and "FETCH" in op.name and insn.src == 10:
        raise VMError("r10 (the frame pointer) is read-only", pc=pc, insn=_show(insn))
    if op.kind is Kind.CALL and insn.src == CallKind.KFUNC:
        raise VMError("kernel function calls (kfuncs) do not run in the VM", pc=pc)
    if op.kind in (Kind.GOTOX, Kind.ADDR_SPACE_CAST):
        raise VMError(f"{op.name} (arena / indirect jump) is not supported", pc=pc)
    if op.kind is Kind.LDDW and insn.src == PseudoSrc.BTF_ID:
        raise VMError("lddw of a kernel BTF id does not run in the VM", pc=pc)


def _check_target(
    pc: int, insn: Instruction, starts: set[int], total: int, entries: list[int]
) -> None:
    target = insn.jump_target(pc)
    if target is None:
        return
    if not 0 <= target < total:
        raise VMError(f"jump to {target} is out of range [0, {total})", pc=pc, insn=_show(insn))
    if target not in starts:
        raise VMError(f"jump to {target}, the second slot of lddw", pc=pc, insn=_show(insn))
    if _is_local_call(insn) or _is_func_ref(insn):
        return
    if _function_of(pc, entries) != _function_of(target, entries):
        raise VMError(f"jump to {target} leaves its function", pc=pc, insn=_show(insn))


def _check_ends(table: list[tuple[int, Instruction]], entries: list[int], total: int) -> None:
    bounds = [*entries[1:], total]
    last_of: dict[int, tuple[int, Instruction]] = {}
    for pc, insn in table:
        last_of[_function_of(pc, entries)] = (pc, insn)
    for i, entry in enumerate(entries):
        if entry not in last_of or last_of[entry][0] >= bounds[i]:
            raise VMError(f"function at {entry} is empty", pc=entry)
        pc, insn = last_of[entry]
        op = insn.op
        if op is None or op.kind not in _ENDS_FUNCTION:
            raise VMError("the last instruction is not exit or ja: falls off the end", pc=pc)


def _function_of(pc: int, entries: list[int]) -> int:
    lo, hi = 0, len(entries)
    while hi - lo > 1:
        mid = (lo + hi) // 2
        if entries[mid] <= pc:
            lo = mid
        else:
            hi = mid
    return entries[lo]


def _is_local_call(insn: Instruction) -> bool:
    return insn.opcode == (Class.JMP | 0x80) and insn.src == CallKind.LOCAL


def _is_func_ref(insn: Instruction) -> bool:
    return insn.is_wide and insn.src == PseudoSrc.FUNC


def _show(insn: Instruction) -> object:
    """The instruction as shown in an error (its text when the disassembler is there)."""
    try:
        return str(insn)
    except ImportError:
        return repr(insn)
