"""Bad input gets a clear CoreError (a BTFError, hence a ParseError), never a crash: wrong
instruction forms, values the instruction does not hold, slots out of range, bad records.
Plus the verifier-log rewrite for poisoned instructions."""

from __future__ import annotations

import contextlib

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pybpf.asm.instruction import Instruction
from pybpf.asm.opcodes import AluOp, Class, JmpOp, Mode, PseudoSrc, Size, Source
from pybpf.errors import BPFError, BTFError
from pybpf.spec.core import CoreError, explain_verifier_log, relocate
from pybpf.spec.specs import CoreRelo, ProgramSpec
from pybpf.spec.specs import CoreReloKind as K
from tests.spec._core_btf import kernel_btf, local_btf, program

KERNEL, KIDS = kernel_btf()
LOCAL, LIDS = local_btf()
TASK = LIDS["task_struct"]
MOV = Instruction(Class.ALU64 | AluOp.MOV | Source.K, dst=1, imm=4)
EXIT = Instruction(Class.JMP | JmpOp.EXIT)


def relocate_one(insns: list[Instruction], relo: CoreRelo) -> ProgramSpec:
    prog = program(LOCAL, insns, [relo])
    assert isinstance(prog, ProgramSpec)
    return relocate(prog, KERNEL)[0]


BAD = [
    # (instructions, relocation, message)
    ([MOV, EXIT], CoreRelo(0, TASK, "0:1", K.FIELD_BYTE_OFFSET), None),  # the good one
    (
        [MOV, EXIT],
        CoreRelo(0, TASK, "0:2", K.FIELD_BYTE_OFFSET),
        r"unexpected insn #0 \(ALU/ALU64\) value: got 4, exp 8 -> 0",
    ),
    ([EXIT, MOV], CoreRelo(0, TASK, "0:1", K.FIELD_BYTE_OFFSET), "unrecognized insn #0, code:0x95"),
    (
        [Instruction(Class.JMP | JmpOp.JA, off=1), MOV],
        CoreRelo(0, TASK, "0:1", K.FIELD_BYTE_OFFSET),
        "unrecognized",
    ),
    (
        [Instruction(Class.ALU64 | AluOp.ADD | Source.X, 1, 2), EXIT],
        CoreRelo(0, TASK, "0:1", K.FIELD_BYTE_OFFSET),
        "register operand",
    ),
    (
        [Instruction.lddw(1, 0, src=PseudoSrc.MAP_FD), EXIT],
        CoreRelo(0, TASK, "0", K.TYPE_SIZE),
        r"\(LDIMM64\) has unexpected form",
    ),
    (
        [Instruction(Class.LD | Mode.ABS | Size.W, imm=4), EXIT],
        CoreRelo(0, TASK, "0", K.TYPE_SIZE),
        "LDIMM64",
    ),
    (
        [Instruction.lddw(1, 55), EXIT],
        CoreRelo(0, TASK, "0", K.TYPE_SIZE),
        r"\(LDIMM64\) value: got 55, exp 56 -> 64",
    ),
    (
        [Instruction.lddw(1, 56), EXIT],
        CoreRelo(1, TASK, "0", K.TYPE_SIZE),
        "second half of an lddw",
    ),
    ([MOV, EXIT], CoreRelo(2, TASK, "0:1", K.FIELD_BYTE_OFFSET), "past the end"),
    ([MOV, EXIT], CoreRelo(-1, TASK, "0:1", K.FIELD_BYTE_OFFSET), "past the end"),
    ([MOV, EXIT], CoreRelo(0, 10_000, "0:1", K.FIELD_BYTE_OFFSET), "out of range"),
    (
        [MOV, EXIT],
        CoreRelo(0, TASK, "0:x", K.FIELD_BYTE_OFFSET),
        r"parsing \[\d+\] struct task_struct \+ 0:x failed",
    ),
    ([MOV, EXIT], CoreRelo(0, TASK, "0:1", 13), "unrecognized CO-RE relocation kind 13"),  # type: ignore[arg-type]
    (
        [Instruction(Class.LDX | Mode.MEM | Size.W, 0, 1, off=4), EXIT],
        CoreRelo(0, TASK, "0:1", K.FIELD_BYTE_OFFSET),
        None,
    ),
    (
        [Instruction(Class.LDX | Mode.MEM | Size.H, 0, 1, off=4), EXIT],
        CoreRelo(0, TASK, "0:8", K.FIELD_BYTE_OFFSET),
        r"unexpected insn",
    ),
    (
        [Instruction(Class.LDX | Mode.MEM | Size.H, 0, 1, off=44), EXIT],
        CoreRelo(0, TASK, "0:8", K.FIELD_BYTE_OFFSET),
        r"unexpected mem size: got 2, exp 4",
    ),
    (
        [Instruction(Class.ALU64 | AluOp.MOV | Source.K, 1, imm=24), EXIT],
        CoreRelo(0, TASK, "0:4", K.FIELD_LSHIFT_U64),
        "got 24, exp 4294967232 -> 4294967232",
    ),  # u32 wrap, as libbpf
    (
        [Instruction(Class.ALU64 | AluOp.MOV | Source.K, 1, imm=1), EXIT],
        CoreRelo(0, TASK, "0:4:1", K.FIELD_SIGNED),
        "can't be applied to array access",
    ),
]


