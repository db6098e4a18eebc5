"""The native JIT's driver: a program compiled to native code (IR from
:mod:`pybpf.vm._jit_module`, compiled by :mod:`pybpf.vm._jit_runtime`), run through ctypes.
Imported lazily: it needs llvmlite and ctypes.

One native entry, the runtime's loop ``@pybpf_jit_run`` around the program's first
function, serves a single run, ``test_run``'s repeat and a batch over packets, so Python
pays one ctypes call per batch. Helpers stay Python functions:
native code calls one ctypes trampoline with the call site, and the trampoline runs the
helper with the run's :class:`Env`; an exception is kept and reported through the native
status word, which makes every native frame return. A run that native code stops (too
little budget for the code ahead, or a block's accesses to check one by one) goes on in
the interpreter from the frames native code saved, and stops at the exact instruction.
"""

from __future__ import annotations

import array
import ctypes
import itertools
import time
from typing import Any

from pybpf.errors import VMError
from pybpf.vm._alu import M64
from pybpf.vm._code import Code
from pybpf.vm._interp import Interpreter
from pybpf.vm._jit_module import generate_ir
from pybpf.vm._jit_runtime import (
    LOOP_PASSES,
    PASSES,
    CompileStats,
    NativeState,
    compile_ir,
    entry_loop,
    load_runtime,
    native_memory,
    packet_rows,
)
from pybpf.vm._jit_text import (
    DEOPT_WORDS,
    SITE_CALLX,
    SITE_HELPER,
    SITE_LDABS,
    ST_BADCALL,
    ST_DEOPT,
    ST_DEPTH,
    ST_FAULT,
    ST_PYERR,
    ST_UNWIND,
)
from pybpf.vm.env import Env, code_address
from pybpf.vm.memory import CODE_REGION, OFFSET_MASK, PACKET_BASE, REGION_SHIFT, fault

__all__ = ["JitRunner"]

_U64 = ctypes.c_uint64
_TRAMP = ctypes.CFUNCTYPE(_U64, ctypes.c_void_p, _U64, _U64, _U64, _U64, _U64, _U64, _U64, _U64)
_PTR = ctypes.c_void_p
_RUN = ctypes.CFUNCTYPE(_U64, _PTR, _PTR, _U64, _U64, _U64, _U64, _U64, _PTR, _PTR, _U64)
_CALL = ctypes.CFUNCTYPE(_U64, _PTR, _U64, _U64, _U64, _U64, _U64, _U64)


