"""Probe programs, written with the opcode table's row names.

``EXIT`` and ``RET0`` are made on first use (module ``__getattr__``): the features a load
asks about are defined beside probes it never runs, and the opcode table is not built for a
process that probes nothing.
"""

from __future__ import annotations

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (PEP 781's idiom)
if TYPE_CHECKING:
    from pybpf.asm.instruction import Instruction

    EXIT: Instruction
    RET0: tuple[Instruction, Instruction]

__all__ = ["EXIT", "RET0", "call", "op"]


def op(name: str, dst: int = 0, src: int = 0, off: int = 0, imm: int = 0) -> Instruction:
    """The instruction of table row ``name`` (``"ALU64.MOV.K"``) with these operands."""
    from pybpf.asm.instruction import Instruction  # noqa: PLC0415 - see the module docstring
    from pybpf.asm.opcodes import OPS_BY_NAME  # noqa: PLC0415

    row = OPS_BY_NAME[name]
    fields = {"dst": dst, "src": src, "off": off, "imm": imm}
    if row.key is not None:
        fields[row.key[0]] = row.key[1]
    return Instruction(row.code, fields["dst"], fields["src"], fields["off"], fields["imm"])


def call(helper_id: int) -> Instruction:
    """``call helper_id``."""
    return op("CALL.HELPER", imm=helper_id)


def __getattr__(name: str) -> object:
    """``EXIT`` (``exit``) and ``RET0`` (``r0 = 0; exit``: the smallest valid program)."""
    if name == "EXIT":
        value: object = op("JMP.EXIT")
    elif name == "RET0":
        value = (op("ALU64.MOV.K", 0, imm=0), op("JMP.EXIT"))
    else:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    globals()[name] = value
    return value
