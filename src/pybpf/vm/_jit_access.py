"""Memory accesses in the JIT's IR: bounds checks, the facts that make them unnecessary,
atomics, inlined array lookups. Pure: no llvmlite.

An access of ``size`` bytes at ``a = base + c`` takes the first of these shapes that fits:

- ``r10 + c``: r10 never changes (the verifier refuses writes to it), so the check is done
  here, once, and the host address is ``stackhost + 512 + c``.
- ``a`` is known to lie in ``[lo, 2**32)`` of region 0 (a memory entry's data starts at a
  constant; ``base`` is a constant, or below a bound): only the top is checked, and not at
  all if the program's own branch showed ``base + c1 <=u data_end`` for a ``c1`` that
  covers the access. Otherwise the check joins the one at the block's start (one
  comparison per base, against the furthest end), or, after a call in the block (which may
  move the window), is made in place, failing to a fault.
- ``base`` is a pointer the program compares with ``data_end``: the block's start check
  takes in the span of offsets it is used at (``base + low - lo <u room``).
- otherwise ``a - lo <u room`` inline (``room``: how many starts fit the window), else
  ``@pybpf_jit_slow``, which keeps a per-site cache of the last window it found (a
  diamond: the two ways meet again with a host address).

When a block's start check fails, the whole block runs in the interpreter, which faults at
the exact access (or does not, if the pointer was another region's after all).

Facts come from the not-taken (and, into a block with no other predecessor, the taken)
side of 64-bit unsigned conditional jumps: ``x <=u data_end`` (or ``<``) where ``data_end``
is the window's top as loaded, and ``base <u k`` for a constant ``k``; a join keeps the
facts all its edges bring, and a phi of constants is below the largest plus one. The
argument that they suffice: with ``a = base + c2`` proven in ``[lo, 2**32)``, and
``base + c1 <=u hi`` known with ``c1 - c2`` small and at least ``size``, ``base + c1``
cannot have wrapped (it is ``a`` plus a small number), so ``a + size <= base + c1 <= hi``.
"""

from __future__ import annotations

from pybpf.asm.instruction import Instruction
from pybpf.asm.opcodes import AtomicOp, CallKind, JmpOp, Kind, Op, Source
from pybpf.vm._alu import M64, sx
from pybpf.vm._code import Code
from pybpf.vm._jit_text import COLD_FAULT, IRWriter, State, Val, lit
from pybpf.vm.helpers.maps import map_lookup_elem as _LOOKUP
from pybpf.vm.memory import PACKET_BASE, STACK_SIZE

__all__ = ["Accesses"]

_LOW_TOP = 1 << 32  # region 0 ends here
_NEAR = 1 << 62  # offsets closer than this cannot wrap around between two addresses

# (relation when taken, relation when not): ("le" | "lt", x, y) with x, y 0 = dst, 1 = src
_RELATIONS: dict[int, tuple[tuple[str, int, int], tuple[str, int, int]]] = {
    JmpOp.JGT: (("lt", 1, 0), ("le", 0, 1)),
    JmpOp.JGE: (("le", 1, 0), ("lt", 0, 1)),
    JmpOp.JLT: (("lt", 0, 1), ("le", 1, 0)),
    JmpOp.JLE: (("le", 0, 1), ("lt", 1, 0)),
}