@pytest.mark.parametrize(("insns", "relo", "message"), BAD)
def test_bad_relocations(insns: list[Instruction], relo: CoreRelo, message: str | None) -> None:
    if message is None:
        relocate_one(insns, relo)
        return
    with pytest.raises(CoreError, match=message) as err:
        relocate_one(insns, relo)
    assert isinstance(err.value, BTFError)
    assert err.value.program == "prog" and err.value.relo == 0
    assert str(err.value).startswith("prog 'prog' relo #0")


def test_offset_too_big_for_off_field() -> None:
    from tests.spec._core_btf import BTFBuilder

    t = BTFBuilder()
    i = t.int("int", 4, signed=True)
    t.struct("task_struct", 70_000, [("pid", i, 40_000 * 8)])
    ldx = Instruction(Class.LDX | Mode.MEM | Size.W, 0, 1, off=0)
    prog = program(LOCAL, [ldx, EXIT], [CoreRelo(0, TASK, "0:0", K.FIELD_BYTE_OFFSET)])
    with pytest.raises(CoreError, match="value too big: 40000"):
        relocate(prog, t.build())  # type: ignore[type-var]


def test_bitfield_no_load_covers() -> None:
    from tests.spec._core_btf import BTFBuilder

    b = BTFBuilder()
    u64 = b.int("u64", 8)
    s = b.struct("s", 16, [("x", u64, 60, 8)])  # bits 60..67 straddle two u64s
    btf = b.build()
    prog = program(btf, [MOV, EXIT], [CoreRelo(0, s, "0:0", K.FIELD_BYTE_SIZE)])
    with pytest.raises(CoreError, match="can't be satisfied for bitfield"):
        relocate(prog, btf)  # type: ignore[type-var]


def test_bitfield_load_widens_to_cover() -> None:
    from tests.spec._core_btf import BTFBuilder

    b = BTFBuilder()
    u8 = b.int("u8", 1)
    s = b.struct("s", 4, [("x", u8, 7, 2)])  # bits 7..8 straddle two bytes: a u16 load
    btf = b.build()
    mov = Instruction(Class.ALU64 | AluOp.MOV | Source.K, 1, imm=2)
    prog = program(btf, [mov, EXIT], [CoreRelo(0, s, "0:0", K.FIELD_BYTE_SIZE)])
    _, (r,) = relocate(prog, btf)  # type: ignore[type-var]
    assert r.new == 2


def test_program_without_btf() -> None:
    prog = program(LOCAL, [MOV], [CoreRelo(0, TASK, "0:1", K.FIELD_BYTE_OFFSET)])
    assert isinstance(prog, ProgramSpec)
    prog.btf = None
    with pytest.raises(CoreError, match="no BTF"):
        relocate(prog, KERNEL)


def test_autoload_off_is_skipped() -> None:
    prog = program(LOCAL, [MOV], [CoreRelo(0, TASK, "0:9", K.FIELD_BYTE_OFFSET)])
    assert isinstance(prog, ProgramSpec)
    prog.autoload = False
    out, results = relocate(prog, KERNEL)
    assert results == [] and out.instructions == [MOV] and len(out.core_relos) == 1


@settings(max_examples=200)
@given(
    access=st.text(alphabet="0123456789:-x ", max_size=12),
    kind=st.integers(0, 14),
    type_id=st.integers(-2, 40),
    insn=st.tuples(
        st.integers(0, 255),
        st.integers(0, 10),
        st.integers(0, 10),
        st.integers(-(2**15), 2**15 - 1),
        st.integers(-(2**31), 2**31 - 1),
    ),
    slot=st.integers(-1, 3),
)
def test_any_record_relocates_or_raises_a_pybpf_error(
    access: str, kind: int, type_id: int, insn: tuple[int, int, int, int, int], slot: int
) -> None:
    opcode, dst, src, off, imm = insn
    first = (
        Instruction.lddw(dst, imm) if opcode == 0x18 else Instruction(opcode, dst, src, off, imm)
    )
    prog = program(LOCAL, [first, EXIT], [CoreRelo(slot, type_id, access, kind)])  # type: ignore[arg-type]
    with contextlib.suppress(BPFError):
        relocate(prog, KERNEL)  # type: ignore[type-var]


def test_explain_verifier_log() -> None:
    prog = program(
        LOCAL,
        [MOV, MOV, EXIT],
        [CoreRelo(1, LIDS["task_struct___old"], "0:0", K.FIELD_BYTE_OFFSET)],
    )
    assert isinstance(prog, ProgramSpec)
    prog.instructions[1] = Instruction(Class.ALU64 | AluOp.MOV | Source.K, dst=1, imm=0)
    _, results = relocate(prog, KERNEL)
    log = (
        "0: R1=ctx() R10=fp0\n0: (b7) r1 = 4\n1: (85) call unknown#195896080\n"
        "invalid func unknown#195896080\nprocessed 2 insns"
    )
    assert explain_verifier_log(log, results) == (
        "0: R1=ctx() R10=fp0\n0: (b7) r1 = 4\n1: <invalid CO-RE relocation>\n"
        f"failed to resolve CO-RE relocation <byte_off> [{LIDS['task_struct___old']}] struct "
        "task_struct___old.state (0:0 @ offset 0)\nprocessed 2 insns"
    )
    assert explain_verifier_log("unrelated", results) == "unrelated"
