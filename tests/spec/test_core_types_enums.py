"""Type relocations (type id local/target, exists, size, matches) and enumerator
relocations (exists, value; enum and enum64) against synthetic kernel BTF."""

from __future__ import annotations

import pytest

from pybpf.asm.instruction import Instruction
from pybpf.asm.opcodes import AluOp, Class, JmpOp, Source
from pybpf.spec.core import POISON_HELPER, CoreResult, relocate
from pybpf.spec.specs import CoreRelo, ProgramSpec
from pybpf.spec.specs import CoreReloKind as K
from tests.spec._core_btf import kernel_btf, local_btf, program

KERNEL, KIDS = kernel_btf()
LOCAL, LIDS = local_btf()
CALL_POISON = Instruction(Class.JMP | JmpOp.CALL, imm=POISON_HELPER)


def mov(imm: int) -> Instruction:
    return Instruction(Class.ALU64 | AluOp.MOV | Source.K, dst=1, imm=imm)


def run(insn: Instruction, name: str, access: str, kind: K) -> tuple[list[Instruction], CoreResult]:
    relo = CoreRelo(0, LIDS[name], access, kind)
    prog = program(LOCAL, [insn, Instruction(Class.JMP | JmpOp.EXIT)], [relo])
    assert isinstance(prog, ProgramSpec)
    out, (result,) = relocate(prog, KERNEL)
    return out.instructions[:-1], result


# (local type, kind, instruction value before, after)
TYPES = [
    ("task_struct", K.TYPE_ID_TARGET, LIDS["task_struct"], KIDS["task_struct"]),
    ("task_t", K.TYPE_ID_TARGET, LIDS["task_t"], 0),  # no typedef task_t in the kernel
    ("task_struct___new", K.TYPE_EXISTS, 1, 1),
    ("nothing_here", K.TYPE_EXISTS, 1, 0),
    ("task_struct", K.TYPE_SIZE, 56, 64),
    ("task_t", K.TYPE_SIZE, 56, 0),
    ("mm_struct___match", K.TYPE_MATCHES, 1, 1),
    ("mm_struct___nomatch", K.TYPE_MATCHES, 1, 0),  # start_code: u32 here, u64 there
]


@pytest.mark.parametrize(("name", "kind", "old", "new"), TYPES)
def test_type_relocations(name: str, kind: K, old: int, new: int) -> None:
    insns, r = run(Instruction.lddw(1, old), name, "0", kind)
    assert insns == [Instruction.lddw(1, new)]
    assert r.log[-1] == f"prog 'prog': relo #0: patched insn #0 (LDIMM64) imm64 {old} -> {new}"
    assert not r.poisoned


def test_type_relocation_in_alu_imm() -> None:
    insns, r = run(mov(56), "task_struct", "0", K.TYPE_SIZE)
    assert insns == [mov(64)]
    assert r.local_spec == f"<type_size> [{LIDS['task_struct']}] struct task_struct"
    assert r.target_spec == f"<type_size> [{KIDS['task_struct']}] struct task_struct"
    assert r.target_id == KIDS["task_struct"] and r.target_btf == "vmlinux"


def test_type_id_local_needs_no_candidates() -> None:
    tid = LIDS["nothing_here"]
    insns, r = run(Instruction.lddw(1, tid), "nothing_here", "0", K.TYPE_ID_LOCAL)
    assert insns == [Instruction.lddw(1, tid)]
    assert r.log == (
        f"prog 'prog': relo #0: <local_type_id> [{tid}] struct nothing_here",
        f"prog 'prog': relo #0: patched insn #0 (LDIMM64) imm64 {tid} -> {tid}",
    )


def test_type_ids_are_not_validated() -> None:
    """The linker may renumber types, so libbpf does not check the old id."""
    insns, _ = run(Instruction.lddw(1, 999), "task_struct", "0", K.TYPE_ID_TARGET)
    assert insns == [Instruction.lddw(1, KIDS["task_struct"])]


