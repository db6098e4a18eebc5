"""Valid instructions generated from the opcode table: hypothesis strategies and fixed samples.

Other test modules reuse these (``from tests.asm.strategies import instructions``): every
instruction they produce passes ``Instruction.check()``.

- :func:`representative` — a fixed handful of instances of one row, covering zero, ±1, the
  ±10 boundary of uBPF's decimal/hex spelling, and the extremes of every operand field.
- :func:`instructions` — a strategy of valid instructions (optionally of some rows only).
- :func:`programs` — a strategy of instruction lists whose jumps and local calls all land
  on an instruction of the list.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from hypothesis import strategies as st

from pybpf.asm.instruction import Instruction
from pybpf.asm.opcodes import OPS, Field, Kind, Op

__all__ = ["instructions", "ops", "programs", "representative", "uses_imm_hi"]

S16 = (-(1 << 15), (1 << 15) - 1)
S32 = (-(1 << 31), (1 << 31) - 1)
REGS = (0, 1, 10, 5)
OFFS = (0, 1, -1, 0x7FFF, -0x8000, 10, -11, 0x100)
IMMS = (0, 1, -1, 10, -10, 11, -11, 0x7FFFFFFF, -0x80000000, 0x1234, -0x4)
IMM_HIS = (0, 1, -1, 0x7FFFFFFF, -0x80000000, 0x12345678)
ADDR_SPACE_CASTS = (0x1, 0x10000)  # the only casts the kernel (and decode) accept


def uses_imm_hi(op: Op) -> bool:
    """True for the ``lddw`` forms whose second-slot immediate is an operand."""
    return op.name in ("LD.IMM64", "LD.IMM64.MAP_VALUE", "LD.IMM64.MAP_IDX_VALUE")


def _make(op: Op, *, dst: int, src: int, off: int, imm: int, imm_hi: int) -> Instruction:
    has = op.operands
    values = {
        "dst": dst if Field.DST in has else 0,
        "src": src if Field.SRC in has else 0,
        "off": off if Field.OFF in has else 0,
        "imm": imm if Field.IMM in has else 0,
        "imm_hi": imm_hi if uses_imm_hi(op) else 0,
    }
    if op.kind is Kind.ADDR_SPACE_CAST:
        values["imm"] = ADDR_SPACE_CASTS[imm & 1]
    if op.key is not None:
        values[op.key[0]] = op.key[1]
    v = values
    return Instruction(op.code, v["dst"], v["src"], v["off"], v["imm"], v["imm_hi"])


def representative(op: Op) -> list[Instruction]:
    """Fixed instances of ``op`` covering the interesting values of each operand field."""
    n = max(len(REGS), len(OFFS), len(IMMS))
    out = []
    for k in range(n):
        insn = _make(
            op,
            dst=REGS[k % len(REGS)],
            src=REGS[(k + 1) % len(REGS)],
            off=OFFS[k % len(OFFS)],
            imm=IMMS[k % len(IMMS)],
            imm_hi=IMM_HIS[k % len(IMM_HIS)],
        )
        if insn not in out:
            out.append(insn)
    return out


def ops() -> st.SearchStrategy[Op]:
    """Any row of the table."""
    return st.sampled_from(OPS)


@st.composite
def _instruction(draw: st.DrawFn, rows: Sequence[Op]) -> Instruction:
    op = draw(st.sampled_from(rows))
    reg = st.integers(0, 10)
    return _make(
        op,
        dst=draw(reg),
        src=draw(reg),
        off=draw(st.integers(*S16)),
        imm=draw(st.integers(*S32)),
        imm_hi=draw(st.integers(*S32)),
    )


def instructions(rows: Iterable[Op] | None = None) -> st.SearchStrategy[Instruction]:
    """Valid instructions of the given rows (all rows by default), any operand values."""
    return _instruction(tuple(OPS if rows is None else rows))


@st.composite
def programs(
    draw: st.DrawFn, min_size: int = 1, max_size: int = 12, rows: Iterable[Op] | None = None
) -> list[Instruction]:
    """Instruction lists whose jumps, ``gotol``, local calls and ``lddw`` of a function all
    target an instruction of the list."""
    insns = draw(st.lists(instructions(rows), min_size=min_size, max_size=max_size))
    starts = []
    pc = 0
    for insn in insns:
        starts.append(pc)
        pc += insn.slots
    out = []
    for pc, insn in zip(starts, insns, strict=True):
        op = insn.op
        if op is not None and op.target_field is not None:
            target = draw(st.sampled_from(starts))
            out.append(insn.with_fields(**{op.target_field: target - pc - 1}))
        else:
            out.append(insn)
    return out
