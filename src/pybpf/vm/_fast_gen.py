"""Python source for single instructions (the fast tier's code generator).

Registers are the locals ``r0`` … ``r10`` of the generated function, always held as unsigned
64-bit values. Memory accesses check the region window inline (``T`` is the region table of
the address space; ``F`` raises the fault). Names the generated code uses, bound by
:mod:`pybpf.vm._fast`: ``M`` (2**64-1), ``M32``, ``SB`` (2**63), ``T``, ``F``, ``ATOMIC``,
``SDIV``/``SMOD``, ``BSWAP``, and ``U<n>``/``S<n>``/``P<n>`` (struct unpack/pack).
"""

from __future__ import annotations

from pybpf.asm.instruction import Instruction
from pybpf.asm.opcodes import AluOp, AtomicOp, JmpOp, Kind, Op, Source
from pybpf.vm._alu import M32, M64

__all__ = ["condition", "simple"]

SB = 1 << 63


def simple(insn: Instruction, op: Op, imm64: int, endian: str) -> list[str]:
    """The lines of a straight-line instruction (no jump, call or exit)."""
    kind = op.kind
    if kind in (Kind.ALU, Kind.MOV):
        return [_alu(insn, op)]
    if kind is Kind.NEG:
        mask = "M" if op.width == 64 else "M32"
        return [f"r{insn.dst} = -r{insn.dst} & {mask}"]
    if kind is Kind.MOVSX:
        return [_movsx(insn, op)]
    if kind is Kind.END:
        return [_end(insn, op, endian)]
    if kind is Kind.LDDW:
        return [f"r{insn.dst} = {imm64:#x}"]
    if kind is Kind.LDX:
        return _load(insn, op)
    if kind in (Kind.ST, Kind.STX):
        return _store(insn, op)
    if kind is Kind.ATOMIC:
        return _atomic(insn, op)
    raise AssertionError(f"not a simple instruction: {op.name}")


def _src(insn: Instruction, op: Op) -> str:
    """The second operand: a register, or the immediate at the operation's width."""
    if op.code & Source.X:
        return f"r{insn.src}"
    return str(insn.imm & (M64 if op.width == 64 else M32))


def _alu(insn: Instruction, op: Op) -> str:
    d, b = f"r{insn.dst}", _src(insn, op)
    aop = op.code & 0xF0
    if op.width == 64:
        return _alu64(d, b, aop, op.signed, bool(op.code & Source.X))
    return _alu32(d, b, aop, op.signed, bool(op.code & Source.X))


def _alu64(d: str, b: str, aop: int, signed: bool, reg: bool) -> str:
    shift = f"({b} & 63)" if reg else str(int(b) & 63)
    table: dict[int, str] = {
        AluOp.ADD: f"{d} = ({d} + {b}) & M",
        AluOp.SUB: f"{d} = ({d} - {b}) & M",
        AluOp.MUL: f"{d} = ({d} * {b}) & M",
        AluOp.OR: f"{d} |= {b}",
        AluOp.AND: f"{d} &= {b}",
        AluOp.XOR: f"{d} ^= {b}",
        AluOp.LSH: f"{d} = ({d} << {shift}) & M",
        AluOp.RSH: f"{d} >>= {shift}",
        AluOp.ARSH: f"{d} = (({d} ^ SB) - SB >> {shift}) & M",
        AluOp.MOV: f"{d} = {b}",
    }
    if aop == AluOp.DIV:
        return f"{d} = SDIV({d}, {b}, 64)" if signed else f"{d} = {d} // {b} if {b} else 0"
    if aop == AluOp.MOD:
        return f"{d} = SMOD({d}, {b}, 64)" if signed else f"{d} = {d} % {b} if {b} else {d}"
    return table[aop]


def _alu32(d: str, b: str, aop: int, signed: bool, reg: bool) -> str:
    b32 = f"({b} & M32)" if reg else b
    shift = f"({b} & 31)" if reg else str(int(b) & 31)
    table: dict[int, str] = {
        AluOp.ADD: f"{d} = ({d} + {b}) & M32",
        AluOp.SUB: f"{d} = ({d} - {b}) & M32",
        AluOp.MUL: f"{d} = ({d} * {b}) & M32",
        AluOp.OR: f"{d} = ({d} | {b}) & M32",
        AluOp.AND: f"{d} = {d} & {b32}",
        AluOp.XOR: f"{d} = ({d} ^ {b}) & M32",
        AluOp.LSH: f"{d} = ({d} << {shift}) & M32",
        AluOp.RSH: f"{d} = ({d} & M32) >> {shift}",
        AluOp.ARSH: f"{d} = (((({d} & M32) ^ 0x80000000) - 0x80000000) >> {shift}) & M32",
        AluOp.MOV: f"{d} = {b32}",
    }
    if aop == AluOp.DIV:
        if signed:
            return f"{d} = SDIV({d}, {b}, 32)"
        return f"{d} = ({d} & M32) // {b32} if {b32} else 0"
    if aop == AluOp.MOD:
        if signed:
            return f"{d} = SMOD({d}, {b}, 32)"
        return f"{d} = ({d} & M32) % {b32} if {b32} else {d} & M32"
    return table[aop]


