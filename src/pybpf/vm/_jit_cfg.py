"""Control flow of one eBPF function for the JIT: basic blocks, dominators, live registers
and where SSA phis go. Pure: no llvmlite.

The JIT writes LLVM IR in SSA form itself (no allocas for LLVM to promote), so it needs
what a compiler's SSA construction needs: basic blocks (a block ends at every jump and exit;
``jxx +0`` is no jump), the dominator tree (Cooper, Harvey and Kennedy's iteration over
reverse postorder), dominance frontiers, and the registers live into each block. A value
gets a phi at a block with several predecessors when the block is in the iterated dominance
frontier of the blocks that define it (Cytron et al.) and the value is live there; elsewhere
a block starts with the value its immediate dominator ends with. Block ``-1`` is the
function's prologue, the root that defines everything.
"""

from __future__ import annotations

import itertools
from functools import cached_property

from pybpf.asm.instruction import Instruction
from pybpf.asm.opcodes import AtomicOp, CallKind, Kind, Op, Source
from pybpf.vm._code import Code

__all__ = ["ROOT", "WINDOW", "FunctionCFG", "is_noop_jump", "uses_defs"]

ROOT = -1
"""The prologue block: it defines every register and dominates every block."""
WINDOW = 11
"""Pseudo-register: the packet window (reloaded after each call, which may move it)."""
_ALL_ARGS = 0b111110  # r1-r5


def is_noop_jump(insn: Instruction, op: Op) -> bool:
    """A conditional jump to the next instruction: both ways go on at the same place."""
    return op.kind is Kind.JUMP and insn.off == 0


def uses_defs(insn: Instruction, op: Op) -> tuple[int, int]:
    """The registers (bit ``r``) an instruction reads and writes (r10 aside: it never
    changes)."""
    kind, d, s = op.kind, 1 << insn.dst, 1 << insn.src
    reg = bool(op.code & Source.X)
    if kind in (Kind.ALU, Kind.NEG, Kind.END):
        return d | (s if reg and kind is Kind.ALU else 0), d
    if kind in (Kind.MOV, Kind.MOVSX):
        return (s if reg or kind is Kind.MOVSX else 0), d
    if kind in (Kind.LDDW, Kind.LDX):
        return (s if kind is Kind.LDX else 0), d
    if kind in (Kind.ST, Kind.STX):
        return d | (s if kind is Kind.STX else 0), 0
    if kind is Kind.ATOMIC:
        return _atomic_uses_defs(insn, d, s)
    if kind is Kind.JUMP:
        return d | (s if reg else 0), 0
    if kind is Kind.EXIT:
        return 1, 0
    if kind is Kind.CALL:
        return _ALL_ARGS, 1
    if kind is Kind.CALLX:
        return _ALL_ARGS | d, 1
    if kind in (Kind.LDABS, Kind.LDIND):
        return (s if kind is Kind.LDIND else 0), 1
    return 0, 0  # ja, may_goto


def _atomic_uses_defs(insn: Instruction, d: int, s: int) -> tuple[int, int]:
    aop = insn.imm
    if aop == AtomicOp.LOAD_ACQ:
        return s, d
    if aop == AtomicOp.CMPXCHG:
        return d | s | 1, 1
    if aop & 0x01:  # fetch forms and xchg write the old value to src
        return d | s, s
    return d | s, 0


