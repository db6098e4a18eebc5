"""Arithmetic and comparisons in the JIT's IR: ALU instructions, with constants folded
as the interpreter computes them, and the conditions of jumps. Pure: no llvmlite.

An ALU operation on registers whose values are known constants emits nothing (the
result is a constant too); a 64-bit add or subtract of a constant only moves the value's
offset (see :mod:`pybpf.vm._jit_ir`). Division keeps Linux's semantics: division by zero
gives 0, modulo by zero leaves the dividend, ``INT_MIN / -1`` wraps (LLVM's ``sdiv`` would
be undefined there, so 0 and -1 are handled apart).
"""

from __future__ import annotations

from pybpf.asm.instruction import Instruction
from pybpf.asm.opcodes import AluOp, JmpOp, Op, Source
from pybpf.vm._alu import M32, M64, alu, bswap, cond, sx
from pybpf.vm._jit_text import IRWriter, State, Val

__all__ = ["Arithmetic"]

_COND: dict[int, str] = {
    JmpOp.JEQ: "eq",
    JmpOp.JNE: "ne",
    JmpOp.JGT: "ugt",
    JmpOp.JGE: "uge",
    JmpOp.JLT: "ult",
    JmpOp.JLE: "ule",
    JmpOp.JSGT: "sgt",
    JmpOp.JSGE: "sge",
    JmpOp.JSLT: "slt",
    JmpOp.JSLE: "sle",
}
_BINARY: dict[int, str] = {
    AluOp.ADD: "add",
    AluOp.SUB: "sub",
    AluOp.MUL: "mul",
    AluOp.OR: "or",
    AluOp.AND: "and",
    AluOp.XOR: "xor",
    AluOp.LSH: "shl",
    AluOp.RSH: "lshr",
    AluOp.ARSH: "ashr",
}


