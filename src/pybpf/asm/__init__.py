"""The ISA layer: the opcode table, instructions, assembler, disassembler and builder.

Pure: bytes and text in, values out; no I/O, no privileges.

Example::

    >>> from pybpf.asm import assemble, disassemble, encode
    >>> prog = assemble("r0 = 1\\nexit")
    >>> print(disassemble(encode(prog)), end="")
    r0 = 0x1
    exit
"""

from __future__ import annotations

from pybpf._util import lazy_exports

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (PEP 781's idiom)
if TYPE_CHECKING:
    from pybpf.asm.assembler import assemble, assemble_bytes, detect_syntax
    from pybpf.asm.builder import (
        ALU,
        ALU64,
        CALL,
        FP,
        JMP,
        JMP32,
        LD,
        LDX,
        R0,
        R1,
        R2,
        R3,
        R4,
        R5,
        R6,
        R7,
        R8,
        R9,
        R10,
        ST,
        STX,
        Label,
        Reg,
        build,
    )
    from pybpf.asm.disasm import (
        DisassembledInstruction,
        check_program,
        disassemble,
        format_instruction,
        get_instructions,
    )
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

# Nothing is imported until it is used (see pybpf._util.lazy_exports): the loader needs
# Instruction and the opcode table, not the assembler's parser or the builder's namespaces.
__getattr__ = lazy_exports(
    __name__,
    {
        "pybpf.asm.assembler": "assemble assemble_bytes detect_syntax",
        "pybpf.asm.builder": (
            "ALU ALU64 CALL FP JMP JMP32 LD LDX R0 R1 R2 R3 R4 R5 R6 R7 R8 R9 R10 "
            "ST STX Label Reg build"
        ),
        "pybpf.asm.disasm": (
            "DisassembledInstruction check_program disassemble format_instruction get_instructions"
        ),
        "pybpf.asm.helpers": "HELPER_IDS HELPER_NAMES",
        "pybpf.asm.instruction": "MAX_REG Instruction decode encode iter_decode",
        "pybpf.asm.opcodes": (
            "OPS OPS_BY_CODE OPS_BY_NAME AluOp AtomicOp CallKind Class Field JmpOp "
            "Kind Mode Op PseudoSrc Size Source"
        ),
    },
)

__all__ = [
    "ALU",
    "ALU64",
    "CALL",
    "FP",
    "HELPER_IDS",
    "HELPER_NAMES",
    "JMP",
    "JMP32",
    "LD",
    "LDX",
    "MAX_REG",
    "OPS",
    "OPS_BY_CODE",
    "OPS_BY_NAME",
    "R0",
    "R1",
    "R2",
    "R3",
    "R4",
    "R5",
    "R6",
    "R7",
    "R8",
    "R9",
    "R10",
    "ST",
    "STX",
    "AluOp",
    "AtomicOp",
    "CallKind",
    "Class",
    "DisassembledInstruction",
    "Field",
    "Instruction",
    "JmpOp",
    "Kind",
    "Label",
    "Mode",
    "Op",
    "PseudoSrc",
    "Reg",
    "Size",
    "Source",
    "assemble",
    "assemble_bytes",
    "build",
    "check_program",
    "decode",
    "detect_syntax",
    "disassemble",
    "encode",
    "format_instruction",
    "get_instructions",
    "iter_decode",
]
