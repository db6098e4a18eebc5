"""The pure-Python fast tier: each eBPF function becomes one compiled Python function.

Registers are locals; every jump target starts a *chain* of code that runs straight on
through not-taken branches until an unconditional jump or exit, so most branches cost one
comparison and no dispatch. A chain that jumps back to its own start is a Python ``while``
loop; other jumps go through a binary dispatch on the target pc. Semantics are the
interpreter's (same faults, same budget): the budget is charged per *segment* (the run of a
chain up to a call), refunded when a branch leaves a segment early, and when a charge does
not fit, the rest of the run continues in the interpreter, which stops at the exact
instruction. A fault's pc comes from the line of the generated source it happened on.

``test_run(repeat=N)`` runs a second rendering of the entry function, compiled on first use,
whose body sits in a loop over the N runs: an exit ends one run (``break``) instead of
returning, so a run costs no Python call and no more set-up than its registers.
"""

from __future__ import annotations

import functools
import itertools
from collections.abc import Callable
from dataclasses import dataclass, field

from pybpf.asm.opcodes import AtomicOp, CallKind, Kind
from pybpf.errors import VMError
from pybpf.vm._alu import M32, M64, bswap, sdiv, smod
from pybpf.vm._code import Code
from pybpf.vm._fast_gen import SB, condition, simple
from pybpf.vm._interp import Interpreter, stack_top
from pybpf.vm.env import MAX_LOOPS, Env
from pybpf.vm.memory import (
    CODE_REGION,
    MAX_FRAMES,
    OFFSET_MASK,
    REGION_SHIFT,
    STACK_REGION,
    int_struct,
)

__all__ = ["FastRunner", "generate"]

MAX_CHAIN = 256
"""Longest straight run inlined into one chain before it dispatches instead."""

_counter = itertools.count()
BATCH = -1
"""Key of the batch rendering of the entry function among the compiled functions."""


@dataclass
class _Source:
    """Generated lines, with the pc each line belongs to (for fault locations)."""

    lines: list[str] = field(default_factory=list)
    pcs: list[int] = field(default_factory=list)

    def add(self, indent: int, text: str, pc: int = -1) -> None:
        self.lines.append("    " * indent + text)
        self.pcs.append(pc)