class Arithmetic(IRWriter):
    """ALU instructions and jump conditions for :class:`pybpf.vm._jit_ir.FunctionIR`."""

    endian: str

    def alu(self, insn: Instruction, op: Op, state: State) -> None:
        aop, w, regs = op.code & 0xF0, op.width, state.regs
        b: Val = regs[insn.src] if op.code & Source.X else (None, insn.imm & M64)
        a = regs[insn.dst]
        if aop == AluOp.MOV:
            if w == 32:
                low = b[1] & M32
                b = (None, low) if b[0] is None else (self._zext32(self.operand(b, state)), 0)
            regs[insn.dst] = b
            return
        if a[0] is None and b[0] is None:  # both constant: fold
            regs[insn.dst] = (None, alu(aop, op.signed, a[1], b[1], w))
            return
        if w == 64 and aop in (AluOp.ADD, AluOp.SUB) and (a[0] is None or b[0] is None):
            sign = 1 if aop == AluOp.ADD else -1
            if b[0] is None:
                regs[insn.dst] = (a[0], (a[1] + sign * b[1]) & M64)
                return
            if aop == AluOp.ADD:
                regs[insn.dst] = (b[0], (b[1] + a[1]) & M64)
                return
        x, y = self.operand(a, state), self.operand(b, state)
        if w == 32:
            x = self.op(f"trunc i64 {x} to i32")
            y = self.op(f"trunc i64 {y} to i32") if b[0] is not None else str(sx(b[1], 32))
        res = self._binary(aop, op.signed, x, y, w)
        regs[insn.dst] = (res if w == 64 else self._zext(res, 32), 0)

    def _zext32(self, x: str) -> str:
        return self.op(f"and i64 {x}, {M32}")

    def _zext(self, x: str, bits: int) -> str:
        return self.op(f"zext i{bits} {x} to i64")

    def _binary(self, aop: int, signed: bool, a: str, b: str, w: int) -> str:
        ty = f"i{w}"
        if aop in _BINARY:
            if aop in (AluOp.LSH, AluOp.RSH, AluOp.ARSH):
                known = b.lstrip("-").isdigit()
                b = str(int(b) & (w - 1)) if known else self.op(f"and {ty} {b}, {w - 1}")
            return self.op(f"{_BINARY[aop]} {ty} {a}, {b}")
        zero = self.op(f"icmp eq {ty} {b}, 0")
        if not signed:
            safe = self.op(f"select i1 {zero}, {ty} 1, {ty} {b}")
            if aop == AluOp.DIV:
                q = self.op(f"udiv {ty} {a}, {safe}")
                return self.op(f"select i1 {zero}, {ty} 0, {ty} {q}")
            r = self.op(f"urem {ty} {a}, {safe}")
            return self.op(f"select i1 {zero}, {ty} {a}, {ty} {r}")
        # signed: b == 0 and b == -1 are handled apart (INT_MIN / -1 is UB in LLVM)
        neg1 = self.op(f"icmp eq {ty} {b}, -1")
        odd = self.op(f"or i1 {zero}, {neg1}")
        safe = self.op(f"select i1 {odd}, {ty} 1, {ty} {b}")
        if aop == AluOp.DIV:
            q = self.op(f"sdiv {ty} {a}, {safe}")
            minus = self.op(f"sub {ty} 0, {a}")
            alt = self.op(f"select i1 {zero}, {ty} 0, {ty} {minus}")
            return self.op(f"select i1 {odd}, {ty} {alt}, {ty} {q}")
        r = self.op(f"srem {ty} {a}, {safe}")
        alt = self.op(f"select i1 {zero}, {ty} {a}, {ty} 0")
        return self.op(f"select i1 {odd}, {ty} {alt}, {ty} {r}")

    def unary(self, insn: Instruction, op: Op, state: State, what: str) -> None:
        """``neg``, ``movsx`` and ``end``/``bswap`` (folded when the operand is known)."""
        src = insn.src if what == "movsx" else insn.dst
        v = state.regs[src]
        if v[0] is None:
            state.regs[insn.dst] = (None, _fold_unary(insn, op, what, v[1], self.endian))
            return
        x = self.operand(v, state)
        if what == "neg":
            w = op.width
            if w == 32:
                x = self.op(f"trunc i64 {x} to i32")
            res = self.op(f"sub i{w} 0, {x}")
            state.regs[insn.dst] = (res if w == 64 else self._zext(res, 32), 0)
        elif what == "movsx":
            narrow = self.op(f"trunc i64 {x} to i{insn.off}")
            wide = self.op(f"sext i{insn.off} {narrow} to i{op.width}")
            state.regs[insn.dst] = (wide if op.width == 64 else self._zext(wide, 32), 0)
        else:
            state.regs[insn.dst] = (self._end(x, op), 0)

    def _end(self, x: str, op: Op) -> str:
        bits = op.width
        swap = op.name.startswith("ALU64.BSWAP") or op.name.startswith("ALU.TO_BE")
        if bits == 64:
            return self.op(f"call i64 @llvm.bswap.i64(i64 {x})") if swap else x
        narrow = self.op(f"trunc i64 {x} to i{bits}")
        if swap:
            narrow = self.op(f"call i{bits} @llvm.bswap.i{bits}(i{bits} {narrow})")
        return self._zext(narrow, bits)

    def condition(self, insn: Instruction, op: Op, state: State) -> str:
        jop = op.code & 0xF0
        a = state.regs[insn.dst]
        b: Val = state.regs[insn.src] if op.code & Source.X else (None, insn.imm & M64)
        if a[0] is None and b[0] is None:
            return "true" if cond(jop, a[1], b[1], op.width) else "false"
        x, y, ty = self.operand(a, state), self.operand(b, state), "i64"
        if op.width == 32:
            ty = "i32"
            x = self.op(f"trunc i64 {x} to i32")
            y = self.op(f"trunc i64 {y} to i32") if b[0] is not None else str(sx(b[1], 32))
        if jop == JmpOp.JSET:
            return self.op(f"icmp ne {ty} {self.op(f'and {ty} {x}, {y}')}, 0")
        return self.op(f"icmp {_COND[jop]} {ty} {x}, {y}")


def _fold_unary(insn: Instruction, op: Op, what: str, v: int, endian: str) -> int:
    """``neg``, ``movsx`` or ``end`` of the constant ``v``, as the interpreter computes it."""
    mask = M64 if op.width == 64 else M32
    if what == "neg":
        return -v & mask
    if what == "movsx":
        return sx(v, insn.off) & mask
    bits = op.width
    swap = op.name.startswith("ALU64.BSWAP") or (op.name.startswith("ALU.TO_BE") == (endian == "<"))
    return bswap(v, bits) if swap else v & ((1 << bits) - 1)