def test_type_matches_log_lines() -> None:
    _, r = run(mov(1), "mm_struct___nomatch", "0", K.TYPE_MATCHES)
    lid, kid = LIDS["mm_struct___nomatch"], KIDS["mm_struct"]
    assert r.log == (
        f"CO-RE relocating [{lid}] struct mm_struct___nomatch: found target candidate [{kid}] "
        "struct mm_struct in [vmlinux]",
        f"prog 'prog': relo #0: <type_matches> [{lid}] struct mm_struct___nomatch",
        f"prog 'prog': relo #0: non-matching candidate #0 <type_matches> [{kid}] struct mm_struct",
        "prog 'prog': relo #0: no matching targets found",
        "prog 'prog': relo #0: patched insn #0 (ALU/ALU64) imm 1 -> 0",
    )


U64 = (1 << 64) - 1
# (local enum, access, kind, before, after)
ENUMS = [
    ("pid_type___local", "0", K.ENUMVAL_EXISTS, 1, 1),
    ("pid_type___local", "2", K.ENUMVAL_EXISTS, 1, 0),
    ("pid_type___local", "0", K.ENUMVAL_VALUE, 101, 1),
    ("pid_type___local", "1", K.ENUMVAL_VALUE, 103, 3),
    ("neg_enum", "0", K.ENUMVAL_VALUE, 7, U64),  # -1 as a u64
    ("high_enum", "0", K.ENUMVAL_VALUE, 1, 0xFFFFFFFF80000000),  # libbpf reads an __s32
    ("big_enum", "0", K.ENUMVAL_VALUE, 2, 1 << 40),  # enum64
    ("big_enum___32", "0", K.ENUMVAL_VALUE, 9, 5),  # a local enum matches a target enum64
]


@pytest.mark.parametrize(("name", "access", "kind", "old", "new"), ENUMS)
def test_enum_relocations(name: str, access: str, kind: K, old: int, new: int) -> None:
    insns, r = run(Instruction.lddw(1, old), name, access, kind)
    assert insns == [Instruction.lddw(1, new)]
    assert (r.orig, r.new) == (old, new)


def test_enum_specs_text() -> None:
    _, r = run(Instruction.lddw(1, 103), "pid_type___local", "1", K.ENUMVAL_VALUE)
    assert r.local_spec == (
        f"<enumval_value> [{LIDS['pid_type___local']}] enum pid_type___local"
        "::PIDTYPE_SID___local = 103"
    )
    assert r.target_spec == f"<enumval_value> [{KIDS['pid_type']}] enum pid_type::PIDTYPE_SID = 3"
    _, r = run(Instruction.lddw(1, 7), "neg_enum", "0", K.ENUMVAL_VALUE)
    assert r.target_spec == f"<enumval_value> [{KIDS['neg_enum']}] enum neg_enum::NEG_ONE = -1"
    _, r = run(Instruction.lddw(1, 2), "big_enum", "0", K.ENUMVAL_VALUE)
    assert r.target_spec == (
        f"<enumval_value> [{KIDS['big_enum']}] enum64 big_enum::BIG_A = {1 << 40}"
    )


def test_missing_enumerator_value_poisons_both_lddw_slots() -> None:
    insns, r = run(Instruction.lddw(1, 104), "pid_type___local", "2", K.ENUMVAL_VALUE)
    assert insns == [CALL_POISON, CALL_POISON]
    assert r.log[-2:] == (
        "prog 'prog': relo #0: substituting insn #1 w/ invalid insn",
        "prog 'prog': relo #0: substituting insn #0 w/ invalid insn",
    )
    assert r.log[-4] == (
        f"prog 'prog': relo #0: non-matching candidate #0 <enumval_value> [{KIDS['pid_type']}] "
        "enum pid_type::PIDTYPE_PID = 0"
    )


def test_poisoned_lddw_keeps_slot_numbers() -> None:
    """After a poisoned lddw, later relocations still find their instruction by slot."""
    lddw = Instruction.lddw(1, 104)
    relos = [
        CoreRelo(0, LIDS["pid_type___local"], "2", K.ENUMVAL_VALUE),
        CoreRelo(2, LIDS["task_struct"], "0", K.TYPE_SIZE),
    ]
    prog = program(LOCAL, [lddw, mov(56)], relos)
    assert isinstance(prog, ProgramSpec)
    out, results = relocate(prog, KERNEL)
    assert out.instructions == [CALL_POISON, CALL_POISON, mov(64)]
    assert [r.insn for r in results] == [0, 2]
