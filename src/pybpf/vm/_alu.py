"""ALU and jump semantics as plain functions: the reference every tier agrees with.

Linux's choices where RFC 9669 leaves room: division by zero gives 0, modulo by zero leaves
the dividend (truncated to 32 bits for ALU32), ``INT_MIN / -1`` wraps to ``INT_MIN`` and
``INT_MIN % -1`` is 0, shift amounts are masked to the operand width, 32-bit results are
zero-extended.
"""

from __future__ import annotations

from collections.abc import Callable

from pybpf.asm.opcodes import AluOp, JmpOp

__all__ = ["M32", "M64", "alu", "bswap", "cond", "sdiv", "smod", "sx"]

M32 = 0xFFFF_FFFF
M64 = 0xFFFF_FFFF_FFFF_FFFF


def sx(value: int, bits: int) -> int:
    """The low ``bits`` of ``value`` read as a signed number."""
    value &= (1 << bits) - 1
    return value - (1 << bits) if value >> (bits - 1) else value


def sdiv(a: int, b: int, bits: int) -> int:
    """Signed division truncating toward zero, on ``bits``-bit operands; 0 when ``b`` is 0."""
    a, b = sx(a, bits), sx(b, bits)
    if b == 0:
        return 0
    q = abs(a) // abs(b)
    return (-q if (a < 0) != (b < 0) else q) & ((1 << bits) - 1)


def smod(a: int, b: int, bits: int) -> int:
    """Signed remainder with the sign of the dividend; the dividend when ``b`` is 0."""
    mask = (1 << bits) - 1
    sa, sb = sx(a, bits), sx(b, bits)
    if sb == 0:
        return a & mask
    r = abs(sa) % abs(sb)
    return (-r if sa < 0 else r) & mask


def bswap(value: int, bits: int) -> int:
    """The low ``bits`` of ``value`` with their bytes reversed."""
    n = bits // 8
    return int.from_bytes((value & ((1 << bits) - 1)).to_bytes(n, "little"), "big")


def _arsh(a: int, b: int, bits: int) -> int:
    return (sx(a, bits) >> (b & (bits - 1))) & ((1 << bits) - 1)


def alu(op: int, signed: bool, a: int, b: int, bits: int) -> int:
    """``a op b`` on ``bits``-bit operands (the result zero-extended to 64 bits).

    ``op`` is an :class:`AluOp`; ``signed`` selects ``sdiv``/``smod`` (``off`` = 1).
    """
    mask = (1 << bits) - 1
    a &= mask
    b &= mask
    if op == AluOp.DIV:
        if signed:
            return sdiv(a, b, bits)
        return a // b if b else 0
    if op == AluOp.MOD:
        if signed:
            return smod(a, b, bits)
        return a % b if b else a
    return _BINARY[op](a, b, bits) & mask


_BINARY: dict[int, Callable[[int, int, int], int]] = {
    AluOp.ADD: lambda a, b, n: a + b,
    AluOp.SUB: lambda a, b, n: a - b,
    AluOp.MUL: lambda a, b, n: a * b,
    AluOp.OR: lambda a, b, n: a | b,
    AluOp.AND: lambda a, b, n: a & b,
    AluOp.XOR: lambda a, b, n: a ^ b,
    AluOp.LSH: lambda a, b, n: a << (b & (n - 1)),
    AluOp.RSH: lambda a, b, n: a >> (b & (n - 1)),
    AluOp.ARSH: _arsh,
    AluOp.MOV: lambda a, b, n: b,
}


def cond(op: int, a: int, b: int, bits: int) -> bool:
    """Whether the conditional jump ``op`` (a :class:`JmpOp`) is taken for ``a``, ``b``."""
    mask = (1 << bits) - 1
    a &= mask
    b &= mask
    if op == JmpOp.JEQ:
        return a == b
    if op == JmpOp.JNE:
        return a != b
    if op == JmpOp.JSET:
        return bool(a & b)
    if op in _UNSIGNED:
        return _UNSIGNED[op](a, b)
    return _UNSIGNED[_SIGNED_TO_UNSIGNED[op]](sx(a, bits), sx(b, bits))


_UNSIGNED: dict[int, Callable[[int, int], bool]] = {
    JmpOp.JGT: lambda a, b: a > b,
    JmpOp.JGE: lambda a, b: a >= b,
    JmpOp.JLT: lambda a, b: a < b,
    JmpOp.JLE: lambda a, b: a <= b,
}
_SIGNED_TO_UNSIGNED: dict[int, int] = {
    JmpOp.JSGT: JmpOp.JGT,
    JmpOp.JSGE: JmpOp.JGE,
    JmpOp.JSLT: JmpOp.JLT,
    JmpOp.JSLE: JmpOp.JLE,
}