def _movsx(insn: Instruction, op: Op) -> str:
    bits = insn.off
    sign, full = 1 << (bits - 1), (1 << bits) - 1
    mask = "M" if op.width == 64 else "M32"
    return f"r{insn.dst} = (((r{insn.src} & {full:#x}) ^ {sign:#x}) - {sign:#x}) & {mask}"


def _end(insn: Instruction, op: Op, endian: str) -> str:
    d, bits = f"r{insn.dst}", op.width
    swap = op.name.startswith("ALU64.BSWAP") or (op.name.startswith("ALU.TO_BE") == (endian == "<"))
    if not swap:
        return f"{d} &= {(1 << bits) - 1:#x}"
    if bits == 16:
        return f"{d} = (({d} & 0xFF) << 8) | (({d} >> 8) & 0xFF)"
    return f"{d} = BSWAP({d}, {bits})"


def _check(size: int, write: bool) -> list[str]:
    top = "R.whi" if write else "R.hi"
    return [
        "R = T[a >> 32]",
        f"if a < R.lo or a > {top} - {size}: F(a, {size}, {write})",
    ]


def _addr(reg: int, off: int) -> str:
    return f"a = (r{reg} + {off}) & M" if off else f"a = r{reg}"


def _load(insn: Instruction, op: Op) -> list[str]:
    size = op.width // 8
    lines = [_addr(insn.src, insn.off), *_check(size, False)]
    if size == 1 and not op.signed:
        lines.append(f"r{insn.dst} = R.buf[a - R.org]")
    elif op.signed:
        lines.append(f"r{insn.dst} = S{size}(R.buf, a - R.org)[0] & M")
    else:
        lines.append(f"r{insn.dst} = U{size}(R.buf, a - R.org)[0]")
    return lines


def _store(insn: Instruction, op: Op) -> list[str]:
    size = op.width // 8
    mask = (1 << op.width) - 1
    value = str(insn.imm & mask) if op.kind is Kind.ST else f"r{insn.src}"
    if op.kind is Kind.STX and size < 8:
        value = f"r{insn.src} & {mask:#x}"
    lines = [_addr(insn.dst, insn.off), *_check(size, True)]
    if size == 1:
        lines.append(f"R.buf[a - R.org] = {value}")
    else:
        lines.append(f"P{size}(R.buf, a - R.org, {value})")
    return lines


def _atomic(insn: Instruction, op: Op) -> list[str]:
    size = op.width // 8
    aop = insn.imm
    if aop == AtomicOp.LOAD_ACQ:
        return [
            _addr(insn.src, insn.off),
            *_check(size, False),
            f"r{insn.dst} = U{size}(R.buf, a - R.org)[0]",
        ]
    if aop == AtomicOp.STORE_REL:
        fake = Instruction(op.code, insn.dst, insn.src, insn.off)
        from pybpf.asm.opcodes import OPS_BY_NAME  # noqa: PLC0415 - one row, once

        return _store(fake, OPS_BY_NAME[f"STX.MEM.{op.name.split('.')[2]}"])
    s = f"r{insn.src}"
    call = f"ATOMIC(a, {size}, {aop}, {s}, r0)"
    lines = [_addr(insn.dst, insn.off)]
    if aop == AtomicOp.CMPXCHG:
        return [*lines, f"r0 = {call}"]
    if aop & 0x01:  # fetch and xchg write the old value to src
        return [*lines, f"{s} = {call}"]
    return [*lines, call]


def condition(insn: Instruction, op: Op) -> str:
    """The Python condition under which a conditional jump is taken."""
    jop = op.code & 0xF0
    reg = bool(op.code & Source.X)
    if op.width == 64:
        a, b = f"r{insn.dst}", f"r{insn.src}" if reg else str(insn.imm & M64)
        sa = f"(r{insn.dst} ^ SB)"
        sb = f"(r{insn.src} ^ SB)" if reg else str((insn.imm & M64) ^ SB)
    else:
        a = f"(r{insn.dst} & M32)"
        b = f"(r{insn.src} & M32)" if reg else str(insn.imm & M32)
        sa = f"((r{insn.dst} & M32) ^ 0x80000000)"
        sb = f"((r{insn.src} & M32) ^ 0x80000000)" if reg else str((insn.imm & M32) ^ 0x80000000)
    if jop == JmpOp.JSET:
        return f"{a} & {b}"
    ops: dict[int, str] = {
        JmpOp.JEQ: "==",
        JmpOp.JNE: "!=",
        JmpOp.JGT: ">",
        JmpOp.JGE: ">=",
        JmpOp.JLT: "<",
        JmpOp.JLE: "<=",
        JmpOp.JSGT: ">",
        JmpOp.JSGE: ">=",
        JmpOp.JSLT: "<",
        JmpOp.JSLE: "<=",
    }
    if op.signed:
        return f"{sa} {ops[jop]} {sb}"
    return f"{a} {ops[jop]} {b}"