class JitRunner:
    """A program compiled to native code; the same interface as the other tiers, plus
    :meth:`run_repeat` (many runs in one native call) and :meth:`run_batch`."""

    def __init__(
        self, code: Code, env: Env, memory_entry: bool = False, writable: bool = True
    ) -> None:
        if code.endian != "<":
            from pybpf.errors import NotSupportedError  # noqa: PLC0415 - rare path

            raise NotSupportedError("the JIT for big-endian programs")
        self.code = code
        self.env = env
        self.native = native_memory(env)
        # One engine per program: the names need not be unique, and fixed names let the
        # same program hit the code cache in another process.
        self.name = "bpf"
        load_runtime()
        start = time.perf_counter()
        module = generate_ir(code, self.name, memory_entry, writable)
        self.ir = module.text
        self.stats = CompileStats()
        self.stats.ir_ms = (time.perf_counter() - start) * 1e3
        passes = LOOP_PASSES if module.loops else PASSES
        self.engine = compile_ir(self.ir, passes, self.stats)
        self.compile_seconds = time.perf_counter() - start
        self._tramp = _TRAMP(self._trampoline)
        self._tramp_address = ctypes.cast(self._tramp, ctypes.c_void_p).value
        self._run = _RUN(entry_loop())
        self._main = self.engine.get_function_address(module.entry)
        self.memory_entry = memory_entry
        exported = [e for e in code.entries if e or not memory_entry]
        self._calls = {
            e: _CALL(self.engine.get_function_address(f"{self.name}_call{e}")) for e in exported
        }
        self._fast: Any = None
        self._interp: Interpreter | None = None
        self._pending: BaseException | None = None
        self._slot = (_U64 * 1)()  # where a run's r0 lands
        self._seen = 0  # the run (of a native loop) whose per-run state helpers last saw
        self.cur = 0

    # -- running ---------------------------------------------------------------------------------
    def _native(
        self, r1: int, r2: int, n: int, batch: tuple[int, int] | None = None
    ) -> tuple[NativeState, int]:
        """Call ``@run``: ``n`` runs (over the packet rows and into the result array of
        ``batch``, else into the slot); returns the state and how many runs finished.

        A native entry may be nested in another (a tail call from a helper): what the outer
        one relies on in the shared state (its trampoline, the run it is at) comes back
        after."""
        if self.env.mem.zeroed:  # native code writes frames behind the address space's back
            self.env.mem.dirty_frames()
        st = self.native.state
        saved = (st.tramp, st.done, self._seen)
        st.tramp, st.status, self._seen = self._tramp_address, 0, 0
        rows, out = batch or (0, ctypes.addressof(self._slot))
        mask = M64 if batch else 0
        try:
            done = self._run(ctypes.addressof(st), self._main, r1 & M64, r2 & M64, n,
                             self.env.budget, self.env.loops, rows or None, out, mask)  # fmt: skip
        finally:
            st.tramp, st.done, self._seen = saved
        return st, int(done)

    def _leave(self, st: NativeState, result: int, base: int = 0) -> int:
        self.env.budget = st.budget
        self.env.loops = st.loops
        if st.status == ST_DEOPT:
            return self._resume(st, base)
        if st.status:
            raise self._error(st)
        return result

    def _resume(self, st: NativeState, base: int) -> int:
        """Finish a run that native code stopped for lack of budget, in the interpreter: the
        frames from ``base`` to the one that stopped are in the deopt area (each ``pc, r0 ..
        r10``), and the interpreter stops at the exact instruction, or finishes in time."""
        inner, have, w = int(st.size), int(st.addr) & M64, DEOPT_WORDS
        area = self.native.deopt
        pc = int(area[inner * w])
        regs = [int(v) for v in area[inner * w + 1 : inner * w + w]]
        frames = [
            (int(area[d * w]), *(int(v) for v in area[d * w + 2 : d * w + w]))
            for d in range(base, inner)
        ]
        st.status = 0
        self.env.budget, self.env.loops = have, int(st.loops)
        if self._interp is None:
            self._interp = Interpreter(self.code, self.env)
        interp = self._interp
        saved = interp.frames, interp.base_depth
        interp.frames, interp.base_depth = frames, base
        try:
            return interp._loop(pc, regs, None)
        finally:
            interp.frames, interp.base_depth = saved

    def run(self, r1: int, r2: int = 0, depth: int = 0) -> int:
        """Run once from the entry; returns r0."""
        if depth or not self._entry_args_ok(r1, r2):  # a tail call, in its caller's frame
            return self.call(code_address(0), r1, r2, 0, 0, 0, depth - 1)
        outer = self.cur
        try:
            st, _ = self._native(r1, r2, 1)
            return self._leave(st, int(self._slot[0]))
        finally:
            self.cur = outer

    def _entry_args_ok(self, r1: int, r2: int) -> bool:
        """A memory entry's native entry takes r1 and r2 from the packet window: only a run
        with exactly those may use it."""
        if not self.memory_entry:
            return True
        pkt = self.env.mem.regions[0]
        return pkt is not None and r1 == pkt.lo and r2 == pkt.hi - pkt.lo

    def _fast_call(self, pc: int, args: tuple[int, ...], depth: int) -> int:
        """Run function ``pc`` in the fast tier (function 0 of a memory-entry program is
        compiled only specialized for the top-level run)."""
        if self._fast is None:
            from pybpf.vm._fast import FastRunner  # noqa: PLC0415 - rarely needed

            self._fast = FastRunner(self.code, self.env)
        fn = self._fast.functions[pc]
        try:
            return int(fn(*args, depth))
        finally:  # native code may go on writing the frames the fast tier zeroed
            self.env.mem.dirty_frames()

    def run_repeat(self, r1: int, r2: int, n: int) -> int:
        """Run ``n`` times in one native call (each run with a full budget); returns the last
        r0. The batch entry point behind ``test_run(repeat=n)``."""
        if not self._entry_args_ok(r1, r2):
            result = 0
            for _ in range(n):
                result = self.run(r1, r2)
            return result
        full, loops = self.env.budget, self.env.loops
        result = 0
        while n > 0:
            st, done = self._native(r1, r2, n)
            if st.status != ST_DEOPT:
                return self._leave(st, int(self._slot[0]) if done else result)
            result = self._leave(st, 0)  # the stopped run, finished by the interpreter
            n -= done + 1
            self.env.budget, self.env.loops = full, loops
            self.env.tail_calls, self.env.unwind = 0, False
        return result

    def run_batch(self, packets: list[bytes], data: bool = False) -> tuple[list[int], list[bytes]]:
        """Run once per packet in one native call (memory entry: r1 = the packet, r2 = its
        length); returns each run's r0 and, with ``data``, each packet as the program left it.

        Raises:
            VMError: a run failed; the error names the packet (``index`` attribute).
        """
        if not self.memory_entry:
            raise VMError("native batches over packets need a memory entry program")
        buf = bytearray(b"".join(packets) or b"\0")
        starts = list(itertools.accumulate((len(p) for p in packets), initial=0))
        out = array.array("Q", bytes(8 * max(len(packets), 1)))
        pin = (ctypes.c_char * len(buf)).from_buffer(buf)
        try:
            rows = packet_rows(ctypes.addressof(pin) - PACKET_BASE, starts)
            batch = (rows.buffer_info()[0], out.buffer_info()[0])
            st, done = self._native(PACKET_BASE, 0, len(packets), batch)
        finally:
            self.native.sync(0)  # the native loop moved region 0 from packet to packet
            del pin
        results = out.tolist()[:done]
        outs = [bytes(buf[a:b]) for a, b in itertools.pairwise(starts[: done + 1])] if data else []
        if done == len(packets):
            self.env.budget = st.budget
            return results, outs
        if st.status != ST_DEOPT:
            err = self._error(st)
            err.index = done  # type: ignore[attr-defined]
            raise err
        more, more_data = self._finish_batch(st, buf, starts, done, packets=packets, data=data)
        return results + more, outs + more_data

    def _finish_batch(
        self,
        st: NativeState,
        buf: bytearray,
        starts: list[int],
        done: int,
        *,
        packets: list[bytes],
        data: bool,
    ) -> tuple[list[int], list[bytes]]:
        """Packet ``done`` ran out of budget mid-segment: finish it in the interpreter (over
        its bytes in ``buf``), then batch the rest."""
        full, loops = self.env.budget, self.env.loops
        view = memoryview(buf)[starts[done] : starts[done + 1]]
        self.env.mem.map(view, "packet", index=0, origin=PACKET_BASE)
        try:
            result = self._resume(st, 0)
        except VMError as exc:
            exc.index = done  # type: ignore[attr-defined]
            raise
        self.env.budget, self.env.loops = full, loops
        self.env.tail_calls, self.env.unwind = 0, False
        try:
            more, more_data = self.run_batch(packets[done + 1 :], data)
        except VMError as exc:
            exc.index = getattr(exc, "index", 0) + done + 1  # type: ignore[attr-defined]
            raise
        return [result, *more], ([bytes(view), *more_data] if data else [])

    def call(  # noqa: PLR0917 - registers r1-r5 are positional (the helper ABI)
        self, addr: int, r1: int, r2: int, r3: int, r4: int, r5: int, depth: int | None = None
    ) -> int:
        """Call a function of the program from a helper (``bpf_loop`` callbacks), one frame
        below the helper's caller (or at ``depth + 1``)."""
        pc = addr & OFFSET_MASK
        if addr >> REGION_SHIFT != CODE_REGION or pc not in self.code.entries:
            raise VMError(f"{addr:#x} is not the address of a function")
        fn = self._calls.get(pc)
        if fn is None:
            below = (self.cur if depth is None else depth) + 1
            return self._fast_call(pc, (r1 & M64, r2 & M64, r3, r4, r5), below)
        if self.env.mem.zeroed:
            self.env.mem.dirty_frames()
        st = self.native.state
        st.budget = self.env.budget
        outer, tramp = self.cur, st.tramp
        below = (outer if depth is None else depth) + 1
        st.tramp = self._tramp_address  # the caller may be another program's native code
        try:
            result = fn(ctypes.addressof(st), r1 & M64, r2 & M64, r3, r4, r5, below)
        finally:
            self.cur, st.tramp = outer, tramp
        self.env.budget = st.budget
        if st.status == ST_DEOPT:
            return self._resume(st, below)
        if st.status:
            status = st.status
            st.status = 0
            if status == ST_UNWIND:
                return int(st.retval)
            raise self._error(st, status)
        return int(result)

    def depth(self) -> int:
        """The call depth of the frame that called the running helper."""
        return self.cur

    # -- helpers -------------------------------------------------------------------------------
    def _trampoline(  # noqa: PLR0917 - registers r1-r5 are positional (the helper ABI)
        self, stp: int, site: int, x: int, r1: int, r2: int, r3: int, r4: int, r5: int, depth: int
    ) -> int:
        st = self.native.state
        env = self.env
        try:
            if st.done != self._seen:  # a new run of a native loop: a new run for helpers
                self._seen = int(st.done)
                env.tail_calls, env.unwind = 0, False
            env.budget = st.budget
            env.runner = self
            self.cur = depth
            kind, pc = site >> 32, site & OFFSET_MASK
            result = self._dispatch(kind, pc, x, r1, r2, r3, r4, r5)
            st.budget = env.budget
            if env.unwind:
                env.unwind = False
                st.retval = env.retval & M64
                st.status = ST_UNWIND
            return result & M64
        except BaseException as exc:
            if isinstance(exc, VMError) and exc.pc is None:
                located = VMError(
                    exc.reason, pc=site & OFFSET_MASK, insn=self.code.show(site & OFFSET_MASK)
                )
                if hasattr(exc, "address"):
                    located.address = exc.address
                exc = located
            self._pending = exc
            st.status = ST_PYERR
            return 0

    def _dispatch(  # noqa: PLR0917 - registers r1-r5 are positional (the helper ABI)
        self, kind: int, pc: int, x: int, r1: int, r2: int, r3: int, r4: int, r5: int
    ) -> int:
        env = self.env
        if kind == SITE_HELPER:
            return self.code.helpers[pc](env, r1, r2, r3, r4, r5)
        if kind == SITE_CALLX:
            return env.machine.helpers.function(x)(env, r1, r2, r3, r4, r5)
        if kind == SITE_LDABS:
            off = r1 & 0xFFFF_FFFF
            value = env.entry.load_abs(off - (1 << 32) if off >> 31 else off, r2)
            if value is None:  # out of the packet: the frame exits with r0 = 0
                env.unwind, env.retval = True, 0
                return 0
            return value
        raise VMError(f"JIT: bad call site kind {kind}")

    # -- errors --------------------------------------------------------------------------------
    def _error(self, st: NativeState, status: int | None = None) -> BaseException:
        status = st.status if status is None else status
        st.status = 0
        if status == ST_PYERR and self._pending is not None:
            exc, self._pending = self._pending, None
            return exc
        pc = int(st.pc)
        if status == ST_FAULT:
            size, write = int(st.size) & 0xFF, bool(int(st.size) >> 8)
            addr = int(st.addr)
            try:
                self.env.mem.translate(addr, size, write)
                err = fault("out of bounds access", addr, size)
            except VMError as exc:
                err = exc
            located = VMError(err.reason, pc=pc, insn=self.code.show(pc))
            located.address = addr
            return located
        if status == ST_DEPTH:
            return VMError("call stack is deeper than 8 frames")
        if status == ST_BADCALL:
            return VMError(f"{int(st.addr):#x} is not the address of a function", pc=pc)
        return VMError(f"JIT: native code stopped with status {status}")
