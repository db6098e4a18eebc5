"""The interpreter: the reference semantics of the VM, with single-step and trace.

Each slot's instruction is turned once into a handler (see :mod:`pybpf.vm._interp_ops`);
running is a loop calling handlers. The budget is a ``range`` iterator shared with nested runs
(``bpf_loop`` callbacks, tail calls) through :attr:`Env.budget`, so it costs nothing per
instruction beyond the loop itself; the outermost ``exit`` ends the loop by exhausting the
iterator (an exception would cost more than the rest of a short run).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

from pybpf.errors import VMError
from pybpf.vm._alu import M64
from pybpf.vm._code import Code, HelperFn
from pybpf.vm._interp_ops import Handler, build_handler
from pybpf.vm.env import MAX_LOOPS, Env
from pybpf.vm.memory import (
    CODE_REGION,
    MAX_FRAMES,
    OFFSET_MASK,
    REGION_SHIFT,
    STACK_REGION,
    STACK_SIZE,
    region_base,
)

__all__ = ["Interpreter", "Stepper", "TraceHook", "budget_error", "stack_top"]

TraceHook = Callable[[int, list[int]], None]
"""Called before each instruction with its slot and the registers (do not keep the list)."""


_TOP0 = region_base(STACK_REGION) + STACK_SIZE


def stack_top(depth: int) -> int:
    """r10 of the frame at call depth ``depth``."""
    return _TOP0 + (depth << REGION_SHIFT)


def budget_error(pc: int, code: Code) -> VMError:
    """The error of a run that used up its instruction budget at ``pc``."""
    return VMError("instruction budget exhausted", pc=pc, insn=code.show(pc))


class Interpreter:
    """Runs a :class:`Code` one instruction at a time."""

    def __init__(self, code: Code, env: Env) -> None:
        self.code = code
        self.env = env
        self.frames: list[tuple[int, ...]] = []
        self.base_depth = 0
        self.ticks: Iterator[int] = iter(())
        self.total = 0
        self.left = -1  # the budget left when the loop's outermost frame returned
        self._range = range(0)
        self.halt = code.nslots
        handlers: list[Handler] = [self._halted] * (code.nslots + 1)
        for pc in range(code.nslots):
            insn, op = code.slots[pc], code.ops[pc]
            if insn is not None and op is not None:
                handlers[pc] = build_handler(self, pc, insn, op)
        self.handlers = handlers

    # -- running -----------------------------------------------------------------------------
    def run(self, r1: int, r2: int = 0, depth: int = 0, trace: TraceHook | None = None) -> int:
        """Run from slot 0 with r1, r2 at call depth ``depth``; returns r0.

        Re-entrant: a tail call of the program to itself runs with frames of its own.

        Raises:
            VMError: a fault, with the pc and instruction.
        """
        saved = (self.frames, self.base_depth)
        self.frames, self.base_depth = [], depth
        regs = [0, r1 & M64, r2 & M64, 0, 0, 0, 0, 0, 0, 0, stack_top(depth)]
        frame = self.env.mem.regions[STACK_REGION + depth]
        if frame is not None and frame.whi != frame.lo:
            self.env.mem.fresh_frame(frame)
        try:
            return self._loop(0, regs, trace)
        finally:
            self.frames, self.base_depth = saved

    def run_repeat(self, r1: int, r2: int, n: int) -> int:
        """Run ``n`` times from slot 0 at depth 0, each run as a new one with the budget
        ``env.budget`` has now (``BPF_PROG_TEST_RUN``'s repeat); returns the last r0.

        Raises:
            VMError: a run failed (the later ones do not run).
        """
        env, mem, loop = self.env, self.env.mem, self._loop
        full, top, r0 = env.budget, stack_top(0), 0
        r1, r2 = r1 & M64, r2 & M64
        saved = (self.frames, self.base_depth)
        self.frames, self.base_depth = [], 0
        try:
            for _ in range(n):
                env.budget, env.loops, env.tail_calls, env.unwind = full, MAX_LOOPS, 0, False
                frame = mem.regions[STACK_REGION]
                if frame is not None and frame.whi != frame.lo:
                    mem.fresh_frame(frame)
                r0 = loop(0, [0, r1, r2, 0, 0, 0, 0, 0, 0, 0, top], None)
            return r0
        finally:
            self.frames, self.base_depth = saved

    def depth(self) -> int:
        """The call depth of the running frame."""
        return self.base_depth + len(self.frames)

    def call(self, addr: int, r1: int, r2: int, r3: int, r4: int, r5: int) -> int:  # noqa: PLR0917 - registers r1-r5 are positional (the helper ABI)
        """Call the program's function at code address ``addr`` from a helper."""
        pc = self.function_at(addr)
        depth = self.base_depth + len(self.frames) + 1
        if depth >= MAX_FRAMES:
            raise VMError(f"call stack is deeper than {MAX_FRAMES} frames")
        self.frames.append((self.halt, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0))
        self._fresh_frame(depth)
        regs = [0, r1, r2, r3, r4, r5, 0, 0, 0, 0, stack_top(depth)]
        return self._loop(pc, regs, None)

    def function_at(self, addr: int) -> int:
        """The entry slot of the function at code address ``addr``.

        Raises:
            VMError: ``addr`` is not the address of a function of this program.
        """
        pc = addr & OFFSET_MASK
        if addr >> REGION_SHIFT != CODE_REGION or pc not in self.code.entries:
            raise VMError(f"{addr:#x} is not the address of a function")
        return pc

    def _loop(self, pc: int, regs: list[int], trace: TraceHook | None) -> int:
        env, handlers, halt = self.env, self.handlers, self.halt
        outer = (self.ticks, self.total, self.left)
        total = self.total = env.budget
        if self._range.stop != total:  # most loops start with the VM's whole budget
            self._range = range(total)
        ticks = self.ticks = iter(self._range)
        self.left = -1
        try:
            if trace is None:
                for _ in ticks:
                    pc = handlers[pc](regs)
            else:
                for _ in ticks:
                    if pc != halt:
                        trace(pc, regs)
                    pc = handlers[pc](regs)
            if pc != halt:
                raise budget_error(pc, self.code)
            return regs[0]
        except VMError as exc:
            raise self._located(exc, pc) from exc.__cause__
        except RecursionError as exc:
            raise VMError("too many nested calls", pc=pc) from exc
        finally:
            left = self.left
            env.budget = left if left >= 0 else ticks.__length_hint__()  # type: ignore[attr-defined]
            self.ticks, self.total, self.left = outer

    def _stop(self, refund: int) -> int:
        """End the running loop: exhaust its ticks, keeping the budget left (``refund``: the
        ticks taken that were no instruction)."""
        ticks = self.ticks
        self.left = ticks.__length_hint__() + refund  # type: ignore[attr-defined]
        ticks.__setstate__(self.total)  # type: ignore[attr-defined]
        return self.halt

    def _halted(self, r: list[int]) -> int:
        """The handler of the halt slot, where a function called from a helper returns."""
        return self._stop(1)

    def _located(self, exc: VMError, pc: int) -> VMError:
        if exc.pc is not None:
            return exc
        located = VMError(exc.reason, pc=pc, insn=self.code.show(pc))
        if hasattr(exc, "address"):
            located.address = exc.address
        return located

    def _fresh_frame(self, depth: int) -> None:
        region = self.env.mem.regions[STACK_REGION + depth]
        assert region is not None
        self.env.mem.fresh_frame(region)

    # -- handlers that need the frame stack ------------------------------------------------
    def exit_frame(self, r: list[int]) -> int:
        """``exit``: return to the caller's frame (or halt the loop).

        The caller's r1-r9 and r10 come back as they were at the call: the kernel leaves
        r1-r5 undefined after a call, and every tier of the VM keeps them.
        """
        if not self.frames:
            return self._stop(0)
        ret, r[1], r[2], r[3], r[4], r[5], r[6], r[7], r[8], r[9], r[10] = self.frames.pop()
        return ret

    def local_call(self, target: int, ret: int) -> Handler:
        """The handler of ``call`` to the function at slot ``target``."""

        def call_local(r: list[int]) -> int:
            frames = self.frames
            depth = self.base_depth + len(frames) + 1
            if depth >= MAX_FRAMES:
                raise VMError(f"call stack is deeper than {MAX_FRAMES} frames")
            frames.append((ret, r[1], r[2], r[3], r[4], r[5], r[6], r[7], r[8], r[9], r[10]))
            self._fresh_frame(depth)
            r[10] = stack_top(depth)
            return target

        return call_local

    def helper_call(self, fn: HelperFn, ret: int) -> Handler:
        """The handler of ``call`` of a helper."""
        env = self.env

        def call_helper(r: list[int]) -> int:
            ticks = self.ticks
            left = env.budget = ticks.__length_hint__()  # type: ignore[attr-defined]
            env.runner = self
            r[0] = fn(env, r[1], r[2], r[3], r[4], r[5]) & M64
            if env.budget != left:
                ticks.__setstate__(self.total - env.budget)  # type: ignore[attr-defined]
            if env.unwind:
                env.unwind = False
                r[0] = env.retval
                return self.exit_frame(r)
            return ret

        return call_helper

    def indirect_call(self, reg: int, ret: int) -> Handler:
        """The handler of ``callx reg``: a function address or a helper id."""
        helpers = self.env.machine.helpers

        def callx(r: list[int]) -> int:
            addr = r[reg]
            if addr >> REGION_SHIFT == CODE_REGION:
                return self.local_call(self.function_at(addr), ret)(r)
            fn = helpers.function(addr)
            return self.helper_call(fn, ret)(r)

        return callx

    # -- debugging ---------------------------------------------------------------------------
    def stepper(self, r1: int, r2: int = 0) -> Stepper:
        """A :class:`Stepper` about to run the first instruction."""
        self.frames, self.base_depth = [], 0
        self._fresh_frame(0)
        regs = [0, r1 & M64, r2 & M64, 0, 0, 0, 0, 0, 0, 0, stack_top(0)]
        return Stepper(self, regs)


class Stepper:
    """Single-step a run: :meth:`step` runs one instruction; ``pc`` and ``regs`` show state.

    ``done`` becomes true when the program exits; ``result`` is then r0.
    """

    def __init__(self, interp: Interpreter, regs: list[int]) -> None:
        self.interp = interp
        self.regs = regs
        self.pc = 0
        self.steps = 0
        self.done = False
        self.result: int | None = None

    @property
    def depth(self) -> int:
        """The current call depth (0 in the entry function)."""
        return len(self.interp.frames)

    def step(self) -> int:
        """Run one instruction; returns the next pc (the halt slot once done).

        Raises:
            VMError: the instruction faulted; the stepper stays at it.
        """
        if self.done:
            return self.pc
        interp, env = self.interp, self.interp.env
        env.budget = max(env.budget, 1)
        interp.ticks = iter(range(env.budget))
        interp.total = env.budget
        try:
            nxt = interp.handlers[self.pc](self.regs)
        except VMError as exc:
            raise interp._located(exc, self.pc) from exc
        self.steps += 1
        if nxt == interp.halt:
            self.done, self.result = True, self.regs[0]
        self.pc = nxt
        return nxt

    def run(self, limit: int | None = None) -> int | None:
        """Step until the program exits (or ``limit`` steps); returns r0 once done."""
        count = 0
        while not self.done and (limit is None or count < limit):
            self.step()
            count += 1
        return self.result
