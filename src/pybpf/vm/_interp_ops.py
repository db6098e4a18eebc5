"""The interpreter's instruction handlers: one closure per slot, built from the opcode table.

A handler takes the register list and returns the next slot to run. Handlers are built once
per program (the operands are bound as default arguments, the fastest lookup CPython has);
the loop in :mod:`pybpf.vm._interp` only calls them.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from pybpf._util import s32
from pybpf.asm.instruction import Instruction
from pybpf.asm.opcodes import AluOp, AtomicOp, JmpOp, Kind, Op, Source
from pybpf.errors import VMError
from pybpf.vm._alu import M32, M64, alu, bswap, cond, sx
from pybpf.vm.memory import int_struct

if TYPE_CHECKING:
    from pybpf.vm._interp import Interpreter

__all__ = ["Handler", "build_handler"]

Handler = Callable[[list[int]], int]


def build_handler(it: Interpreter, pc: int, insn: Instruction, op: Op) -> Handler:
    """The handler of the instruction at slot ``pc``."""
    return _BUILDERS[op.kind](it, pc, insn, op)


# -- ALU ---------------------------------------------------------------------------------------


def _alu(it: Interpreter, pc: int, insn: Instruction, op: Op) -> Handler:
    d, s, nxt, bits = insn.dst, insn.src, pc + 1, op.width
    aop = op.code & 0xF0
    mask = M64 if bits == 64 else M32
    if op.code & Source.X:
        fast = _FAST_X.get((aop, bits))
        if fast is not None and not op.signed:
            return fast(d, s, nxt)

        def alu_x(r: list[int]) -> int:
            r[d] = alu(aop, op.signed, r[d], r[s], bits)
            return nxt

        return alu_x
    imm = insn.imm & mask  # sign-extended to the operation width
    fast = _FAST_K.get((aop, bits))
    if fast is not None and not op.signed:
        return fast(d, imm, nxt)

    def alu_k(r: list[int]) -> int:
        r[d] = alu(aop, op.signed, r[d], imm, bits)
        return nxt

    return alu_k


def _add64x(d: int, s: int, nxt: int) -> Handler:
    def h(r: list[int]) -> int:
        r[d] = (r[d] + r[s]) & M64
        return nxt

    return h


def _add64k(d: int, k: int, nxt: int) -> Handler:
    def h(r: list[int]) -> int:
        r[d] = (r[d] + k) & M64
        return nxt

    return h


def _mov64x(d: int, s: int, nxt: int) -> Handler:
    def h(r: list[int]) -> int:
        r[d] = r[s]
        return nxt

    return h


def _mov32x(d: int, s: int, nxt: int) -> Handler:
    def h(r: list[int]) -> int:
        r[d] = r[s] & M32
        return nxt

    return h


def _movk(d: int, k: int, nxt: int) -> Handler:
    def h(r: list[int]) -> int:
        r[d] = k
        return nxt

    return h


def _generic_x(aop: int, bits: int) -> Callable[[int, int, int], Handler]:
    fn = _PY_BINARY[aop]
    mask = M64 if bits == 64 else M32
    sh = bits - 1

    def make(d: int, s: int, nxt: int) -> Handler:
        if aop in (AluOp.LSH, AluOp.RSH):

            def shift(r: list[int]) -> int:
                r[d] = fn(r[d] & mask, r[s] & sh) & mask
                return nxt

            return shift

        def h(r: list[int]) -> int:
            r[d] = fn(r[d] & mask, r[s] & mask) & mask
            return nxt

        return h

    return make


def _generic_k(aop: int, bits: int) -> Callable[[int, int, int], Handler]:
    fn = _PY_BINARY[aop]
    mask = M64 if bits == 64 else M32

    def make(d: int, k: int, nxt: int) -> Handler:
        if aop in (AluOp.LSH, AluOp.RSH):
            k &= bits - 1

        def h(r: list[int]) -> int:
            r[d] = fn(r[d] & mask, k) & mask
            return nxt

        return h

    return make


_PY_BINARY: dict[int, Callable[[int, int], int]] = {
    AluOp.ADD: int.__add__,
    AluOp.SUB: int.__sub__,
    AluOp.MUL: int.__mul__,
    AluOp.OR: int.__or__,
    AluOp.AND: int.__and__,
    AluOp.XOR: int.__xor__,
    AluOp.LSH: int.__lshift__,
    AluOp.RSH: int.__rshift__,
}
_FAST_X: dict[tuple[int, int], Callable[[int, int, int], Handler]] = {
    (AluOp.ADD, 64): _add64x,
    (AluOp.MOV, 64): _mov64x,
    (AluOp.MOV, 32): _mov32x,
}
_FAST_K: dict[tuple[int, int], Callable[[int, int, int], Handler]] = {
    (AluOp.ADD, 64): _add64k,
    (AluOp.MOV, 64): _movk,
    (AluOp.MOV, 32): _movk,
}
for _aop in _PY_BINARY:
    for _bits in (32, 64):
        _FAST_X.setdefault((_aop, _bits), _generic_x(_aop, _bits))
        _FAST_K.setdefault((_aop, _bits), _generic_k(_aop, _bits))


def _neg(it: Interpreter, pc: int, insn: Instruction, op: Op) -> Handler:
    d, nxt, mask = insn.dst, pc + 1, (M64 if op.width == 64 else M32)

    def neg(r: list[int]) -> int:
        r[d] = -r[d] & mask
        return nxt

    return neg


def _mov(it: Interpreter, pc: int, insn: Instruction, op: Op) -> Handler:
    return _alu(it, pc, insn, op)


def _movsx(it: Interpreter, pc: int, insn: Instruction, op: Op) -> Handler:
    d, s, nxt, bits = insn.dst, insn.src, pc + 1, insn.off
    mask = M64 if op.width == 64 else M32

    def movsx(r: list[int]) -> int:
        r[d] = sx(r[s], bits) & mask
        return nxt

    return movsx


def _end(it: Interpreter, pc: int, insn: Instruction, op: Op) -> Handler:
    d, nxt, bits = insn.dst, pc + 1, op.width
    mask = (1 << bits) - 1
    swap = op.name.startswith("ALU64.BSWAP") or (
        (op.name.startswith("ALU.TO_BE")) == (it.code.endian == "<")
    )
    if not swap:

        def trunc(r: list[int]) -> int:
            r[d] &= mask
            return nxt

        return trunc

    def swapped(r: list[int]) -> int:
        r[d] = bswap(r[d], bits)
        return nxt

    return swapped


# -- jumps ---------------------------------------------------------------------------------------


def _ja(it: Interpreter, pc: int, insn: Instruction, op: Op) -> Handler:
    target = insn.jump_target(pc)
    assert target is not None

    def ja(r: list[int]) -> int:
        return target

    return ja


def _jump(it: Interpreter, pc: int, insn: Instruction, op: Op) -> Handler:
    d, s, nxt, bits = insn.dst, insn.src, pc + 1, op.width
    target = insn.jump_target(pc)
    assert target is not None
    jop = op.code & 0xF0
    mask = M64 if bits == 64 else M32
    if op.code & Source.X:
        fast = _FAST_JX.get(jop) if bits == 64 else None
        if fast is not None:
            return fast(d, s, target, nxt)

        def jx(r: list[int]) -> int:
            return target if cond(jop, r[d], r[s], bits) else nxt

        return jx
    imm = insn.imm & mask
    fast = _FAST_JK.get(jop) if bits == 64 else None
    if fast is not None:
        return fast(d, imm, target, nxt)

    def jk(r: list[int]) -> int:
        return target if cond(jop, r[d], imm, bits) else nxt

    return jk


def _jeqk(d: int, k: int, t: int, n: int) -> Handler:
    def h(r: list[int]) -> int:
        return t if r[d] == k else n

    return h


def _jnek(d: int, k: int, t: int, n: int) -> Handler:
    def h(r: list[int]) -> int:
        return n if r[d] == k else t

    return h


def _jgtk(d: int, k: int, t: int, n: int) -> Handler:
    def h(r: list[int]) -> int:
        return t if r[d] > k else n

    return h


def _jgek(d: int, k: int, t: int, n: int) -> Handler:
    def h(r: list[int]) -> int:
        return t if r[d] >= k else n

    return h


def _jltk(d: int, k: int, t: int, n: int) -> Handler:
    def h(r: list[int]) -> int:
        return t if r[d] < k else n

    return h


def _jgtx(d: int, s: int, t: int, n: int) -> Handler:
    def h(r: list[int]) -> int:
        return t if r[d] > r[s] else n

    return h


def _jeqx(d: int, s: int, t: int, n: int) -> Handler:
    def h(r: list[int]) -> int:
        return t if r[d] == r[s] else n

    return h


def _jnex(d: int, s: int, t: int, n: int) -> Handler:
    def h(r: list[int]) -> int:
        return n if r[d] == r[s] else t

    return h


_FAST_JK: dict[int, Callable[[int, int, int, int], Handler]] = {
    JmpOp.JEQ: _jeqk,
    JmpOp.JNE: _jnek,
    JmpOp.JGT: _jgtk,
    JmpOp.JGE: _jgek,
}
_FAST_JK[JmpOp.JLT] = _jltk
_FAST_JX: dict[int, Callable[[int, int, int, int], Handler]] = {
    JmpOp.JGT: _jgtx,
    JmpOp.JEQ: _jeqx,
    JmpOp.JNE: _jnex,
}


def _jcond(it: Interpreter, pc: int, insn: Instruction, op: Op) -> Handler:
    target, nxt, env = insn.jump_target(pc), pc + 1, it.env
    assert target is not None

    def may_goto(r: list[int]) -> int:
        if env.loops == 0:
            return target
        env.loops -= 1
        return nxt

    return may_goto


# -- loads and stores ----------------------------------------------------------------------------


def _lddw(it: Interpreter, pc: int, insn: Instruction, op: Op) -> Handler:
    d, value, nxt = insn.dst, it.code.imm64[pc], pc + 2

    def lddw(r: list[int]) -> int:
        r[d] = value
        return nxt

    return lddw


def _ldx(it: Interpreter, pc: int, insn: Instruction, op: Op) -> Handler:
    d, s, o, nxt = insn.dst, insn.src, insn.off, pc + 1
    size = op.width // 8
    unpack = int_struct(it.code.endian, size, op.signed).unpack_from
    translate = it.env.mem.translate

    def ldx(r: list[int]) -> int:
        region, i = translate((r[s] + o) & M64, size)
        r[d] = unpack(region.buf, i)[0] & M64
        return nxt

    return ldx


def _store(it: Interpreter, pc: int, insn: Instruction, op: Op) -> Handler:
    d, s, o, nxt = insn.dst, insn.src, insn.off, pc + 1
    size = op.width // 8
    pack = int_struct(it.code.endian, size).pack_into
    translate = it.env.mem.translate
    mask = (1 << op.width) - 1
    if op.kind is Kind.ST:
        imm = insn.imm & mask

        def st(r: list[int]) -> int:
            region, i = translate((r[d] + o) & M64, size, True)
            pack(region.buf, i, imm)
            return nxt

        return st

    def stx(r: list[int]) -> int:
        region, i = translate((r[d] + o) & M64, size, True)
        pack(region.buf, i, r[s] & mask)
        return nxt

    return stx


def _ldpkt(it: Interpreter, pc: int, insn: Instruction, op: Op) -> Handler:
    """Legacy ``ld_abs``/``ld_ind``: a big-endian packet load; out of bounds exits with 0."""
    s, imm, nxt, size = insn.src, insn.imm, pc + 1, op.width // 8
    indirect = op.kind is Kind.LDIND
    env, exit_frame = it.env, it.exit_frame

    def ldpkt(r: list[int]) -> int:
        value = env.entry.load_abs(s32((r[s] if indirect else 0) + imm), size)
        if value is not None:
            r[0] = value
            return nxt
        r[0] = 0
        return exit_frame(r)

    return ldpkt


def _atomic(it: Interpreter, pc: int, insn: Instruction, op: Op) -> Handler:
    d, s, o, nxt = insn.dst, insn.src, insn.off, pc + 1
    size, bits = op.width // 8, op.width
    st = int_struct(it.code.endian, size)
    unpack, pack = st.unpack_from, st.pack_into
    translate = it.env.mem.translate
    mask = (1 << bits) - 1
    aop = insn.imm
    if aop == AtomicOp.LOAD_ACQ:
        # load_acquire: dst = *(src + off)
        def load_acq(r: list[int]) -> int:
            region, i = translate((r[s] + o) & M64, size)
            r[d] = unpack(region.buf, i)[0]
            return nxt

        return load_acq
    if aop == AtomicOp.STORE_REL:
        return _store(it, pc, insn, op)
    fetch = bool(aop & 0x01)
    base = aop & ~0x01

    def atomic(r: list[int]) -> int:
        region, i = translate((r[d] + o) & M64, size, True)
        old = unpack(region.buf, i)[0]
        val = r[s] & mask
        if aop == AtomicOp.CMPXCHG:
            if old == r[0] & mask:
                pack(region.buf, i, val)
            r[0] = old
            return nxt
        new = val if aop == AtomicOp.XCHG else _PY_BINARY[_ATOMIC_ALU[base]](old, val) & mask
        pack(region.buf, i, new)
        if fetch:
            r[s] = old
        return nxt

    return atomic


_ATOMIC_ALU: dict[int, int] = {
    AtomicOp.ADD: AluOp.ADD,
    AtomicOp.OR: AluOp.OR,
    AtomicOp.AND: AluOp.AND,
    AtomicOp.XOR: AluOp.XOR,
}


# -- calls ---------------------------------------------------------------------------------------


def _call(it: Interpreter, pc: int, insn: Instruction, op: Op) -> Handler:
    if insn.src == 1:
        target = insn.jump_target(pc)
        assert target is not None
        return it.local_call(target, pc + 1)
    return it.helper_call(it.code.helpers[pc], pc + 1)


def _callx(it: Interpreter, pc: int, insn: Instruction, op: Op) -> Handler:
    return it.indirect_call(insn.dst, pc + 1)


def _exit(it: Interpreter, pc: int, insn: Instruction, op: Op) -> Handler:
    return it.exit_frame


def _refused(it: Interpreter, pc: int, insn: Instruction, op: Op) -> Handler:
    raise VMError(f"{op.name} is not supported by the VM", pc=pc)


_BUILDERS: dict[Kind, Callable[[Interpreter, int, Instruction, Op], Handler]] = {
    Kind.ALU: _alu,
    Kind.NEG: _neg,
    Kind.MOV: _mov,
    Kind.MOVSX: _movsx,
    Kind.ADDR_SPACE_CAST: _refused,
    Kind.END: _end,
    Kind.JA: _ja,
    Kind.JCOND: _jcond,
    Kind.JUMP: _jump,
    Kind.CALL: _call,
    Kind.CALLX: _callx,
    Kind.GOTOX: _refused,
    Kind.EXIT: _exit,
    Kind.LDDW: _lddw,
    Kind.LDABS: _ldpkt,
    Kind.LDIND: _ldpkt,
    Kind.LDX: _ldx,
    Kind.ST: _store,
    Kind.STX: _store,
    Kind.ATOMIC: _atomic,
}
