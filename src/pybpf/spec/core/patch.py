"""Patching one instruction with a relocation's value (libbpf's ``bpf_core_patch_insn``), or
poisoning it.

The instruction forms CO-RE relocates::

    ALU/ALU64, K source   rX = imm, rX += imm ...          imm      <- value (32 bits)
    LDX / ST / STX        rX = *(T *)(rY + off) ...        off      <- value (<= 32767)
                                                           size T   <- field size, if it
                                                                       changed and it is safe
    LD | IMM | DW         rX = imm64 (lddw, src 0)         imm64    <- value (64 bits)

A relocation whose target is missing poisons its instruction: it becomes
``call 0xbad2310`` (helper id 195896080, "bad relo"). Dead code (guarded by
``bpf_core_field_exists()`` and the like) is removed by the verifier; reachable code makes it
fail with ``invalid func unknown#195896080`` at that instruction. An ``lddw`` becomes two
such calls, keeping its two slots.
"""

from __future__ import annotations

from pybpf._util import s32
from pybpf.asm.instruction import Instruction
from pybpf.asm.opcodes import Class, JmpOp, Size, Source
from pybpf.spec.core.calc import CoreValues
from pybpf.spec.core.errors import CoreError

__all__ = ["POISON_HELPER", "PatchResult", "patch_insn", "poison_insn"]

POISON_HELPER = 0xBAD2310
"""The helper id a poisoned instruction calls (195896080)."""

_U64 = (1 << 64) - 1
_SHRT_MAX = 0x7FFF
_SIZE_BITS = 0x18
_BY_BYTES = {8: Size.DW, 4: Size.W, 2: Size.H, 1: Size.B}
_CALL = Instruction(Class.JMP | JmpOp.CALL, imm=POISON_HELPER)

PatchResult = tuple[list[Instruction], list[str], str]
"""What patching gives: the instructions that replace the patched one (two for a poisoned
``lddw``), libbpf's log lines, and the form patched (``"ALU/ALU64"``, ``"LDX/ST/STX"``,
``"LDIMM64"``, or ``""`` when poisoned)."""


def poison_insn(insn: Instruction, slot: int, prefix: str) -> PatchResult:
    """Replace ``insn`` (at ``slot``) by ``call 0xbad2310`` -- twice for an ``lddw``."""
    if insn.is_wide:
        lines = [f"{prefix}substituting insn #{n} w/ invalid insn" for n in (slot + 1, slot)]
        return [_CALL, _CALL], lines, ""
    return [_CALL], [f"{prefix}substituting insn #{slot} w/ invalid insn"], ""


def patch_insn(insn: Instruction, values: CoreValues, slot: int, prefix: str = "") -> PatchResult:
    """Apply ``values`` to ``insn`` at slot ``slot``; ``prefix`` starts each log line
    (``"prog 'x': relo #3: "``).

    Raises:
        CoreError: the instruction does not hold ``values.orig`` (when it is checked), is
            not a form CO-RE patches, the new offset does not fit, or its access size is
            not the one expected.
    """
    if values.poison:
        return poison_insn(insn, slot, prefix)
    cls = insn.opcode & 0x07
    if cls in (Class.ALU, Class.ALU64):
        return _patch_alu(insn, values, slot, prefix)
    if cls in (Class.LDX, Class.ST, Class.STX):
        return _patch_mem(insn, values, slot, prefix)
    if cls == Class.LD:
        return _patch_lddw(insn, values, slot, prefix)
    raise CoreError(
        f"trying to relocate unrecognized insn #{slot}, code:{insn.opcode:#x}, "
        f"src:{insn.src:#x}, dst:{insn.dst:#x}, off:{insn.off & 0xFFFF:#x}, "
        f"imm:{insn.imm & 0xFFFFFFFF:#x}",
        insn=slot,
    )


def _unexpected(slot: int, form: str, got: int, values: CoreValues) -> CoreError:
    return CoreError(
        f"unexpected insn #{slot} ({form}) value: got {got}, exp {values.orig} -> {values.new}",
        insn=slot,
    )


def _patch_alu(insn: Instruction, values: CoreValues, slot: int, prefix: str) -> PatchResult:
    if insn.opcode & Source.X:
        raise CoreError(f"insn #{slot} (ALU/ALU64) has a register operand", insn=slot)
    if values.validate and insn.imm & _U64 != values.orig:
        raise _unexpected(slot, "ALU/ALU64", insn.imm, values)
    line = f"{prefix}patched insn #{slot} (ALU/ALU64) imm {insn.imm & _U64} -> {values.new}"
    patched = Instruction(insn.opcode, insn.dst, insn.src, insn.off, s32(values.new), 0, insn.ref)
    return [patched], [line], "ALU/ALU64"


def _patch_mem(insn: Instruction, values: CoreValues, slot: int, prefix: str) -> PatchResult:
    form = "LDX/ST/STX"
    if values.validate and insn.off & _U64 != values.orig:
        raise _unexpected(slot, form, insn.off, values)
    if values.new > _SHRT_MAX:
        raise CoreError(f"insn #{slot} ({form}) value too big: {values.new}", insn=slot)
    if values.bad_resize:
        warning = (
            f"{prefix}insn #{slot} ({form}) accesses field incorrectly. Make sure you are "
            "accessing pointers, unsigned integers, or fields of matching type and size."
        )
        calls, lines, _ = poison_insn(insn, slot, prefix)
        return calls, [warning, *lines], ""
    lines = [f"{prefix}patched insn #{slot} ({form}) off {insn.off & _U64} -> {values.new}"]
    opcode = insn.opcode
    if values.new_size != values.orig_size:
        have = Size(opcode & _SIZE_BITS).nbytes
        if have != values.orig_size:
            raise CoreError(
                f"insn #{slot} ({form}) unexpected mem size: got {have}, exp {values.orig_size}",
                insn=slot,
            )
        size = _BY_BYTES.get(values.new_size)
        if size is None:
            raise CoreError(
                f"insn #{slot} ({form}) invalid new mem size: {values.new_size}",
                insn=slot,
            )
        opcode = (opcode & ~_SIZE_BITS) | size
        lines.append(
            f"{prefix}patched insn #{slot} ({form}) mem_sz {values.orig_size} -> {values.new_size}"
        )
    patched = Instruction(opcode, insn.dst, insn.src, values.new, insn.imm, 0, insn.ref)
    return [patched], lines, form


def _patch_lddw(insn: Instruction, values: CoreValues, slot: int, prefix: str) -> PatchResult:
    if not insn.is_wide or insn.src != 0 or insn.off != 0 or insn.ref is not None:
        raise CoreError(f"insn #{slot} (LDIMM64) has unexpected form", insn=slot)
    imm = insn.imm64
    if values.validate and imm != values.orig:
        raise _unexpected(slot, "LDIMM64", imm, values)
    new = values.new & _U64
    patched = insn.with_fields(imm=s32(new), imm_hi=s32(new >> 32))
    line = f"{prefix}patched insn #{slot} (LDIMM64) imm64 {imm} -> {values.new}"
    return [patched], [line], "LDIMM64"
