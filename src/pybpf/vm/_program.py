"""A program loaded into a :class:`~pybpf.vm.VM`: run it, test-run it, step it, trace it."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

from pybpf.errors import NotSupportedError, VMError
from pybpf.vm._code import Code
from pybpf.vm._interp import Interpreter, Stepper, TraceHook
from pybpf.vm.context import Entry, MemoryEntry
from pybpf.vm.env import Env, Runner

if TYPE_CHECKING:
    from pybpf.vm._machine import VM

__all__ = ["TIERS", "TestRunResult", "Tier", "VMProgram"]

Tier = Literal["interp", "fast", "jit"]
TIERS: tuple[Tier, ...] = ("interp", "fast", "jit")
"""The execution tiers, slowest first. All give the same results."""


@dataclass(frozen=True, slots=True)
class TestRunResult:
    """What a test run gives back, as ``BPF_PROG_TEST_RUN``: r0, the packet and context
    after the last run, and the mean duration of one run in nanoseconds."""

    __test__ = False  # not a pytest test class

    retval: int
    data: bytes
    ctx: bytes | None
    duration: int


class VMProgram:
    """A verified program bound to its VM, its maps and an entry kind.

    ``tier`` is the default tier of :meth:`run` and :meth:`test_run`; each tier compiles
    the program the first time it is used.
    """

    def __init__(self, vm: VM, code: Code, entry: Entry, tier: Tier, name: str = "") -> None:
        if tier not in TIERS:
            raise VMError(f"unknown tier {tier!r}; one of {', '.join(TIERS)}")
        self.vm = vm
        self.code = code
        self.entry = entry
        self.tier: Tier = tier
        self.name = name
        self._runners: dict[str, Runner] = {}

    def __repr__(self) -> str:
        return f"VMProgram({self.name!r}, {self.code.nslots} insns, tier={self.tier!r})"

    # -- tiers -----------------------------------------------------------------------------------
    def runner(self, tier: Tier | None = None) -> Runner:
        """The program compiled for ``tier`` (compiled on first use).

        Raises:
            NotSupportedError: ``"jit"`` without llvmlite installed.
        """
        tier = tier or self.tier
        found = self._runners.get(tier)
        if found is None:
            found = self._runners[tier] = self._compile(tier)
        return found

    def _compile(self, tier: str) -> Runner:
        env = self.vm.env
        if tier == "interp":
            return Interpreter(self.code, env)
        if tier == "fast":
            from pybpf.vm._fast import FastRunner  # noqa: PLC0415 - tiers load on demand

            return FastRunner(self.code, env)
        if tier == "jit":
            try:
                from pybpf.vm import _jit  # noqa: PLC0415 - needs llvmlite and ctypes
            except ImportError as exc:
                raise NotSupportedError(
                    "the VM's JIT", detail=f"install pybpf[jit] ({exc})"
                ) from exc
            memory = isinstance(self.entry, MemoryEntry)
            return _jit.JitRunner(self.code, env, memory, self.entry.writable_packet)
        raise VMError(f"unknown tier {tier!r}; one of {', '.join(TIERS)}")

    # -- running ---------------------------------------------------------------------------------
    def _start(self, data: bytes, ctx: bytes | None) -> tuple[int, int]:
        env = self.vm.env
        env.reset(self.vm.budget)
        env.program, env.entry = self, self.entry
        return self.entry.setup(self.vm.mem, bytes(data), ctx)

    def run(
        self,
        data: bytes = b"",
        *,
        ctx: bytes | None = None,
        tier: Tier | None = None,
        trace: TraceHook | None = None,
    ) -> int:
        """Run once over ``data`` (the memory or packet; ``ctx`` for context entries);
        returns r0. ``trace`` (interpreter only) is called before every instruction.

        Raises:
            VMError: a bad access, an exhausted budget, a helper's refusal (with the pc).
        """
        r1, r2 = self._start(data, ctx)
        if trace is not None:
            interp = self.runner("interp")
            assert isinstance(interp, Interpreter)
            return interp.run(r1, r2, 0, trace)
        return self.runner(tier).run(r1, r2)

    def test_run(
        self,
        data: bytes = b"",
        ctx: bytes | None = None,
        repeat: int = 1,
        *,
        tier: Tier | None = None,
    ) -> TestRunResult:
        """Run ``repeat`` times on the same packet and context, as ``BPF_PROG_TEST_RUN``
        does; returns r0, the packet and context after the last run and the mean time."""
        runner = self.runner(tier)
        batch = getattr(runner, "run_repeat", None)
        r1, r2 = self._start(data, ctx)
        start = time.perf_counter_ns()
        if batch is not None:
            r0 = batch(r1, r2, max(repeat, 1))
        else:
            r0 = 0
            for _ in range(max(repeat, 1)):
                self.vm.env.reset(self.vm.budget)
                r0 = runner.run(r1, r2)
        duration = (time.perf_counter_ns() - start) // max(repeat, 1)
        out, ctx_out = self.entry.result()
        return TestRunResult(r0, out, ctx_out, duration)

    def run_batch(
        self, packets: list[bytes], *, data: bool = False, tier: Tier | None = None
    ) -> tuple[list[int], list[bytes]]:
        """Run once per packet: each run's r0 and, with ``data``, each packet as the run left
        it (else an empty list).

        The JIT runs a memory-entry program over all the packets in one native call; other
        tiers and entries run them one by one.

        Raises:
            VMError: a run failed; its ``index`` attribute says which packet.
        """
        runner = self.runner(tier)
        native = getattr(runner, "run_batch", None)
        if native is not None and isinstance(self.entry, MemoryEntry):
            self._start(b"", None)
            return native(list(packets), data)  # type: ignore[no-any-return]
        results, datas = [], []
        for i, pkt in enumerate(packets):
            try:
                results.append(self.run(pkt, tier=tier))
            except VMError as exc:
                exc.index = i  # type: ignore[attr-defined]
                raise
            if data:
                datas.append(self.entry.result()[0])
        return results, datas

    def tail_call(self, env: Env, ctx: int) -> int:
        """Run as the target of a tail call: same packet, context and budget, ``r1 = ctx``,
        in the caller's frame."""
        runner = self.runner()
        caller = env.runner
        depth = caller.depth() if caller is not None else 0
        try:
            return runner.run(ctx, 0, depth)
        finally:
            env.runner = caller

    def stepper(self, data: bytes = b"", *, ctx: bytes | None = None) -> Stepper:
        """A single-step debugger positioned before the first instruction."""
        r1, r2 = self._start(data, ctx)
        interp = self.runner("interp")
        assert isinstance(interp, Interpreter)
        return interp.stepper(r1, r2)