class _FunctionGen:
    """Generates the Python function of one eBPF function (entry slot ``entry``)."""

    def __init__(self, code: Code, entry: int, out: _Source, batch: bool = False) -> None:
        self.code = code
        self.batch = batch  # the body runs in a loop over runs; an exit ends one run
        self.entry = entry
        self.end = code.function_end(entry)
        self.out = out
        self.targets = self._targets()

    def _targets(self) -> list[int]:
        """Jump targets, plus where a capped chain continues (to a fixed point)."""
        found = {self.entry}
        for pc in range(self.entry, self.end):
            insn, op = self.code.slots[pc], self.code.ops[pc]
            if insn is not None and op is not None and op.is_jump:
                target = insn.jump_target(pc)
                assert target is not None
                found.add(target)
        todo = sorted(found)
        while todo:
            pcs = self.chain(todo.pop())
            nxt = self._after(pcs[-1])
            if nxt is not None and nxt not in found:
                found.add(nxt)
                todo.append(nxt)
        return sorted(found)

    def _after(self, last: int) -> int | None:
        """Where a chain ending at ``last`` continues, or ``None`` if it ends in a jump."""
        insn, op = self.code.at(last)
        return None if op.kind in (Kind.EXIT, Kind.JA) else last + insn.slots

    # -- chains -------------------------------------------------------------------------------
    def chain(self, start: int) -> list[int]:
        """The pcs of the chain starting at ``start`` (through not-taken branches)."""
        pcs, pc = [], start
        while pc < self.end:
            insn, op = self.code.at(pc)
            pcs.append(pc)
            if op.kind in (Kind.EXIT, Kind.JA) or len(pcs) >= MAX_CHAIN:
                break
            pc += insn.slots
        return pcs

    def segments(self, pcs: list[int]) -> list[list[int]]:
        """The chain cut after every call (a callee may use budget the chain has not)."""
        out: list[list[int]] = [[]]
        for pc in pcs:
            out[-1].append(pc)
            op = self.code.ops[pc]
            if op is not None and op.kind in (Kind.CALL, Kind.CALLX) and pc != pcs[-1]:
                out.append([])
        return out

    # -- emission -----------------------------------------------------------------------------
    def emit(self, fname: str) -> None:
        out = self.out
        if self.batch:
            # depth 0 and its frame (the VM maps frames once) stay the same for every run
            out.add(1, f"def {fname}(n, a1, a2, full):")
            out.add(2, "depth = r0 = 0")
            out.add(2, "FR = T[STACK0]")
            out.add(2, "for _ in range(n):")
            if self._touches_env():
                out.add(3, "env.loops = MAX_LOOPS; env.tail_calls = 0; env.unwind = False")
            out.add(3, "r1 = a1; r2 = a2; r3 = r4 = r5 = 0")
            out.add(3, "r10 = TOP0")
            self._body(3)
            out.add(2, "return r0")
            return
        out.add(1, f"def {fname}(r1, r2, r3, r4, r5, depth):")
        out.add(2, "if depth >= MAX_FRAMES: TOO_DEEP()")
        out.add(2, "FR = T[STACK0 + depth]")
        out.add(2, "r10 = TOP0 + (depth << 32)")
        self._body(2)

    def _body(self, indent: int) -> None:
        """A run of the function: a fresh frame, the registers, the dispatch loop."""
        out = self.out
        out.add(indent, "if FR.whi != FR.lo: FRESH(FR)")
        out.add(indent, "r0 = r6 = r7 = r8 = r9 = a = 0")
        out.add(indent, "left = full" if self.batch else "left = env.budget")
        if len(self.targets) > 1:
            out.add(indent, f"pc = {self.entry}")
        out.add(indent, "try:")
        out.add(indent + 1, "while True:")
        self._dispatch(self.targets, indent + 2)
        out.add(indent, "except (IndexError, AttributeError) as exc:")
        out.add(indent + 1, "raise LOCATE(exc.__traceback__, a) from None")
        out.add(indent, "except VMError as exc:")
        out.add(indent + 1, "if exc.pc is None: raise LOCATE(exc.__traceback__, exc) from None")
        out.add(indent + 1, "raise")

    def _touches_env(self) -> bool:
        """Whether a run may change the env's per-run state (``may_goto``, helpers)."""
        kinds = (Kind.CALL, Kind.CALLX, Kind.JCOND, Kind.LDABS, Kind.LDIND)
        return any(op is not None and op.kind in kinds for op in self.code.ops)

    def _leave(self, indent: int, value: str, pc: int, loops: bool, budget: str = "") -> None:
        """End the run of this frame with ``value`` as r0 (``budget``: what ``env.budget``
        must say then, when a function returns)."""
        out = self.out
        if not self.batch:
            if budget:
                out.add(indent, f"env.budget = {budget}", pc)
            out.add(indent, f"return {value}", pc)
            return
        if value != "r0":
            out.add(indent, f"r0 = {value}", pc)
        if loops:
            out.add(indent, "pc = -1", pc)
        out.add(indent, "break", pc)

    def _dispatch(self, targets: list[int], indent: int) -> None:
        if len(targets) == 1:
            self._chain_body(targets[0], indent)
            return
        mid = len(targets) // 2
        self.out.add(indent, f"if pc < {targets[mid]}:")
        self._dispatch(targets[:mid], indent + 1)
        self.out.add(indent, "else:")
        self._dispatch(targets[mid:], indent + 1)

    def _chain_body(self, start: int, indent: int) -> None:
        pcs = self.chain(start)
        loops = any(self._target(pc) == start for pc in pcs)
        if loops:
            self.out.add(indent, "while True:")
            indent += 1
        for seg in self.segments(pcs):
            self._segment(seg, indent, loops, start)
        nxt = self._after(pcs[-1])
        if nxt is not None:
            self._goto(nxt, indent, loops, start, 0, pcs[-1])
        if loops and self.batch:  # a run ended inside the loop
            self.out.add(indent - 1, "if pc < 0: break")

    def _target(self, pc: int) -> int | None:
        insn, op = self.code.at(pc)
        return insn.jump_target(pc) if op.is_jump else None

    def _segment(self, seg: list[int], indent: int, loops: bool, start: int) -> None:
        out, n = self.out, len(seg)
        out.add(indent, f"left -= {n}", seg[0])
        regs = ", ".join(f"r{i}" for i in range(11))
        out.add(indent, "if left < 0:", seg[0])
        out.add(indent + 1, f"env.budget = left + {n}", seg[0])
        self._leave(indent + 1, f"DEOPT({seg[0]}, depth, [{regs}])", seg[0], loops)
        for i, pc in enumerate(seg):
            self._insn(pc, indent, loops, start, n - i - 1)

    def _goto(  # noqa: PLR0917 - a code generator's context
        self, target: int, indent: int, loops: bool, start: int, refund: int, pc: int
    ) -> None:
        if refund:
            self.out.add(indent, f"left += {refund}", pc)
        if loops and target == start:
            self.out.add(indent, "continue", pc)
            return
        self.out.add(indent, f"pc = {target}", pc)
        self.out.add(indent, "break" if loops else "continue", pc)

    def _insn(self, pc: int, indent: int, loops: bool, start: int, rest: int) -> None:
        code, out = self.code, self.out
        insn, op = code.at(pc)
        kind = op.kind
        if kind is Kind.JUMP:
            out.add(indent, f"if {condition(insn, op)}:", pc)
            self._goto(insn.jump_target(pc) or 0, indent + 1, loops, start, rest, pc)
        elif kind is Kind.JA:
            self._goto(insn.jump_target(pc) or 0, indent, loops, start, rest, pc)
        elif kind is Kind.JCOND:
            out.add(indent, "if not env.loops:", pc)
            self._goto(insn.jump_target(pc) or 0, indent + 1, loops, start, rest, pc)
            out.add(indent, "env.loops -= 1", pc)
        elif kind is Kind.EXIT:
            self._leave(indent, "r0", pc, loops, "left")
        elif kind in (Kind.CALL, Kind.CALLX):
            self._call(pc, indent, loops)
        elif kind in (Kind.LDABS, Kind.LDIND):
            base = f"r{insn.src} + " if kind is Kind.LDIND else ""
            out.add(indent, f"r0 = LDABS(S32({base}{insn.imm}), {op.width // 8})", pc)
            out.add(indent, "if r0 is None:", pc)
            self._leave(indent + 1, "0", pc, loops, f"left + {rest}")
        else:
            for line in simple(insn, op, code.imm64.get(pc, 0), code.endian):
                out.add(indent, line, pc)

    def _call(self, pc: int, indent: int, loops: bool) -> None:
        insn, op = self.code.at(pc)
        out = self.out
        out.add(indent, "env.budget = left", pc)
        args = "r1, r2, r3, r4, r5"
        if op.kind is Kind.CALL and insn.src == CallKind.LOCAL:
            target = insn.jump_target(pc)
            out.add(indent, f"r0 = F{target}({args}, depth + 1)", pc)
            out.add(indent, "left = env.budget", pc)
            return
        if op.kind is Kind.CALL:
            out.add(indent, "env.runner = RUNNER; RUNNER.cur = depth", pc)
            out.add(indent, f"r0 = H{pc}(env, {args}) & M", pc)
        else:
            out.add(indent, f"r0 = CALLX(r{insn.dst}, {args}, depth)", pc)
        out.add(indent, "left = env.budget", pc)
        out.add(indent, "if env.unwind:", pc)
        out.add(indent + 1, "env.unwind = False", pc)
        self._leave(indent + 1, "env.retval", pc, loops)


