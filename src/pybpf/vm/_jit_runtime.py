"""The JIT's native side: the region table native code reads VM memory through, and the
LLVM compile (llvmlite; with the persistent code cache). Imported lazily, with ctypes.

Native code reaches VM memory through a table of region rows kept in step with the
:class:`~pybpf.vm.memory.AddressSpace` (an observer re-pins a region's buffer whenever it
changes).

A compile is LLVM's IR parser and code generation, with the loop unroller in between for
a program that loops (see docs/architecture.md for what was measured): the IR comes in
SSA form with constants folded and bounds checks decided, and LLVM's optimisation
pipelines cost several times the rest. What every program shares (the entry loop, the
out-of-line paths) is one runtime module, compiled once per process: each function of a
program's module costs code generation time. Functions are named ``bpf_*`` in every module
(one engine per program), so the IR, and the cache key, depend only on the program.
"""

from __future__ import annotations

import array
import ctypes
import hashlib
import itertools
import time
from typing import Any

import llvmlite.binding as llvm  # type: ignore[import-untyped]

from pybpf.errors import VMError
from pybpf.vm import _jit_cache
from pybpf.vm._alu import M64
from pybpf.vm._jit_module import runtime_ir
from pybpf.vm._jit_text import DEOPT_WORDS
from pybpf.vm.env import Env
from pybpf.vm.memory import MAX_FRAMES, PACKET_BASE, AddressSpace

__all__ = [
    "LOOP_PASSES",
    "PASSES",
    "CompileStats",
    "NativeMemory",
    "NativeState",
    "compile_ir",
    "entry_loop",
    "load_runtime",
    "native_memory",
    "packet_rows",
]

_U64 = ctypes.c_uint64
_UNMAPPED = (0, M64, 0, 0)
_EMPTY_LOW = (0, 1 << 32, 1 << 32, 1 << 32)


class NativeState(ctypes.Structure):
    """The state native code runs with (its layout: :mod:`pybpf.vm._jit_text`)."""

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


def packet_rows(base: int, starts: list[int]) -> array.array[int]:
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
        self.state = NativeState()
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
            region.hi if region.writable else region.whi,  # frames are zeroed natively
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
        # copies (extra instructions per iteration; sum_bytes 0.61 against 0.57 us). Only
        # options that change nothing but code quality are set here: they hold for every
        # llvmlite user of the process (an alignment of functions, say, would pad BPF
        # objects with bytes that are no instructions).
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


PASSES: tuple[str, ...] = ()
"""LLVM's passes for a program: none, only code generation. The IR comes in SSA form with
constants folded and bounds checks decided (:mod:`pybpf.vm._jit_ir`)."""
LOOP_PASSES = ("loop_unroll", "simplify_cfg")
"""The passes of a program that loops: unrolled, a loop runs its loop control several
iterations at a time (sum_bytes 0.82 -> 0.48 us), and simplify_cfg tidies the copies
(less to generate code for)."""


def _target_id(passes: tuple[str, ...]) -> str:
    """What compiled code depends on besides its IR: LLVM, the host, the passes, and the
    runtime it links with (a program's code calls into it)."""
    assert _host is not None
    runtime = hashlib.sha256(runtime_ir().encode()).hexdigest()[:16]
    return "|".join(
        (llvm.__name__, str(llvm.llvm_version_info), llvm.get_process_triple(), *_host, *passes,
         runtime)
    )  # fmt: skip


def compile_ir(
    text: str, passes: tuple[str, ...] = PASSES, stats: CompileStats | None = None
) -> Any:
    """An MCJIT engine holding the compiled module ``text``, after the module passes
    ``passes`` (``ModulePassManager.add_<name>_pass``; see docs/architecture.md).

    The machine code comes from the persistent cache (:mod:`pybpf.vm._jit_cache`) when the
    same IR was compiled for this host before, and goes into it otherwise.

    Raises:
        VMError: LLVM refused the IR (a bug of the code generator).
    """
    stats = stats or CompileStats()
    tm = _target_machine()
    key = _jit_cache.cache_key(text, _target_id(passes))
    obj = _jit_cache.load(key)
    start = time.perf_counter()
    if obj is not None:
        engine = _from_object(obj, tm)
        stats.cached, stats.optimize_ms = True, 0.0
        stats.codegen_ms = (time.perf_counter() - start) * 1e3
        return engine
    try:
        mod = llvm.parse_assembly(text)
        mod.verify()
    except RuntimeError as exc:
        raise VMError(f"JIT: LLVM refused the generated IR: {exc}") from exc
    if passes:
        pb = llvm.create_pass_builder(tm, llvm.create_pipeline_tuning_options())
        mpm = llvm.create_new_module_pass_manager()
        for name in passes:
            getattr(mpm, f"add_{name}_pass")()
        mpm.run(mod, pb)
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


def _from_object(obj: bytes, tm: Any) -> Any:
    """An engine holding the compiled object ``obj`` (from the code cache)."""
    engine = llvm.create_mcjit_compiler(llvm.parse_assembly(""), tm)
    engine.add_object_file(llvm.ObjectFileRef.from_data(obj))
    engine.finalize_object()
    return engine


_runtime: Any = None


def load_runtime() -> None:
    """Compile the paths every program calls out of line (once per process) and make their
    names known to the code LLVM links (:func:`pybpf.vm._jit_module.runtime_ir`)."""
    global _runtime  # noqa: PLW0603 - one runtime per process, kept alive with it
    if _runtime is None:
        engine = compile_ir(runtime_ir(), ())
        for name in ("pybpf_jit_cold", "pybpf_jit_slow"):
            llvm.add_symbol(name, engine.get_function_address(name))
        _runtime = engine


def entry_loop() -> int:
    """The address of the runtime's ``@pybpf_jit_run`` (see :func:`load_runtime`)."""
    load_runtime()
    return int(_runtime.get_function_address("pybpf_jit_run"))


def native_memory(env: Env) -> NativeMemory:
    """The native view of ``env``'s address space (created once per VM)."""
    vm = env.machine
    found = getattr(vm, "_native", None)
    if found is None:
        found = NativeMemory(env.mem)
        vm._native = found  # type: ignore[attr-defined]
    assert isinstance(found, NativeMemory)
    return found
