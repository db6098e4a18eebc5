"""A program prepared for the tiers: instructions by slot, functions, resolved constants."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from pybpf.asm.instruction import Instruction
from pybpf.asm.opcodes import CallKind, Kind, Op
from pybpf.vm.verifier import function_entries, slots

__all__ = ["Code", "HelperFn", "block_starts"]

HelperFn = Callable[..., int]
"""A helper: ``fn(env, r1, r2, r3, r4, r5) -> r0`` (see :mod:`pybpf.vm.helpers`)."""


@dataclass
class Code:
    """Verified instructions, indexed by slot, with everything resolved that needs the VM.

    ``imm64`` gives the value each ``lddw`` loads (a plain constant, a map handle, a map
    value address or a function address); ``helpers`` the function each helper call runs.
    """

    insns: Sequence[Instruction]
    imm64: dict[int, int] = field(default_factory=dict)
    helpers: dict[int, HelperFn] = field(default_factory=dict)
    helper_ids: dict[int, int] = field(default_factory=dict)
    direct_maps: dict[int, tuple[int, int, int]] = field(default_factory=dict)
    """Map handle -> (value 0 address, stride, entries) of arrays whose lookups are inlined."""
    endian: str = "<"

    def __post_init__(self) -> None:
        self.nslots = sum(insn.slots for insn in self.insns)
        self.slots: list[Instruction | None] = [None] * self.nslots
        self.ops: list[Op | None] = [None] * self.nslots
        for pc, insn in slots(self.insns):
            self.slots[pc] = insn
            self.ops[pc] = insn.op
        self.entries = function_entries(self.insns)

    def at(self, pc: int) -> tuple[Instruction, Op]:
        """The instruction and its table row at slot ``pc`` (which must start one)."""
        insn, op = self.slots[pc], self.ops[pc]
        assert insn is not None and op is not None
        return insn, op

    def function_end(self, entry: int) -> int:
        """One past the last slot of the function starting at ``entry``."""
        later = [e for e in self.entries if e > entry]
        return later[0] if later else self.nslots

    def show(self, pc: int) -> str:
        """The instruction at ``pc`` as text, for error messages."""
        insn = self.slots[pc] if 0 <= pc < self.nslots else None
        if insn is None:
            return "?"
        try:
            return str(insn)
        except ImportError:
            return repr(insn)


def block_starts(code: Code, entry: int) -> list[int]:
    """Sorted slots where basic blocks of the function at ``entry`` start.

    A block starts at the entry, at every jump target and after every jump, exit, call
    (local, helper or ``callx``: they can unwind) and ``may_goto``.
    """
    end = code.function_end(entry)
    starts = {entry}
    pc = entry
    while pc < end:
        insn, op = code.at(pc)
        nxt = pc + insn.slots
        if op.kind in (Kind.JA, Kind.JUMP, Kind.JCOND):
            target = insn.jump_target(pc)
            assert target is not None
            starts.add(target)
            starts.add(nxt)
        elif op.kind in (Kind.EXIT, Kind.CALL, Kind.CALLX, Kind.LDABS, Kind.LDIND):
            starts.add(nxt)
        pc = nxt
    return sorted(s for s in starts if s < end)


def is_local_call(insn: Instruction, op: Op) -> bool:
    """True for ``call`` of a function of the program."""
    return op.kind is Kind.CALL and insn.src == CallKind.LOCAL
