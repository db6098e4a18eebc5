"""What the JIT's IR writer is made of: the native state's layout, the values it tracks per
register, and the primitives that write IR text. Pure: no llvmlite."""

from __future__ import annotations

from dataclasses import dataclass

from pybpf.vm._alu import M64

__all__ = [
    "DEOPT_WORDS",
    "SITE_CALLX",
    "SITE_HELPER",
    "SITE_LDABS",
    "ST_BADCALL",
    "ST_DEOPT",
    "ST_DEPTH",
    "ST_FAULT",
    "ST_PYERR",
    "ST_UNWIND",
    "IRWriter",
    "Options",
    "State",
    "Val",
    "lit",
]

# state fields (i64 index) and status values
F_REGIONS, F_CAP, F_BUDGET, F_STATUS, F_PC, F_ADDR, F_SIZE, F_LOOPS, F_RETVAL, F_TRAMP = range(10)
F_GEN, F_DEOPT, F_DONE = 10, 11, 12
ST_FAULT, ST_PYERR, ST_UNWIND, ST_DEPTH, ST_BADCALL, ST_DEOPT = 1, 3, 4, 5, 6, 7
DEOPT_WORDS = 12  # a saved frame: pc, r0 ... r10
SITE_HELPER, SITE_CALLX, SITE_LDABS = 0, 1, 2
COLD_STOP, COLD_AFTER, COLD_FAULT = 0, 1, 2  # what @cold does (a fault adds its size info)

Val = tuple[str | None, int]
"""A register's value: (SSA base or ``None`` for a constant, the constant added to it,
modulo 2**64)."""


def lit(value: int) -> str:
    """An unsigned 64-bit number as an IR literal (i64 constants are signed)."""
    value &= M64
    return str(value - (1 << 64) if value >> 63 else value)


@dataclass(slots=True)
class State:
    """What the writer knows at a point of a block: the registers, the budget left, the
    packet window and the facts that hold there."""

    regs: list[Val]
    left: str  # instructions the run may still execute (less ``spent``)
    win: tuple[str, str, str, str]  # the packet window: lo, hi, whi, delta
    below: dict[str, int]  # base -> k: the base is below k (unsigned)
    fits: dict[str | None, int]  # base -> c: base + c <=u the window's hi
    made: dict[tuple[object, ...], str]  # values computed already (they dominate here)
    spent: int = 0  # instructions run since ``left`` was computed

    def copy(self) -> State:
        """A copy to go on with along one edge."""
        return State(
            list(self.regs), self.left, self.win, dict(self.below), dict(self.fits),
            dict(self.made), self.spent,
        )  # fmt: skip


@dataclass(frozen=True, slots=True)
class Options:
    """How a module is specialised: the prefix of its names, whether runs start with a
    memory entry (function 0 then also becomes ``main``: r1 = the packet, r2 = its length,
    from the region table) and whether that packet is writable."""

    prefix: str
    memory_entry: bool = False
    writable: bool = True


class IRWriter:
    """Writes the IR text of one function into ``out``, naming values as it goes."""

    def __init__(self, opts: Options, sites: list[int]) -> None:
        self.opts = opts
        self.prefix = opts.prefix
        self.sites = sites  # [next access site number], shared by the module's functions
        self.n = 0
        self.cur = "entry"  # the label of the block being written
        self.out: list[str] = []
        self.r10 = "%r10"

    def ret(self, value: str) -> None:
        """Return ``value`` from the function."""
        self.emit(f"ret i64 {value}")

    def t(self) -> str:
        """A new value name."""
        self.n += 1
        return f"%v{self.n}"

    def emit(self, text: str) -> None:
        self.out.append("  " + text)

    def label(self, name: str) -> None:
        self.out.append(f"{name}:")
        self.cur = name

    def op(self, text: str) -> str:
        """Write ``%new = text``; returns ``%new``."""
        v = self.t()
        self.out.append(f"  {v} = {text}")
        return v

    def field(self, index: int) -> str:
        return self.op(f"getelementptr i64, ptr %st, i64 {index}")

    def load_field(self, index: int) -> str:
        return self.op(f"load i64, ptr {self.field(index)}, !tbaa !2")

    def store_field(self, index: int, value: str) -> None:
        self.emit(f"store i64 {value}, ptr {self.field(index)}, !tbaa !2")

    def operand(self, v: Val, state: State | None = None) -> str:
        """``v`` as an IR operand; with ``state``, an addition is kept there for reuse
        (leave it out in a cold path: what it computes there dominates nothing else)."""
        base, off = v
        if base is None:
            return lit(off)
        if not off:
            return base
        if state is not None:
            found = state.made.get(v)
            if found is None:
                found = state.made[v] = self.op(f"add i64 {base}, {lit(off)}")
            return found
        return self.op(f"add i64 {base}, {lit(off)}")

    def reg(self, state: State, r: int) -> str:
        return self.operand(state.regs[r], state)

    def cold(self, what: int, pc: int, x: str, state: State | None = None, live: int = 0) -> str:
        """Call ``@pybpf_jit_cold`` (see :mod:`pybpf.vm._jit_module`); returns what the
        frame must return. With ``state``, the registers in ``live`` (bit ``r``) and r10
        are first written to this frame's place in the deopt area, where the interpreter
        takes them from if the frame stops (the others are dead: never read again)."""
        if state is not None:
            area = self.op(f"load ptr, ptr {self.field(F_DEOPT)}, !tbaa !2")
            frame = self.op(f"getelementptr [{DEOPT_WORDS} x i64], ptr {area}, i64 %depth")
            for r in range(11):
                if live >> r & 1 or r == 10:
                    at = self.op(f"getelementptr i64, ptr {frame}, i64 {r + 1}")
                    self.emit(f"store i64 {self.operand(state.regs[r])}, ptr {at}")
        args = f"ptr %st, i64 {what}, i64 %depth, i64 {pc}, i64 {x}"
        return self.op(f"call i64 @pybpf_jit_cold({args})")
