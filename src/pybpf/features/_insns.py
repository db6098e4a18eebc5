"""Probe programs, written with the opcode table's row names."""

from __future__ import annotations

from pybpf.asm.instruction import Instruction
from pybpf.asm.opcodes import OPS_BY_NAME

__all__ = ["EXIT", "RET0", "call", "op"]


def op(name: str, dst: int = 0, src: int = 0, off: int = 0, imm: int = 0) -> Instruction:
    """The instruction of table row ``name`` (``"ALU64.MOV.K"``) with these operands."""
    row = OPS_BY_NAME[name]
    fields = {"dst": dst, "src": src, "off": off, "imm": imm}
    if row.key is not None:
        fields[row.key[0]] = row.key[1]
    return Instruction(row.code, fields["dst"], fields["src"], fields["off"], fields["imm"])


def call(helper_id: int) -> Instruction:
    """``call helper_id``."""
    return op("CALL.HELPER", imm=helper_id)


EXIT = op("JMP.EXIT")
RET0 = (op("ALU64.MOV.K", 0, imm=0), EXIT)
"""``r0 = 0; exit``: the smallest valid program."""
