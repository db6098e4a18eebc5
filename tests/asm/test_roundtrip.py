"""Every row of the opcode table survives encode → decode and print → assemble.

Representative operand values for each row (zero, ±1, the ±10 edge of uBPF's decimal
spelling, field extremes) in both syntaxes, both byte orders, with and without alu32.
"""

from __future__ import annotations

import pytest

from pybpf.asm.assembler import assemble
from pybpf.asm.disasm import disassemble, format_instruction
from pybpf.asm.instruction import Instruction, decode, encode
from pybpf.asm.opcodes import OPS, Op
from tests.asm.strategies import representative

ORDERS = ("little", "big")
ROWS = [pytest.param(op, id=op.name) for op in OPS]


@pytest.mark.parametrize("byteorder", ORDERS)
@pytest.mark.parametrize("op", ROWS)
def test_encode_decode_equal(op: Op, byteorder: str) -> None:
    insns = representative(op)
    data = encode(insns, byteorder)  # type: ignore[arg-type]
    assert decode(data, byteorder) == insns  # type: ignore[arg-type]
    assert all(insn.op is op for insn in insns)


@pytest.mark.parametrize("alu32", [False, True])
@pytest.mark.parametrize("syntax", ["llvm", "ubpf"])
@pytest.mark.parametrize("op", ROWS)
def test_print_then_assemble_gives_the_same_instruction(op: Op, syntax: str, alu32: bool) -> None:
    for insn in representative(op):
        text = format_instruction(insn, syntax=syntax, alu32=alu32)  # type: ignore[arg-type]
        assert assemble(text, syntax) == [insn], text  # type: ignore[arg-type]


@pytest.mark.parametrize("byteorder", ORDERS)
@pytest.mark.parametrize("syntax", ["llvm", "ubpf"])
def test_whole_table_listing_round_trips_through_bytes(syntax: str, byteorder: str) -> None:
    insns = [insn for op in OPS for insn in representative(op)]
    data = encode(insns, byteorder)  # type: ignore[arg-type]
    listing = disassemble(data, byteorder=byteorder, syntax=syntax, labels=False, strict=False)  # type: ignore[arg-type]
    assert encode(assemble(listing, syntax), byteorder) == data  # type: ignore[arg-type]


def _program_with_every_kind_of_target() -> list[Instruction]:
    text = """
        r1 = func[pc+0x6] ll
        if r1 == 0x0 goto +0x3
        gotol +0x2
        call pc+0x3
        may_goto -0x3
        goto +0x1
        exit
        r0 = 0x1
        exit
    """
    return assemble(text, "llvm")


@pytest.mark.parametrize("syntax", ["llvm", "ubpf"])
def test_labelled_listing_round_trips(syntax: str) -> None:
    insns = _program_with_every_kind_of_target()
    listing = disassemble(insns, syntax=syntax)  # type: ignore[arg-type]
    assert assemble(listing, syntax) == insns  # type: ignore[arg-type]
    assert ":" in listing


@pytest.mark.parametrize("syntax", ["llvm", "ubpf"])
def test_listing_with_pcs_round_trips(syntax: str) -> None:
    insns = _program_with_every_kind_of_target()
    listing = disassemble(insns, syntax=syntax, show_pc=True)  # type: ignore[arg-type]
    assert assemble(listing, syntax) == insns  # type: ignore[arg-type]


def test_lddw_of_a_function_targets_relative_to_the_next_slot() -> None:
    # The kernel resolves BPF_PSEUDO_FUNC to subprog i + imm + 1, as for calls.
    insns = assemble("r1 = func[f] ll\nexit\nf:\nexit", "llvm")
    assert insns[0].imm == 2
    assert insns[0].jump_target(0) == 3