class FunctionCFG:
    """The basic blocks of the function at slot ``entry`` and what SSA construction needs.

    Blocks are named by their first slot; ``succs``/``preds`` list only blocks reachable
    from the entry (the entry block's predecessors include :data:`ROOT`).
    """

    def __init__(self, code: Code, entry: int) -> None:
        self.code = code
        self.entry = entry
        self.end = code.function_end(entry)
        self.starts = self._starts()
        self.last: dict[int, int] = {}  # block -> slot of its last instruction
        self.succs: dict[int, list[int]] = {ROOT: [entry]}
        self._edges()
        self.order = self._reverse_postorder()
        self.preds: dict[int, list[int]] = {b: [] for b in self.order}
        for b in [ROOT, *self.order]:
            for t in self.succs.get(b, []):
                self.preds[t].append(b)

    # -- blocks -------------------------------------------------------------------------------
    def _starts(self) -> list[int]:
        code, found, pc = self.code, {self.entry}, self.entry
        while pc < self.end:
            insn, op = code.at(pc)
            nxt = pc + insn.slots
            if op.is_jump and not is_noop_jump(insn, op):
                found.add(insn.jump_target(pc) or 0)
                found.add(nxt)
            elif op.kind is Kind.EXIT:
                found.add(nxt)
            pc = nxt
        return sorted(s for s in found if s < self.end)

    def _edges(self) -> None:
        code = self.code
        bounds = [*self.starts, self.end]
        for start, stop in itertools.pairwise(bounds):
            pc = start
            while True:
                insn, op = code.at(pc)
                if pc + insn.slots >= stop:
                    break
                pc += insn.slots
            self.last[start] = pc
            nxt = pc + insn.slots
            if op.kind is Kind.EXIT:
                self.succs[start] = []
            elif op.kind is Kind.JA:
                self.succs[start] = [insn.jump_target(pc) or 0]
            elif op.is_jump and not is_noop_jump(insn, op):
                self.succs[start] = [insn.jump_target(pc) or 0, nxt]
            else:
                self.succs[start] = [nxt] if nxt < self.end else []

    def _reverse_postorder(self) -> list[int]:
        seen, post = {ROOT}, []
        stack: list[tuple[int, int]] = [(ROOT, 0)]
        while stack:
            block, i = stack.pop()
            succs = self.succs.get(block, [])
            if i < len(succs):
                stack.append((block, i + 1))
                if succs[i] not in seen:
                    seen.add(succs[i])
                    stack.append((succs[i], 0))
            elif block != ROOT:
                post.append(block)
        return post[::-1]

    def insns(self, block: int) -> list[tuple[int, Instruction, Op]]:
        """The instructions of ``block`` with their slots."""
        out, pc, last = [], block, self.last[block]
        while pc <= last:
            insn, op = self.code.at(pc)
            out.append((pc, insn, op))
            pc += insn.slots
        return out

    # -- dominators -----------------------------------------------------------------------------
    @cached_property
    def idom(self) -> dict[int, int]:
        """The immediate dominator of each reachable block (:data:`ROOT` for the entry)."""
        index = {b: i for i, b in enumerate([ROOT, *self.order])}
        idom = {ROOT: ROOT}
        changed = True
        while changed:
            changed = False
            for b in self.order:
                done = [p for p in self.preds[b] if p in idom]
                new = done[0]
                for p in done[1:]:
                    new = self._meet(p, new, idom, index)
                if idom.get(b) != new:
                    idom[b], changed = new, True
        return idom

    @staticmethod
    def _meet(a: int, b: int, idom: dict[int, int], index: dict[int, int]) -> int:
        while a != b:
            while index[a] > index[b]:
                a = idom[a]
            while index[b] > index[a]:
                b = idom[b]
        return a

    @cached_property
    def frontier(self) -> dict[int, set[int]]:
        """The dominance frontier of each block."""
        idom = self.idom
        df: dict[int, set[int]] = {b: set() for b in [ROOT, *self.order]}
        for b in self.order:
            if len(self.preds[b]) < 2:
                continue
            for p in self.preds[b]:
                runner = p
                while runner != idom[b]:
                    df[runner].add(b)
                    runner = idom[runner]
        return df

    # -- registers ------------------------------------------------------------------------------
    @cached_property
    def live_in(self) -> dict[int, int]:
        """Registers (bit ``r``; bit :data:`WINDOW` for the packet window) whose value on
        entry to each block may be read."""
        gen: dict[int, int] = {}
        kill: dict[int, int] = {}
        for b in self.order:
            used = defined = 0
            for _, insn, op in self.insns(b):
                u, d = uses_defs(insn, op)
                used |= u & ~defined
                defined |= d
            gen[b], kill[b] = used | (1 << WINDOW), defined
        live = dict.fromkeys(self.order, 0)
        changed = True
        while changed:
            changed = False
            for b in reversed(self.order):
                out = 0
                for t in self.succs[b]:
                    out |= live[t]
                new = gen[b] | (out & ~kill[b])
                if new != live[b]:
                    live[b], changed = new, True
        return live

    def live_at(self, block: int, pc: int) -> int:
        """Registers whose value before slot ``pc`` of ``block`` may be read later."""
        live = 0
        for t in self.succs[block]:
            live |= self.live_in[t]
        for at, insn, op in reversed(self.insns(block)):
            if at < pc:
                break
            u, d = uses_defs(insn, op)
            live = (live & ~d) | u
        return live

    @cached_property
    def defs(self) -> dict[int, int]:
        """Registers each block writes (bit :data:`WINDOW`: it calls, which reloads the
        window)."""
        out = {}
        for b in self.order:
            bits = 0
            for _, insn, op in self.insns(b):
                bits |= uses_defs(insn, op)[1]
                if op.kind in (Kind.CALL, Kind.CALLX, Kind.LDABS, Kind.LDIND):
                    bits |= 1 << WINDOW
            out[b] = bits
        return out

    @cached_property
    def phis(self) -> dict[int, int]:
        """For each block: the registers (and :data:`WINDOW`) that start it as a phi."""
        frontier, live = self.frontier, self.live_in
        out = dict.fromkeys(self.order, 0)
        for r in range(WINDOW + 1):
            bit = 1 << r
            todo = [b for b in self.order if self.defs[b] & bit]
            placed: set[int] = set()
            while todo:
                for f in frontier[todo.pop()]:
                    if f not in placed:
                        placed.add(f)
                        todo.append(f)
            for b in placed:
                if live[b] & bit:
                    out[b] |= bit
        return out

    # -- budget ---------------------------------------------------------------------------------
    @cached_property
    def checkpoints(self) -> set[int]:
        """Blocks whose start checks the budget: the entry and every block a retreating edge
        (in reverse postorder) enters, so the code between checks has no cycle. The slot
        after a call checks it too (the callee ran code of its own)."""
        index = {b: i for i, b in enumerate(self.order)}
        found = {self.entry}
        for b in self.order:
            found.update(t for t in self.succs[b] if index[t] <= index[b])
        return found

    @cached_property
    def reach(self) -> dict[int, int]:
        """For each block: the most instructions a run may execute from its start before it
        reaches a check (a checkpoint block, or the end of a call) or the end."""
        out: dict[int, int] = {}
        for b in reversed(self.order):  # successors first (but along retreating edges)
            out[b] = self._reach(b, b, out)
        return out

    def reach_from(self, block: int, pc: int) -> int:
        """The most instructions a run may execute from slot ``pc`` of ``block`` before it
        reaches a check or the end."""
        return self._reach(block, pc, self.reach)

    def _reach(self, block: int, pc: int, table: dict[int, int]) -> int:
        count = 0
        for at, _, op in self.insns(block):
            if at < pc:
                continue
            count += 1
            if op.kind in (Kind.CALL, Kind.CALLX):
                return count
        later = [0 if t in self.checkpoints else table[t] for t in self.succs[block]]
        return count + max(later, default=0)

    def calls_local(self, target: int) -> bool:
        """Whether this function calls the function at ``target`` (``call`` or ``callx``)."""
        for b in self.order:
            for pc, insn, op in self.insns(b):
                if op.kind is Kind.CALLX:
                    return True
                local = op.kind is Kind.CALL and insn.src == CallKind.LOCAL
                if local and insn.jump_target(pc) == target:
                    return True
        return False
