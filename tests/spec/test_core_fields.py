"""Field relocations against synthetic kernel BTF: moved, renamed (flavors), missing,
resized and bitfield members, arrays and anonymous structs/unions.

Expected values are computed by hand from the layouts drawn in ``_core_btf.py``.
"""

from __future__ import annotations

import pytest

from pybpf.asm.instruction import Instruction
from pybpf.asm.opcodes import AluOp, Class, JmpOp, Mode, Size, Source
from pybpf.spec.core import POISON_HELPER, CoreResult, relocate
from pybpf.spec.specs import CoreRelo, ProgramSpec
from pybpf.spec.specs import CoreReloKind as K
from tests.spec._core_btf import kernel_btf, local_btf, program

KERNEL, KIDS = kernel_btf()
LOCAL, LIDS = local_btf()
TASK, KTASK = LIDS["task_struct"], KIDS["task_struct"]


def mov(imm: int) -> Instruction:
    return Instruction(Class.ALU64 | AluOp.MOV | Source.K, dst=1, imm=imm)


def ldx(size: Size, off: int) -> Instruction:
    return Instruction(Class.LDX | Mode.MEM | size, dst=0, src=1, off=off)


def run(insn: Instruction, type_id: int, access: str, kind: K) -> tuple[Instruction, CoreResult]:
    """Relocate a one-relocation program; return the patched instruction and the result."""
    prog = program(
        LOCAL, [insn, Instruction(Class.JMP | JmpOp.EXIT)], [CoreRelo(0, type_id, access, kind)]
    )
    assert isinstance(prog, ProgramSpec)
    out, (result,) = relocate(prog, KERNEL)
    return out.instructions[0], result


# (field, local access, local byte offset, target byte offset, target spec text)
MOVED = [
    ("pid", "0:0", 0, 4, f"<byte_off> [{KTASK}] struct task_struct.pid (0:1:0 @ offset 4)"),
    ("tgid", "0:1", 4, 8, f"<byte_off> [{KTASK}] struct task_struct.tgid (0:1:1 @ offset 8)"),
    ("flags", "0:2", 8, 0, f"<byte_off> [{KTASK}] struct task_struct.flags (0:0 @ offset 0)"),
    ("mm", "0:3", 16, 24, f"<byte_off> [{KTASK}] struct task_struct.mm (0:3 @ offset 24)"),
    ("tail", "0:10", 52, 56, f"<byte_off> [{KTASK}] struct task_struct.tail (0:10 @ offset 56)"),
    (
        "comm[3]",
        "0:4:3",
        27,
        35,
        f"<byte_off> [{KTASK}] struct task_struct.comm[3] (0:4:3 @ offset 35)",
    ),
]


@pytest.mark.parametrize(("field", "access", "old", "new", "target"), MOVED)
def test_moved_member_alu(field: str, access: str, old: int, new: int, target: str) -> None:
    insn, r = run(mov(old), TASK, access, K.FIELD_BYTE_OFFSET)
    assert insn == mov(new)
    assert r.target_spec == target
    assert r.local_spec.startswith(f"<byte_off> [{TASK}] struct task_struct.{field} (")
    assert r.log[-1] == f"prog 'prog': relo #0: patched insn #0 (ALU/ALU64) imm {old} -> {new}"
    assert (r.orig, r.new, r.poisoned, r.form) == (old, new, False, "ALU/ALU64")


def test_moved_member_ldx_keeps_size_of_same_sized_field() -> None:
    insn, r = run(ldx(Size.DW, 16), TASK, "0:3", K.FIELD_BYTE_OFFSET)  # mm: pointer, 8 both
    assert insn == ldx(Size.DW, 24)
    assert r.log[-1] == "prog 'prog': relo #0: patched insn #0 (LDX/ST/STX) off 16 -> 24"


def test_member_of_other_struct_through_pointer() -> None:
    insn, r = run(mov(0), LIDS["mm_struct"], "0:0", K.FIELD_BYTE_OFFSET)
    assert insn.imm == 8
    assert r.target_spec == (
        f"<byte_off> [{KIDS['mm_struct']}] struct mm_struct.start_code (0:1 @ offset 8)"
    )


