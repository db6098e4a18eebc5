"""Small programs for the tests, written with the opcode table's row names."""

from __future__ import annotations

from pybpf.asm.instruction import Instruction
from pybpf.asm.opcodes import OPS_BY_NAME, PseudoSrc


def op(name: str, dst: int = 0, src: int = 0, off: int = 0, imm: int = 0) -> Instruction:
    """The instruction of table row ``name`` with these operands."""
    row = OPS_BY_NAME[name]
    fields = {"dst": dst, "src": src, "off": off, "imm": imm}
    if row.key is not None:
        fields[row.key[0]] = row.key[1]
    return Instruction(row.code, fields["dst"], fields["src"], fields["off"], fields["imm"])


EXIT = op("JMP.EXIT")


def ret(value: int) -> list[Instruction]:
    """``r0 = value; exit``."""
    return [op("ALU64.MOV.K", 0, imm=value), EXIT]


RET0 = tuple(ret(0))


def map_fd(dst: int, name: str) -> Instruction:
    """``lddw dst, map[name]``: a reference the loader fills in."""
    return Instruction.lddw(dst, 0, src=PseudoSrc.MAP_FD).with_fields(ref=name)


def count_into(name: str, ret_value: int = 1) -> list[Instruction]:
    """Increment the u64 at key 0 of map ``name`` (an array), then return ``ret_value``."""
    return [
        op("ST.MEM.W", 10, off=-4, imm=0),
        op("ALU64.MOV.X", 2, 10),
        op("ALU64.ADD.K", 2, imm=-4),
        map_fd(1, name),
        op("CALL.HELPER", imm=1),  # bpf_map_lookup_elem
        op("JMP.JEQ.K", 0, off=2, imm=0),
        op("ALU64.MOV.K", 1, imm=1),
        op("STX.ATOMIC.DW.ADD", 0, 1, 0),
        op("ALU64.MOV.K", 0, imm=ret_value),
        EXIT,
    ]
