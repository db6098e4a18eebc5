"""The native JIT: LLVM IR from :mod:`pybpf.vm._jit_ir`, compiled by llvmlite, run through
ctypes. The one module of the VM that touches native memory (imported lazily).

Native code reaches VM memory through a table of region rows kept in step with the
:class:`~pybpf.vm.memory.AddressSpace` (an observer re-pins a region's buffer whenever it
changes). Helpers stay Python functions: native code calls one ctypes trampoline with the
call site, and the trampoline runs the helper with the run's :class:`Env`; an exception is
kept and reported through the native status word, which makes every native frame return.

Compile time (round 2, measured on the 2-vCPU CI kind of machine, shared): a cold compile
is IR text ~1 ms, LLVM's O2 pipeline 20-50 ms, code generation 10-35 ms — 30-45 ms for the
bench programs, ~85 ms for a branchy 100-instruction one. Tried and rejected: O1 (a few ms
less, same code here), O0 + codegen (optimisation gone, codegen longer), a hand-picked pass
list of llvmlite's new pass manager (no LICM there: bounds checks stay in loops, sum_bytes
2x slower), one shared deopt block per function (no measurable gain). What brings it down
is the persistent code cache (:mod:`pybpf.vm._jit_cache`): the same program compiled
before on this host loads in 1.5-3 ms. Functions are named ``bpf_*`` in every module (one
engine per program), so the IR, and the cache key, depend only on the program.
"""

from __future__ import annotations

import array
import ctypes
import itertools
import time
from typing import Any

import llvmlite.binding as llvm  # type: ignore[import-untyped]

