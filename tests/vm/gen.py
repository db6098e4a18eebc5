"""A hypothesis generator of valid straight-line-ish programs, for differential tests.

A program sets r0-r9 to 64-bit constants, fills eight stack slots from them, runs a body of
random ALU, forward conditional jumps and stack loads/stores/atomics, then folds every
register into r0 and exits. With ``kernel=True`` it keeps to what the kernel's verifier
accepts (immediate shifts within the width, no division by an immediate zero, load-acquire
reading the stack), so the same program runs under BPF_PROG_TEST_RUN.
"""

from __future__ import annotations

from hypothesis import strategies as st

from pybpf.asm.instruction import Instruction
from pybpf.asm.opcodes import OPS, AtomicOp, Class, Field, Kind, Op

__all__ = ["program"]

_ARITH = [op for op in OPS if op.kind in (Kind.ALU, Kind.NEG, Kind.MOV, Kind.MOVSX, Kind.END)]
_JUMPS = [op for op in OPS if op.kind is Kind.JUMP]
_MEM = [
    op
    for op in OPS
    if op.kind in (Kind.LDX, Kind.STX, Kind.ST)
    or op.name.startswith(("STX.ATOMIC.DW", "STX.ATOMIC.W"))
]
_REG = st.integers(0, 9)
_IMM = st.one_of(
    st.sampled_from([0, 1, -1, 2, 31, 32, 63, 64, -(2**31), 2**31 - 1, 0x7F, 0x80]),
    st.integers(-(2**31), 2**31 - 1),
)
_CONST = st.one_of(
    st.sampled_from([0, 1, 2**63, 2**64 - 1, 2**32, 2**31, 0xFFFFFFFF]),
    st.integers(0, 2**64 - 1),
)
_SHIFTS = ("LSH", "RSH", "ARSH")
_DIVS = ("DIV", "SDIV", "MOD", "SMOD")


def _fields(op: Op, draw: st.DrawFn) -> Instruction:
    dst = draw(_REG)
    src = draw(_REG) if Field.SRC in op.operands else 0
    imm = draw(_IMM) if Field.IMM in op.operands else 0
    off = 0
    if op.key is not None:
        name, value = op.key
        if name == "imm":
            imm = value
        elif name == "off":
            off = value
        else:
            src = value
    return Instruction(op.code, dst, src, off, imm)


def _kernel_fix(op: Op, insn: Instruction, draw: st.DrawFn) -> Instruction:
    """What the verifier insists on for ALU immediates."""
    parts = op.name.split(".")
    if len(parts) < 3 or parts[2] != "K":
        return insn
    width = 64 if op.code & 0x07 == Class.ALU64 else 32
    if parts[1] in _SHIFTS:
        return insn.with_fields(imm=draw(st.integers(0, width - 1)))
    if parts[1] in _DIVS and insn.imm == 0:
        return insn.with_fields(imm=draw(st.sampled_from([1, -1, 3, 7, 2**31 - 1])))
    return insn


def _mem(op: Op, draw: st.DrawFn) -> Instruction:
    insn = _fields(op, draw)
    slot = -8 * draw(st.integers(1, 8))
    reads = op.kind is Kind.LDX or (op.key is not None and op.key[1] == AtomicOp.LOAD_ACQ)
    base = {"src": 10} if reads else {"dst": 10}
    return insn.with_fields(off=slot, **base)


@st.composite
def program(draw: st.DrawFn, kernel: bool = False, max_body: int = 30) -> list[Instruction]:
    """A valid program (see the module docstring); ``kernel`` keeps to the verifier's rules."""
    insns = [Instruction.lddw(r, draw(_CONST)) for r in range(10)]
    insns += [Instruction(0x7B, 10, k % 10, -8 * k) for k in range(1, 9)]  # stack slots set
    body: list[Instruction] = []
    for _ in range(draw(st.integers(1, max_body))):
        choice = draw(st.integers(0, 9))
        if choice < 6:
            op = draw(st.sampled_from(_ARITH))
            insn = _fields(op, draw)
            body.append(_kernel_fix(op, insn, draw) if kernel else insn)
        elif choice < 8:
            op = draw(st.sampled_from(_JUMPS))
            insn = _fields(op, draw)
            body.append(insn.with_fields(off=draw(st.integers(0, 3))))
        else:
            body.append(_mem(draw(st.sampled_from(_MEM)), draw))
    # keep forward jumps inside the body: pad with 3 no-ops before the epilogue
    body += [Instruction(0x07, 9, imm=0)] * 3
    mix = []
    for r in range(1, 10):
        mix += [Instruction(0xC7, 0, imm=7), Instruction(0xAF, 0, r)]  # r0 s>>= 7; r0 ^= rN
    return insns + body + mix + [Instruction(0x95)]


def _access(draw: st.DrawFn, base: int, checked: bool) -> list[str]:
    """A packet access through ``base`` (maybe after the program's own check, which may be
    too short), mixed into r0, sometimes a store."""
    size = draw(st.sampled_from([1, 2, 4, 8]))
    off = draw(st.integers(-2, 10))
    suffix = {1: "b", 2: "h", 4: "w", 8: "dw"}[size]
    lines = []
    if checked:
        need = off + size + draw(st.integers(-2, 1))  # sometimes one or two bytes short
        lines += [f"mov %r4, %r{base}", f"add %r4, {need}", "jgt %r4, %r2, done"]
    if draw(st.booleans()):
        lines += [f"ldx{suffix} %r5, [%r{base}{off:+d}]", "add %r0, %r5", "mul %r0, 31"]
    else:
        lines += [f"stx{suffix} [%r{base}{off:+d}], %r0"]
    return lines


@st.composite
def packet_program(draw: st.DrawFn) -> str:
    """A memory-entry program (uBPF syntax) reading and writing its packet: a loop over it
    or straight code, accesses through the packet pointer plus a moving index or a choice
    of two constants, checked against data_end by the program (sometimes too little) or
    not at all. The cases where a JIT leaves checks out or makes one check for a block."""
    lines = ["add %r2, %r1", "mov %r0, 0", "mov %r6, 0"]
    lines += ["mov %r7, 14", f"jeq %r2, %r1, +{1}", "mov %r7, 18"]  # r7: one of two
    looped = draw(st.booleans())
    if looped:
        lines += ["loop:", f"jge %r6, {draw(st.integers(1, 40))}, done"]
    lines += ["mov %r3, %r1", "add %r3, %r6", "mov %r8, %r1", "add %r8, %r7"]
    for _ in range(draw(st.integers(1, 4))):
        base = draw(st.sampled_from([1, 3, 8]))
        lines += _access(draw, base, draw(st.booleans()))
    if looped:
        lines += [f"add %r6, {draw(st.integers(1, 3))}", "ja loop"]
    return "\n".join([*lines, "done:", "exit"])