class Accesses(IRWriter):
    """Memory access and facts for :class:`pybpf.vm._jit_ir.FunctionIR`."""

    code: Code
    hoist: dict[tuple[str | None, bool], int]  # (base, write) -> end: only the top to check
    spans: dict[tuple[str | None, bool], tuple[int, int]]  # (base, write) -> offsets used
    hoisting: bool
    first: int  # the last value number before the block being written

    # -- facts ----------------------------------------------------------------------------------
    def learn(self, insn: Instruction, op: Op, state: State, taken: bool) -> None:
        """Add what a 64-bit unsigned jump establishes on one side to ``state``."""
        rel = _RELATIONS.get(op.code & 0xF0)
        if rel is None or op.width != 64:
            return
        b: Val = state.regs[insn.src] if op.code & Source.X else (None, insn.imm & M64)
        pair = (state.regs[insn.dst], b)
        kind, xi, yi = rel[0] if taken else rel[1]
        (xb, xc), (yb, yc) = pair[xi], pair[yi]
        if yb == state.win[1] and yc == 0:  # x <= data_end (x < data_end: x + 1 <= it)
            c = (xc + (kind == "lt")) & M64
            old = state.fits.get(xb)
            if old is None or (c - old) & M64 < _NEAR:
                state.fits[xb] = c
        elif yb is None and xb is not None and xc == 0:
            k = yc + (kind == "le")
            if k < _NEAR and k < state.below.get(xb, _NEAR):
                state.below[xb] = k

    def _proven_low(self, v: Val, state: State) -> bool:
        """Whether ``v`` is known to lie in ``[lo, 2**32)`` of region 0."""
        if not self.opts.memory_entry:
            return False
        base, c = v
        if base is None:
            return PACKET_BASE <= c < _LOW_TOP
        k = state.below.get(base)
        return k is not None and c >= PACKET_BASE and c + k <= _LOW_TOP

    def _proven_high(self, v: Val, size: int, write: bool, state: State) -> bool:
        """Whether the program's own branches show ``v + size <= data_end`` (given
        :meth:`_proven_low`)."""
        if write and state.win[2] != state.win[1]:
            return False
        c1 = state.fits.get(v[0])
        return c1 is not None and size <= (c1 - v[1]) & M64 < _NEAR

    # -- checks ---------------------------------------------------------------------------------
    def pointer(  # noqa: PLR0917 - an access's parts
        self, pc: int, reg: int, off: int, size: int, write: bool, state: State
    ) -> str:
        """The host pointer of ``size`` bytes at ``reg + off``, checked."""
        base, c = state.regs[reg]
        v: Val = (base, (c + off) & M64)
        if base == self.r10:
            return self._stack(pc, v, size, write)
        return self.op(f"inttoptr i64 {self._checked(pc, v, size, write, state)} to ptr")

    def _stack(self, pc: int, v: Val, size: int, write: bool) -> str:
        k = sx(v[1], 64)
        if -STACK_SIZE <= k <= -size:
            host = self.op(f"add i64 %stackhost, {STACK_SIZE + k}")
            return self.op(f"inttoptr i64 {host} to ptr")
        self._fault(pc, self.operand(v), size, write)  # always outside the frame
        self.label(f"dead{self.n}")
        return "null"

    def _fault(self, pc: int, addr: str, size: int, write: bool) -> None:
        self.cold(COLD_FAULT + (size | (int(write) << 8)), pc, addr, None)
        self.ret("0")

    def _checked(self, pc: int, v: Val, size: int, write: bool, state: State) -> str:
        """The host address (an i64) of ``size`` bytes at ``v``; see the module docstring."""
        _, hi, whi, delta = state.win
        top = whi if write else hi
        a = self.operand(v, state)
        early = self.hoisting and self.available(v[0])
        if self._proven_low(v, state):
            if self._proven_high(v, size, write, state):
                pass
            elif early:
                key = (v[0], write)
                self.hoist[key] = max(self.hoist.get(key, 0), v[1] + size)
            else:
                end = lit(v[1] + size) if v[0] is None else self.op(f"add i64 {a}, {size}")
                fits = self.op(f"icmp ule i64 {end}, {top}")
                k = self.n
                self.emit(f"br i1 {fits}, label %in{k}, label %out{k}, !prof !6")
                self.label(f"out{k}")
                self._fault(pc, a, size, write)
                self.label(f"in{k}")
            return self.op(f"add i64 {delta}, {a}")
        if early and v[0] in state.fits:  # a pointer the program checks against data_end
            low, high = self.spans.get((v[0], write), (v[1], v[1] + size))
            self.spans[(v[0], write)] = (min(low, v[1]), max(high, v[1] + size))
            return self.op(f"add i64 {delta}, {a}")
        return self._either(pc, v, size, write, state)

    def _either(self, pc: int, v: Val, size: int, write: bool, state: State) -> str:
        """The packet window inline, anything else out of line (``@pybpf_jit_slow``)."""
        a, delta = self.operand(v, state), state.win[3]
        top = state.win[2] if write else state.win[1]
        inside = self.op(f"icmp ult i64 {self.offset(v, state)}, {self.room(size, top, state)}")
        k = self.n
        self.emit(f"br i1 {inside}, label %pkt{k}, label %other{k}, !prof !6")
        self.label(f"pkt{k}")
        host = self.op(f"add i64 {delta}, {a}")
        self.emit(f"br label %acc{k}")
        self.label(f"other{k}")
        site = self.sites[0]
        self.sites[0] += 1
        info = size | (int(write) << 8)
        cache = f"getelementptr ([0 x [4 x i64]], ptr @{self.prefix}cache, i64 0, i64 {site})"
        args = f"ptr %st, i64 {a}, i64 {info}, i64 {pc}, ptr {cache}"
        slow = self.op(f"call i64 @pybpf_jit_slow({args})")
        failed = self.op(f"icmp eq i64 {slow}, 0")
        self.emit(f"br i1 {failed}, label %bail, label %acc{k}, !prof !5")
        self.label(f"acc{k}")
        return self.op(f"phi i64 [ {host}, %pkt{k} ], [ {slow}, %other{k} ]")

    def available(self, base: str | None) -> bool:
        """Whether ``base`` is defined before the block being written starts."""
        if base is None or not base.startswith("%v"):
            return True
        return int(base[2:]) <= self.first

    def offset(self, v: Val, state: State) -> str:
        """``v`` less the window's start (folded when that is a constant)."""
        lo = state.win[0]
        if lo.isdigit():
            return self.operand((v[0], (v[1] - int(lo)) & M64), state)
        return self.op(f"sub i64 {self.operand(v, state)}, {lo}")

    def block_checks(self, entry: State) -> list[str]:
        """The conditions of the accesses left to the block's start check (their bases
        are defined before the block): each is one comparison."""
        checks = [
            self.op(f"icmp ule i64 {self.operand((base, end))}, {entry.win[2 if write else 1]}")
            for (base, write), end in self.hoist.items()
        ]
        for (base, write), (low, high) in self.spans.items():
            room = self.room(high - low, entry.win[2 if write else 1], entry)
            checks.append(self.op(f"icmp ult i64 {self.offset((base, low), entry)}, {room}"))
        return checks

    def room(self, size: int, top: str, state: State) -> str:
        """How many addresses an access of ``size`` bytes may start at in the window."""
        key = ("room", size, top, state.win[0])
        found = state.made.get(key)
        if found is None:
            span = state.made.get(("span", top))
            if span is None:
                span = state.made[("span", top)] = self.op(f"sub i64 {top}, {state.win[0]}")
            found = span
            if size > 1:
                found = self.op(f"call i64 @llvm.usub.sat.i64(i64 {span}, i64 {size - 1})")
            state.made[key] = found
        return found

    # -- instructions ---------------------------------------------------------------------------
    def load(self, pc: int, insn: Instruction, op: Op, state: State) -> None:
        bits = op.width
        ptr = self.pointer(pc, insn.src, insn.off, bits // 8, False, state)
        v = self.op(f"load i{bits}, ptr {ptr}, align 1, !tbaa !4")
        if bits < 64:
            v = self.op(f"{'sext' if op.signed else 'zext'} i{bits} {v} to i64")
        state.regs[insn.dst] = (v, 0)

    def store(self, pc: int, insn: Instruction, op: Op, state: State) -> None:
        bits = op.width
        ptr = self.pointer(pc, insn.dst, insn.off, bits // 8, True, state)
        if op.kind is Kind.ST:
            value = str(sx(insn.imm, bits))
        else:
            value = self.reg(state, insn.src)
            if bits < 64:
                value = self.op(f"trunc i64 {value} to i{bits}")
        self.emit(f"store i{bits} {value}, ptr {ptr}, align 1, !tbaa !4")

    def atomic(self, pc: int, insn: Instruction, op: Op, state: State) -> None:
        bits, aop, ty = op.width, insn.imm, f"i{op.width}"
        if aop == AtomicOp.LOAD_ACQ:
            ptr = self.pointer(pc, insn.src, insn.off, bits // 8, False, state)
            v = self.op(f"load atomic {ty}, ptr {ptr} acquire, align {bits // 8}, !tbaa !4")
            state.regs[insn.dst] = (v if bits == 64 else self.op(f"zext {ty} {v} to i64"), 0)
            return
        ptr = self.pointer(pc, insn.dst, insn.off, bits // 8, True, state)
        src = self.reg(state, insn.src)
        val = src if bits == 64 else self.op(f"trunc i64 {src} to {ty}")
        if aop == AtomicOp.STORE_REL:
            self.emit(f"store atomic {ty} {val}, ptr {ptr} release, align {bits // 8}, !tbaa !4")
            return
        if aop == AtomicOp.CMPXCHG:
            r0 = self.reg(state, 0)
            exp = r0 if bits == 64 else self.op(f"trunc i64 {r0} to {ty}")
            pair = self.op(f"cmpxchg ptr {ptr}, {ty} {exp}, {ty} {val} seq_cst seq_cst")
            old = self.op(f"extractvalue {{ {ty}, i1 }} {pair}, 0")
            state.regs[0] = (old if bits == 64 else self.op(f"zext {ty} {old} to i64"), 0)
            return
        names: dict[int, str] = {0x00: "add", 0x40: "or", 0x50: "and", 0xA0: "xor", 0xE0: "xchg"}
        old = self.op(f"atomicrmw {names[aop & ~1]} ptr {ptr}, {ty} {val} seq_cst, !tbaa !4")
        if aop & 1:
            state.regs[insn.src] = (old if bits == 64 else self.op(f"zext {ty} {old} to i64"), 0)

    def inline_lookup(self, pc: int, insn: Instruction, op: Op, state: State) -> bool:
        """Inline ``bpf_map_lookup_elem`` of an array whose values are one region (as the
        kernel's ``map_gen_lookup``): ``r0 = key < n ? value0 + key * stride : 0``."""
        if op.kind is not Kind.CALL or insn.src != CallKind.HELPER or insn.imm != 1:
            return False
        if self.code.helper_ids.get(pc) != 1 or self.code.helpers.get(pc) is not _LOOKUP:
            return False
        handle = state.regs[1]
        direct = self.code.direct_maps.get(handle[1]) if handle[0] is None else None
        if direct is None:
            return False
        base, stride, entries = direct
        ptr = self.pointer(pc, 2, 0, 4, False, state)
        key = self.op(f"zext i32 {self.op(f'load i32, ptr {ptr}, align 1, !tbaa !4')} to i64")
        inside = self.op(f"icmp ult i64 {key}, {entries}")
        value = self.op(f"add i64 {self.op(f'mul i64 {key}, {stride}')}, {base}")
        state.regs[0] = (self.op(f"select i1 {inside}, i64 {value}, i64 0"), 0)
        return True