from pybpf.errors import VMError
from pybpf.vm import _jit_cache
from pybpf.vm._alu import M64
from pybpf.vm._code import Code
from pybpf.vm._interp import Interpreter
from pybpf.vm._jit_ir import (
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
from pybpf.vm._jit_module import generate_ir
from pybpf.vm.env import Env, code_address
from pybpf.vm.memory import (
    CODE_REGION,
    MAX_FRAMES,
    OFFSET_MASK,
    PACKET_BASE,
    REGION_SHIFT,
    AddressSpace,
    fault,
)

__all__ = ["CompileStats", "JitRunner", "compile_ir"]

_U64 = ctypes.c_uint64
_TRAMP = ctypes.CFUNCTYPE(_U64, ctypes.c_void_p, _U64, _U64, _U64, _U64, _U64, _U64, _U64, _U64)
_REPEAT = ctypes.CFUNCTYPE(_U64, ctypes.c_void_p, _U64, _U64, _U64, _U64, _U64)
_CALL = ctypes.CFUNCTYPE(_U64, ctypes.c_void_p, _U64, _U64, _U64, _U64, _U64, _U64)
_BATCH = ctypes.CFUNCTYPE(_U64, ctypes.c_void_p, ctypes.c_void_p, _U64, ctypes.c_void_p, _U64, _U64)
_UNMAPPED = (0, M64, 0, 0)
_EMPTY_LOW = (0, 1 << 32, 1 << 32, 1 << 32)


class _State(ctypes.Structure):
    _fields_ = [
        ("regions", ctypes.c_void_p),
        ("cap", ctypes.c_int64),
        ("budget", ctypes.c_int64),
        ("status", _U64),
        ("pc", _U64),
        ("addr", _U64),
        ("size", _U64),
        ("loops", _U64),
        ("retval", _U64),
        ("tramp", ctypes.c_void_p),
        ("gen", _U64),
        ("deopt", ctypes.c_void_p),
        ("done", _U64),
    ]


def _rows(base: int, starts: list[int]) -> array.array[int]:
    """The region-0 rows ``{delta, lo, hi, whi}`` of packets laid out at ``starts`` in a
    buffer whose host address is ``base + PACKET_BASE``."""
    n = len(starts) - 1
    rows = array.array("Q", bytes(32 * n))
    rows[0::4] = array.array("Q", [(base + at) & M64 for at in starts[:-1]])
    rows[1::4] = array.array("Q", [PACKET_BASE]) * n
    ends = array.array("Q", [PACKET_BASE + b - a for a, b in itertools.pairwise(starts)])
    rows[2::4] = ends
    rows[3::4] = ends
    return rows


class NativeMemory:
    """The native region table of one address space, and the state native code runs with."""

    def __init__(self, mem: AddressSpace) -> None:
        self.mem = mem
        self.state = _State()
        self.deopt = (_U64 * (DEOPT_WORDS * MAX_FRAMES))()
        self.state.deopt = ctypes.addressof(self.deopt)
        self._pins: dict[int, tuple[object, Any]] = {}
        self._cap = 0
        self._table: ctypes.Array[_U64] | None = None
        self._grow(max(64, len(mem.regions) + 1))
        for index in range(len(mem.regions)):
            self.sync(index)
        mem.observers.append(self.sync)

    def _grow(self, rows: int) -> None:
        table = (_U64 * (4 * rows))()
        if self._table is not None:
            ctypes.memmove(table, self._table, ctypes.sizeof(self._table))
        for row in range(self._cap, rows):
            table[4 * row : 4 * row + 4] = list(_UNMAPPED)
        self._table, self._cap = table, rows
        self.state.regions = ctypes.addressof(table)
        self.state.cap = rows - 1  # the last row stays unmapped: a clamp target

    def sync(self, index: int) -> None:
        """Copy region ``index`` of the address space into the native table (and make every
        window cached by native code stale)."""
        self.state.gen += 1
        if index >= self._cap - 1:
            self._grow(max(2 * self._cap, index + 2))
        region = self.mem.regions[index] if index < len(self.mem.regions) else None
        assert self._table is not None
        if region is None:
            self._pins.pop(index, None)
            # region 0's window is declared below 2**32 to LLVM: keep it so when empty
            self._table[4 * index : 4 * index + 4] = list(_UNMAPPED if index else _EMPTY_LOW)
            return
        pin = self._pins.get(index)
        if pin is None or pin[0] is not region.buf:
            view = (ctypes.c_char * len(region.buf)).from_buffer(region.buf)
            pin = self._pins[index] = (region.buf, view)
        host = ctypes.addressof(pin[1])
        row: list[ctypes.c_uint64 | int] = [
            (host - region.org) & M64,
            region.lo,
            region.hi,
            region.whi,
        ]
        self._table[4 * index : 4 * index + 4] = row


_host: tuple[str, str] | None = None


def _target_machine() -> Any:
    """A new host target machine (an MCJIT engine takes ownership of the one it gets)."""
    global _host  # noqa: PLW0603 - LLVM's native target is set up once per process
    if _host is None:
        llvm.initialize_native_target()
        llvm.initialize_native_asmprinter()
        # Loop strength reduction turns the budget counter of a loop into several offset
        # copies (three extra instructions per iteration); without it, one sub and a branch.
        llvm.set_option("", "-disable-lsr")
        # Keep branches off 32-byte boundaries: tight loops otherwise run at one of two
        # speeds depending on where the code lands (measured: sum_bytes 0.51 or 0.9 µs).
        llvm.set_option("", "-x86-align-branch-boundary=32")
        _host = (llvm.get_host_cpu_name(), llvm.get_host_cpu_features().flatten())
    target = llvm.Target.from_default_triple()
    return target.create_target_machine(cpu=_host[0], features=_host[1], opt=2, jit=True)


class CompileStats:
    """Where the time of the last compile went (milliseconds), for benchmarks."""

    ir_ms = 0.0
    optimize_ms = 0.0
    codegen_ms = 0.0
    cached = False


def _target_id(speed: int) -> str:
    assert _host is not None
    return "|".join(
        (llvm.__name__, str(llvm.llvm_version_info), llvm.get_process_triple(), *_host, f"O{speed}")
    )


def compile_ir(text: str, speed: int = 2, stats: CompileStats | None = None) -> Any:
    """An MCJIT engine holding the compiled module ``text``, optimized by LLVM's ``O<speed>``
    pipeline (O2: what the benchmarks were measured with; see docs/architecture.md).

    The machine code comes from the persistent cache (:mod:`pybpf.vm._jit_cache`) when the
    same IR was compiled for this host before, and goes into it otherwise.

    Raises:
        VMError: LLVM refused the IR (a bug of the code generator).
    """
    stats = stats or CompileStats()
    tm = _target_machine()
    key = _jit_cache.cache_key(text, _target_id(speed))
    obj = _jit_cache.load(key)
    start = time.perf_counter()
    if obj is not None:
        engine = llvm.create_mcjit_compiler(llvm.parse_assembly(""), tm)
        engine.add_object_file(llvm.ObjectFileRef.from_data(obj))
        engine.finalize_object()
        stats.cached, stats.optimize_ms = True, 0.0
        stats.codegen_ms = (time.perf_counter() - start) * 1e3
        return engine
    try:
        mod = llvm.parse_assembly(text)
        mod.verify()
    except RuntimeError as exc:
        raise VMError(f"JIT: LLVM refused the generated IR: {exc}") from exc
    pto = llvm.create_pipeline_tuning_options(speed_level=speed)
    pb = llvm.create_pass_builder(tm, pto)
    pb.getModulePassManager().run(mod, pb)
    optimized = time.perf_counter()
    engine = llvm.create_mcjit_compiler(mod, tm)
    made: list[bytes] = []
    engine.set_object_cache(lambda _mod, buf: made.append(bytes(buf)))
    engine.finalize_object()
    stats.cached = False
    stats.optimize_ms = (optimized - start) * 1e3
    stats.codegen_ms = (time.perf_counter() - optimized) * 1e3
    if made:
        _jit_cache.store(key, made[0])
    return engine


def native_memory(env: Env) -> NativeMemory:
    """The native view of ``env``'s address space (created once per VM)."""
    vm = env.machine
    found = getattr(vm, "_native", None)
    if found is None:
        found = NativeMemory(env.mem)
        vm._native = found  # type: ignore[attr-defined]
    assert isinstance(found, NativeMemory)
    return found


class JitRunner:
    """A program compiled to native code; the same interface as the other tiers, plus
    :meth:`run_repeat` (many runs in one native call)."""

    def __init__(self, code: Code, env: Env, memory_entry: bool = False) -> None:
        if code.endian != "<":
            from pybpf.errors import NotSupportedError  # noqa: PLC0415 - rare path

            raise NotSupportedError("the JIT for big-endian programs")
        self.code = code
        self.env = env
        self.native = native_memory(env)
        # One engine per program: the names need not be unique, and fixed names let the
        # same program hit the code cache in another process.
        self.name = "bpf"
        start = time.perf_counter()
        self.ir = generate_ir(code, self.name, memory_entry)
        self.stats = CompileStats()
        self.stats.ir_ms = (time.perf_counter() - start) * 1e3
        self.engine = compile_ir(self.ir, stats=self.stats)
        self.compile_seconds = time.perf_counter() - start
        self._tramp = _TRAMP(self._trampoline)
        self._repeat = _REPEAT(self.engine.get_function_address(f"{self.name}_repeat"))
        self.memory_entry = memory_entry
        exported = [e for e in code.entries if e or not memory_entry]
        self._calls = {
            e: _CALL(self.engine.get_function_address(f"{self.name}_call{e}")) for e in exported
        }
        self._fast: Any = None
        self._interp: Interpreter | None = None
        self._batch = (
            _BATCH(self.engine.get_function_address(f"{self.name}_batch")) if memory_entry else None
        )
        self._pending: BaseException | None = None
        self.cur = 0

    # -- running ---------------------------------------------------------------------------------
    def _enter(self) -> _State:
        st = self.native.state
        st.tramp = ctypes.cast(self._tramp, ctypes.c_void_p).value
        st.budget = self.env.budget
        st.loops = self.env.loops
        st.status = 0
        return st

    def _leave(self, st: _State, result: int, base: int = 0) -> int:
        self.env.budget = st.budget
        self.env.loops = st.loops
        if st.status == ST_DEOPT:
            return self._resume(st, base)
        if st.status:
            raise self._error(st)
        return result

    def _resume(self, st: _State, base: int) -> int:
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
        st = self._enter()
        outer = self.cur
        try:
            result = self._repeat(ctypes.addressof(st), r1 & M64, r2 & M64, 1, st.budget, st.loops)
            return self._leave(st, result)
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
        return int(fn(*args, depth))

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
            st = self._enter()
            result = self._repeat(ctypes.addressof(st), r1 & M64, r2 & M64, n, full, loops)
            if st.status != ST_DEOPT:
                return self._leave(st, result)
            done = int(st.done)
            result = self._leave(st, result)  # the stopped run, finished by the interpreter
            n -= done + 1
            self.env.budget, self.env.loops = full, loops
        return result

    def run_batch(self, packets: list[bytes], data: bool = False) -> tuple[list[int], list[bytes]]:
        """Run once per packet in one native call (memory entry: r1 = the packet, r2 = its
        length); returns each run's r0 and, with ``data``, each packet as the program left it.

        Raises:
            VMError: a run failed; the error names the packet (``index`` attribute).
        """
        if self._batch is None:
            raise VMError("native batches over packets need a memory entry program")
        buf = bytearray(b"".join(packets) or b"\0")
        starts = list(itertools.accumulate((len(p) for p in packets), initial=0))
        out = array.array("Q", bytes(8 * max(len(packets), 1)))
        st = self._enter()
        pin = (ctypes.c_char * len(buf)).from_buffer(buf)
        try:
            rows = _rows(ctypes.addressof(pin) - PACKET_BASE, starts)
            done = self._batch(
                ctypes.addressof(st), rows.buffer_info()[0], len(packets),
                out.buffer_info()[0], self.env.budget, self.env.loops,
            )  # fmt: skip
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
        st: _State,
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
        st = self.native.state
        st.budget = self.env.budget
        outer = self.cur
        below = (outer if depth is None else depth) + 1
        try:
            result = fn(ctypes.addressof(st), r1 & M64, r2 & M64, r3, r4, r5, below)
        finally:
            self.cur = outer
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
    def _error(self, st: _State, status: int | None = None) -> BaseException:
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
