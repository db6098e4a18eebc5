"""The ISA layer: the opcode table, instructions, assembler, disassembler and builder.

Pure: bytes and text in, values out; no I/O, no privileges.
"""

from __future__ import annotations

from pybpf.asm.helpers import HELPER_IDS, HELPER_NAMES
from pybpf.asm.instruction import MAX_REG, Instruction, decode, encode, iter_decode
from pybpf.asm.opcodes import (
    OPS,
    OPS_BY_CODE,
    OPS_BY_NAME,
    AluOp,
    AtomicOp,
    CallKind,
    Class,
    Field,
    JmpOp,
    Kind,
    Mode,
    Op,
    PseudoSrc,
    Size,
    Source,
)

__all__ = [
    "HELPER_IDS",
    "HELPER_NAMES",
    "MAX_REG",
    "OPS",
    "OPS_BY_CODE",
    "OPS_BY_NAME",
    "AluOp",
    "AtomicOp",
    "CallKind",
    "Class",
    "Field",
    "Instruction",
    "JmpOp",
    "Kind",
    "Mode",
    "Op",
    "PseudoSrc",
    "Size",
    "Source",
    "decode",
    "encode",
    "iter_decode",
]