def generate(code: Code, batch: bool = False) -> tuple[str, list[int]]:
    """The Python source of the program and the pc of each line (-1: no instruction);
    with ``batch``, also the batch rendering of the entry function (key :data:`BATCH`)."""
    out = _Source()
    out.add(0, "def make():")
    for entry in code.entries:
        _FunctionGen(code, entry, out).emit(f"F{entry}")
    funcs = ", ".join(f"{e}: F{e}" for e in code.entries)
    if batch:
        _FunctionGen(code, 0, out, batch=True).emit("B0")
        funcs += f", {BATCH}: B0"
    out.add(1, f"return {{{funcs}}}")
    return "\n".join(out.lines) + "\n", out.pcs


class FastRunner:
    """A program compiled to Python by the fast tier; same interface as the interpreter."""

    def __init__(self, code: Code, env: Env) -> None:
        self.code = code
        self.env = env
        self._interp: Interpreter | None = None
        self.cur = 0  # call depth of the frame that called the running helper
        self.source, line_pcs = generate(code)
        self.functions = self._compile(self.source, line_pcs)
        self._batch: Callable[..., int] | None = None

    @property
    def interp(self) -> Interpreter:
        """The interpreter that finishes runs whose budget runs out mid-segment."""
        if self._interp is None:
            self._interp = Interpreter(self.code, self.env)
        return self._interp

    def _namespace(self, line_pcs: list[int]) -> dict[str, object]:
        mem, code = self.env.mem, self.code
        ns: dict[str, object] = {
            "M": M64,
            "M32": M32,
            "SB": SB,
            "T": mem.regions,
            "env": self.env,
            "VMError": VMError,
            "MAX_FRAMES": MAX_FRAMES,
            "MAX_LOOPS": MAX_LOOPS,
            "STACK0": STACK_REGION,
            "TOP0": stack_top(0),
            "FRESH": mem.fresh_frame,
            "RUNNER": self,
            "F": self._fault,
            "LOCATE": functools.partial(self._locate, line_pcs),
            "DEOPT": self._deopt,
            "TOO_DEEP": _too_deep,
            "SDIV": sdiv,
            "SMOD": smod,
            "BSWAP": bswap,
            "ATOMIC": self._atomic,
            "CALLX": self._callx,
            "LDABS": self._ldabs,
            "S32": _s32,
        }
        for size in (1, 2, 4, 8):
            ns[f"U{size}"] = int_struct(code.endian, size).unpack_from
            ns[f"S{size}"] = int_struct(code.endian, size, True).unpack_from
            ns[f"P{size}"] = int_struct(code.endian, size).pack_into
        for pc, fn in code.helpers.items():
            ns[f"H{pc}"] = fn
        return ns

    def _compile(self, source: str, line_pcs: list[int]) -> dict[int, Callable[..., int]]:
        ns = self._namespace(line_pcs)
        # Make the names closure cells of make() (faster than globals).
        names = sorted(ns)
        header = f"def outer({', '.join(names)}):\n"
        body = "".join("    " + line + "\n" for line in source.splitlines())
        text = header + body + "    return make\n"
        filename = f"<pybpf-fast-{next(_counter)}>"
        compiled = compile(text, filename, "exec")
        scope: dict[str, object] = {}
        exec(compiled, scope)
        make = scope["outer"](*(ns[n] for n in names))  # type: ignore[operator]
        functions: dict[int, Callable[..., int]] = make()
        return functions

    # -- running ---------------------------------------------------------------------------------
    def run(self, r1: int, r2: int = 0, depth: int = 0) -> int:
        """Run from the entry at call depth ``depth``; returns r0."""
        outer = self.cur
        try:
            return self.functions[0](r1 & M64, r2 & M64, 0, 0, 0, depth)
        finally:
            self.cur = outer

    def run_repeat(self, r1: int, r2: int, n: int) -> int:
        """Run ``n`` times from the entry, each run as a new one with the budget
        ``env.budget`` has now (``BPF_PROG_TEST_RUN``'s repeat); returns the last r0.

        Raises:
            VMError: a run failed (the later ones do not run).
        """
        if self._batch is None:
            source, line_pcs = generate(self.code, batch=True)
            self._batch = self._compile(source, line_pcs)[BATCH]
        outer = self.cur
        try:
            return self._batch(n, r1 & M64, r2 & M64, self.env.budget)
        finally:
            self.cur = outer

    def call(self, addr: int, r1: int, r2: int, r3: int, r4: int, r5: int) -> int:  # noqa: PLR0917 - registers r1-r5 are positional (the helper ABI)
        """Call a function of the program from a helper (``bpf_loop`` callbacks)."""
        pc = self._entry_of(addr)
        outer = self.cur
        try:
            return self.functions[pc](r1, r2, r3, r4, r5, outer + 1)
        finally:
            self.cur = outer

    def depth(self) -> int:
        """The call depth of the frame that called the running helper."""
        return self.cur

    def _entry_of(self, addr: int) -> int:
        pc = addr & OFFSET_MASK
        if addr >> REGION_SHIFT != CODE_REGION or pc not in self.functions:
            raise VMError(f"{addr:#x} is not the address of a function")
        return pc

    # -- support called by generated code -----------------------------------------------------
    def _fault(self, addr: int, size: int, write: bool) -> None:
        """An access failed its inline check: raise the precise error, or return when it
        is the first write to a zeroed stack frame (which the check lets through now)."""
        self.env.mem.translate(addr, size, write)

    def _locate(self, line_pcs: list[int], tb: object, what: object) -> VMError:
        line = getattr(tb, "tb_lineno", 0) - 2  # the wrapper's header line, 1-based
        pc = line_pcs[line] if 0 <= line < len(line_pcs) else -1
        shown = self.code.show(pc) if pc >= 0 else None
        if isinstance(what, VMError):
            err = VMError(what.reason, pc=pc if pc >= 0 else None, insn=shown)
            if hasattr(what, "address"):
                err.address = what.address
            return err
        assert isinstance(what, int)
        err = VMError(f"out of bounds access at {what:#x}", pc=pc, insn=shown)
        err.address = what
        return err

    def _deopt(self, pc: int, depth: int, regs: list[int]) -> int:
        interp = self.interp
        saved = (interp.frames, interp.base_depth)
        interp.frames, interp.base_depth = [], depth
        try:
            return interp._loop(pc, regs, None)
        finally:
            interp.frames, interp.base_depth = saved

    def _atomic(self, addr: int, size: int, aop: int, src: int, r0: int) -> int:
        region, i = self.env.mem.translate(addr, size, True)
        st = int_struct(self.code.endian, size)
        mask = (1 << (8 * size)) - 1
        old: int = st.unpack_from(region.buf, i)[0]
        val = src & mask
        if aop == AtomicOp.CMPXCHG:
            if old == r0 & mask:
                st.pack_into(region.buf, i, val)
            return old
        if aop == AtomicOp.XCHG:
            new = val
        else:
            new = {0x00: old + val, 0x40: old | val, 0x50: old & val, 0xA0: old ^ val}[aop & ~1]
        st.pack_into(region.buf, i, new & mask)
        return old if aop & 1 else src

    def _callx(self, addr: int, r1: int, r2: int, r3: int, r4: int, r5: int, depth: int) -> int:  # noqa: PLR0917 - registers r1-r5 are positional (the helper ABI)
        env = self.env
        if addr >> REGION_SHIFT == CODE_REGION:
            return self.functions[self._entry_of(addr)](r1, r2, r3, r4, r5, depth + 1)
        env.runner = self
        self.cur = depth
        return env.machine.helpers.function(addr)(env, r1, r2, r3, r4, r5) & M64

    def _ldabs(self, off: int, size: int) -> int | None:
        return self.env.entry.load_abs(off, size)


def _too_deep() -> None:
    raise VMError(f"call stack is deeper than {MAX_FRAMES} frames")


def _s32(v: int) -> int:
    v &= 0xFFFF_FFFF
    return v - (1 << 32) if v >> 31 else v
