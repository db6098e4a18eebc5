"""Property: every tier gives the interpreter's answer on generated valid programs."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pybpf.asm.instruction import Instruction
from pybpf.asm.opcodes import OPS, Field, Kind, Op
from pybpf.vm import VM
from tests.vm.conftest import HAS_LLVMLITE

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


@st.composite
def _program(draw: st.DrawFn) -> list[Instruction]:
    insns = [Instruction.lddw(r, draw(_CONST)) for r in range(10)]
    body: list[Instruction] = []
    for _ in range(draw(st.integers(1, 30))):
        choice = draw(st.integers(0, 9))
        if choice < 6:
            op = draw(st.sampled_from(_ARITH))
            body.append(_fields(op, draw))
        elif choice < 8:
            op = draw(st.sampled_from(_JUMPS))
            insn = _fields(op, draw)
            body.append(insn.with_fields(off=draw(st.integers(0, 3))))
        else:
            op = draw(st.sampled_from(_MEM))
            insn = _fields(op, draw)
            slot = -8 * draw(st.integers(1, 8))
            base = {"dst": 10} if op.kind in (Kind.ST, Kind.STX, Kind.ATOMIC) else {"src": 10}
            body.append(insn.with_fields(off=slot, **base))
    # keep forward jumps inside the body: pad with 3 no-ops before the epilogue
    body += [Instruction(0x07, 9, imm=0)] * 3
    mix = []
    for r in range(1, 10):
        mix += [Instruction(0xC7, 0, imm=7), Instruction(0xAF, 0, r)]  # r0 s>>= 7; r0 ^= rN
    return insns + body + mix + [Instruction(0x95)]


def _run(insns: list[Instruction], tier: str, budget: int = 10**7) -> tuple[str, int]:
    try:
        return "ok", VM(tier=tier, budget=budget).load(insns).run(b"")  # type: ignore[arg-type]
    except Exception as exc:
        return type(exc).__name__, getattr(exc, "pc", None) or 0


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_program())
def test_tiers_agree(insns: list[Instruction]) -> None:
    want = _run(insns, "interp")
    assert _run(insns, "fast") == want
    if HAS_LLVMLITE:
        assert _run(insns, "jit") == want


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_program(), st.integers(1, 80))
def test_tiers_agree_on_a_small_budget(insns: list[Instruction], budget: int) -> None:
    """Where the budget runs out (and whether it does) is the same everywhere."""
    want = _run(insns, "interp", budget)
    assert _run(insns, "fast", budget) == want
    if HAS_LLVMLITE:
        assert _run(insns, "jit", budget) == want