def test_flavor_finds_renamed_member_in_anonymous_union() -> None:
    insn, r = run(mov(0), LIDS["task_struct___new"], "0:0", K.FIELD_BYTE_OFFSET)
    assert insn.imm == 16
    assert r.log[0] == (
        f"CO-RE relocating [{LIDS['task_struct___new']}] struct task_struct___new: found "
        f"target candidate [{KTASK}] struct task_struct in [vmlinux]"
    )
    assert r.target_spec == f"<byte_off> [{KTASK}] struct task_struct.__state (0:2:0 @ offset 16)"


def test_missing_member_exists_is_zero() -> None:
    insn, r = run(mov(1), LIDS["task_struct___old"], "0:0", K.FIELD_EXISTS)
    assert insn == mov(0)
    assert r.target_spec is None and not r.poisoned
    assert r.log[-3:] == (
        f"prog 'prog': relo #0: non-matching candidate #0 <field_exists> [{KTASK}] struct "
        "task_struct (0 @ offset 0)",
        "prog 'prog': relo #0: no matching targets found",
        "prog 'prog': relo #0: patched insn #0 (ALU/ALU64) imm 1 -> 0",
    )


def test_present_member_exists_is_one() -> None:
    insn, _ = run(mov(1), TASK, "0:9", K.FIELD_EXISTS)
    assert insn == mov(1)


@pytest.mark.parametrize("kind", [K.FIELD_BYTE_OFFSET, K.FIELD_BYTE_SIZE, K.FIELD_SIGNED])
def test_missing_member_poisons(kind: K) -> None:
    insn, r = run(mov(0), LIDS["task_struct___old"], "0:0", kind)
    assert insn == Instruction(Class.JMP | JmpOp.CALL, imm=POISON_HELPER)
    assert POISON_HELPER == 195896080
    assert r.poisoned and r.form == "" and r.reason == "no matching targets found"
    assert r.log[-1] == "prog 'prog': relo #0: substituting insn #0 w/ invalid insn"


def test_resized_unsigned_member_narrows_the_load() -> None:
    insn, r = run(ldx(Size.W, 44), TASK, "0:8", K.FIELD_BYTE_OFFSET)  # small: u32 -> u16
    assert insn == ldx(Size.H, 52)
    assert r.log[-2:] == (
        "prog 'prog': relo #0: patched insn #0 (LDX/ST/STX) off 44 -> 52",
        "prog 'prog': relo #0: patched insn #0 (LDX/ST/STX) mem_sz 4 -> 2",
    )


def test_resized_signed_member_load_is_poisoned() -> None:
    insn, r = run(ldx(Size.W, 48), TASK, "0:9", K.FIELD_BYTE_OFFSET)  # nice: int -> s16
    assert insn.opcode == Class.JMP | JmpOp.CALL and insn.imm == POISON_HELPER
    assert r.poisoned and "resized" in r.reason
    assert r.log[-2] == (
        "prog 'prog': relo #0: insn #0 (LDX/ST/STX) accesses field incorrectly. Make sure you "
        "are accessing pointers, unsigned integers, or fields of matching type and size."
    )


def test_resized_signed_member_offset_in_alu_is_fine() -> None:
    insn, _ = run(mov(48), TASK, "0:9", K.FIELD_BYTE_OFFSET)
    assert insn == mov(54)


def test_resized_member_size() -> None:
    insn, _ = run(mov(4), TASK, "0:8", K.FIELD_BYTE_SIZE)
    assert insn == mov(2)


def test_array_member_size_and_element() -> None:
    assert run(mov(16), TASK, "0:4", K.FIELD_BYTE_SIZE)[0] == mov(16)
    assert run(mov(1), TASK, "0:4:3", K.FIELD_BYTE_SIZE)[0] == mov(1)  # one char
    # a load of comm[0] is a 1-byte load on both sides
    assert run(ldx(Size.B, 24), TASK, "0:4:0", K.FIELD_BYTE_OFFSET)[0] == ldx(Size.B, 32)


# Bitfields: in_iowait is bit 321 (local) / 389 (target) of a u32; prio 7 bits at 322 / 390.
#   load: the aligned u32 covering it: byte 40 local, 48 target.
#   lshift (little-endian) = 64 - (bit_off + bit_sz - byte_off * 8); rshift = 64 - bit_sz
BITFIELDS = [
    ("0:6", K.FIELD_BYTE_OFFSET, 40, 48),
    ("0:6", K.FIELD_BYTE_SIZE, 4, 4),
    ("0:6", K.FIELD_LSHIFT_U64, 64 - (321 + 1 - 320), 64 - (389 + 1 - 384)),
    ("0:6", K.FIELD_RSHIFT_U64, 63, 63),
    ("0:6", K.FIELD_SIGNED, 0, 0),
    ("0:7", K.FIELD_LSHIFT_U64, 64 - (322 + 7 - 320), 64 - (390 + 7 - 384)),
    ("0:7", K.FIELD_RSHIFT_U64, 57, 57),
    ("0:7", K.FIELD_SIGNED, 1, 1),
    ("0:5", K.FIELD_EXISTS, 1, 1),
]


@pytest.mark.parametrize(("access", "kind", "old", "new"), BITFIELDS)
def test_bitfields(access: str, kind: K, old: int, new: int) -> None:
    insn, r = run(mov(old), TASK, access, kind)
    assert insn == mov(new)
    assert r.local_spec.endswith("@ offset 40.1)" if access == "0:6" else ")")


def test_bitfield_specs_print_bit_offsets() -> None:
    _, r = run(mov(40), TASK, "0:6", K.FIELD_BYTE_OFFSET)
    assert r.local_spec == f"<byte_off> [{TASK}] struct task_struct.in_iowait (0:6 @ offset 40.1)"
    assert r.target_spec == f"<byte_off> [{KTASK}] struct task_struct.in_iowait (0:6 @ offset 48.5)"


def test_bitfield_values_are_not_validated() -> None:
    """libbpf does not check the compiler's bitfield offset (it may legitimately differ)."""
    insn, r = run(mov(12345), TASK, "0:6", K.FIELD_BYTE_OFFSET)
    assert insn == mov(48) and r.orig == 40


def test_big_endian_lshift() -> None:
    local, lids = local_btf("big")
    kernel, _ = kernel_btf("big")
    relo = CoreRelo(0, lids["task_struct"], "0:7", K.FIELD_LSHIFT_U64)
    prog = program(local, [mov(34)], [relo], byte_order="big")
    assert isinstance(prog, ProgramSpec)
    out, (r,) = relocate(prog, kernel)
    # big-endian: (8 - byte_sz) * 8 + (bit_off - byte_off * 8): 32 + 2 local, 32 + 6 target
    assert (r.orig, r.new) == (34, 38)
    assert out.instructions[0] == mov(38)


def test_input_spec_is_not_changed() -> None:
    prog = program(LOCAL, [mov(0)], [CoreRelo(0, TASK, "0:0", K.FIELD_BYTE_OFFSET)])
    assert isinstance(prog, ProgramSpec)
    out, _ = relocate(prog, KERNEL)
    assert prog.instructions == [mov(0)] and len(prog.core_relos) == 1
    assert out.instructions == [mov(4)] and out.core_relos == []
    out.instructions.append(mov(1))
    assert prog.instructions == [mov(0)]


def test_store_and_st_offsets() -> None:
    stx = Instruction(Class.STX | Mode.MEM | Size.W, dst=1, src=2, off=52)
    st = Instruction(Class.ST | Mode.MEM | Size.W, dst=1, off=52, imm=7)
    assert run(stx, TASK, "0:10", K.FIELD_BYTE_OFFSET)[0] == stx.with_fields(off=56)
    assert run(st, TASK, "0:10", K.FIELD_BYTE_OFFSET)[0] == st.with_fields(off=56)
