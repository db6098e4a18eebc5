"""Candidate search: flavors, kinds, ambiguity, pruning, and vmlinux before modules."""

from __future__ import annotations

import pytest

from pybpf.asm.instruction import Instruction
from pybpf.asm.opcodes import AluOp, Class, Source
from pybpf.btf._btf import BTF
from pybpf.spec.core import (
    CandidateCache,
    CoreError,
    CoreResult,
    find_candidates,
    make_targets,
    relocate,
    relocate_program,
)
from pybpf.spec.specs import CollectionSpec, CoreRelo, ProgramSpec
from pybpf.spec.specs import CoreReloKind as K
from tests.spec._core_btf import BTFBuilder, program


def mov(imm: int) -> Instruction:
    return Instruction(Class.ALU64 | AluOp.MOV | Source.K, dst=1, imm=imm)


def local_s() -> tuple[BTF, int]:
    """Local: struct s { int x; int y; } (x at 0, y at 4)."""
    b = BTFBuilder()
    i = b.int("int", 4, signed=True)
    s = b.struct("s", 8, [("x", i, 0), ("y", i, 32)])
    return b.build(), s


def relocate_s(target: BTF | list[BTF], *relos: tuple[str, K, int]) -> list[CoreResult]:
    local, s = local_s()
    insns = [mov(v) for _, _, v in relos]
    prog = program(local, insns, [CoreRelo(i, s, a, k) for i, (a, k, _) in enumerate(relos)])
    assert isinstance(prog, ProgramSpec)
    return relocate(prog, target)[1]


def test_candidates_by_essential_name_and_kind() -> None:
    t = BTFBuilder()
    i = t.int("int", 4, signed=True)
    ids = [
        t.struct("s", 4, [("x", i, 0)]),
        t.struct("s___v2", 4, [("x", i, 0)]),
        t.struct("s___v2___v3", 4, [("x", i, 0)]),  # essential name s___v2
        t.struct("s____x", 4, [("x", i, 0)]),  # four underscores: no flavor
        t.union("s___u", 4, [("x", i, 0)]),  # wrong kind
        t.typedef("s___t", i),
        t.struct("xs", 4, [("x", i, 0)]),
    ]
    target = t.build()
    local, s = local_s()
    found = find_candidates(local, s, make_targets(target))
    assert [c.type_id for c in found] == ids[:2]


def test_enum_candidates_include_enum64() -> None:
    t = BTFBuilder()
    e32 = t.enum("e", 4, [("A", 1)])
    e64 = t.enum64("e___64", 8, [("A", 2)])
    b = BTFBuilder()
    local_e = b.enum64("e___mine", 8, [("A", 0)])
    found = find_candidates(b.build(), local_e, make_targets(t.build()))
    assert [c.type_id for c in found] == [e32, e64]


def test_anonymous_local_type_is_an_error() -> None:
    b = BTFBuilder()
    i = b.int("int", 4)
    anon = b.struct("", 4, [("x", i, 0)])
    prog = program(b.build(), [mov(0)], [CoreRelo(0, anon, "0:0", K.FIELD_BYTE_OFFSET)])
    with pytest.raises(CoreError, match="anonymous"):
        relocate(prog, BTFBuilder().build())  # type: ignore[type-var]


def two_flavors(y_offsets: tuple[int, int]) -> BTF:
    t = BTFBuilder()
    i = t.int("int", 4, signed=True)
    t.struct("s", 16, [("x", i, 0), ("y", i, y_offsets[0])])
    t.struct("s___2", 16, [("x", i, 0), ("y", i, y_offsets[1])])
    return t.build()


def test_agreeing_candidates_are_fine() -> None:
    (r,) = relocate_s(two_flavors((64, 64)), ("0:1", K.FIELD_BYTE_OFFSET, 4))
    assert r.new == 8
    assert [line.split(": ", 2)[2].split(" <")[0] for line in r.log[3:5]] == [
        "matching candidate #0",
        "matching candidate #1",
    ]


def test_disagreeing_candidates_are_ambiguous() -> None:
    with pytest.raises(CoreError, match=r"field offset ambiguity: 96 != 64") as err:
        relocate_s(two_flavors((64, 96)), ("0:1", K.FIELD_BYTE_OFFSET, 4))
    assert err.value.program == "prog" and err.value.relo == 0
    assert err.value.location.insn == 0


def test_type_id_of_two_compatible_candidates_is_ambiguous() -> None:
    with pytest.raises(CoreError, match="relocation decision ambiguity: success 3 != success 2"):
        relocate_s(two_flavors((64, 64)), ("0", K.TYPE_ID_TARGET, 0))


def test_matching_prunes_candidates_for_later_relocations() -> None:
    """libbpf keeps only the candidates that matched: after s.y matched only in s___2 (s has
    no y), s.x is resolved against s___2 alone, even though s has an x (at another
    offset, which would otherwise be ambiguous)."""
    t = BTFBuilder()
    i = t.int("int", 4, signed=True)
    t.struct("s", 16, [("x", i, 0)])
    t.struct("s___2", 16, [("x", i, 32), ("y", i, 64)])
    r_y, r_x = relocate_s(
        t.build(), ("0:1", K.FIELD_BYTE_OFFSET, 4), ("0:0", K.FIELD_BYTE_OFFSET, 0)
    )
    assert (r_y.new, r_x.new) == (8, 4)
    assert sum("candidate #" in line for line in r_x.log) == 1


def test_pruning_is_shared_by_the_programs_of_a_collection() -> None:
    t = BTFBuilder()
    i = t.int("int", 4, signed=True)
    t.struct("s", 16, [("x", i, 0)])
    t.struct("s___2", 16, [("x", i, 32), ("y", i, 64)])
    local, s = local_s()
    first = program(local, [mov(4)], [CoreRelo(0, s, "0:1", K.FIELD_BYTE_OFFSET)], name="a")
    second = program(local, [mov(0)], [CoreRelo(0, s, "0:0", K.FIELD_BYTE_OFFSET)], name="b")
    spec = CollectionSpec(programs={"a": first, "b": second})  # type: ignore[dict-item]
    out, results = relocate(spec, t.build())
    assert out.programs["b"].instructions == [mov(4)]
    assert sum(line.startswith("CO-RE relocating") for r in results for line in r.log) == 2
    # separately, b alone is ambiguous
    with pytest.raises(CoreError, match="ambiguity"):
        relocate_program(second, t.build())  # type: ignore[arg-type]
    cache = CandidateCache(make_targets(t.build()))
    relocate_program(first, cache)  # type: ignore[arg-type]
    assert relocate_program(second, cache)[0].instructions == [mov(4)]  # type: ignore[arg-type]


def vmlinux_and_module(*, in_vmlinux: bool) -> list[BTF]:
    v = BTFBuilder()
    i = v.int("int", 4, signed=True)
    if in_vmlinux:
        v.struct("s", 8, [("x", i, 0), ("y", i, 32)])
    vmlinux = v.build("vmlinux")
    m = BTFBuilder(base=vmlinux)
    m.struct("s", 16, [("x", i, 64), ("y", i, 96)])
    return [vmlinux, m.build("/sys/kernel/btf/my_mod")]


def test_modules_searched_when_vmlinux_has_no_candidate() -> None:
    (r,) = relocate_s(vmlinux_and_module(in_vmlinux=False), ("0:1", K.FIELD_BYTE_OFFSET, 4))
    assert r.new == 12 and r.target_btf == "my_mod"
    assert r.log[0].endswith("struct s in [my_mod]")


def test_modules_not_searched_when_vmlinux_has_a_candidate() -> None:
    (r,) = relocate_s(vmlinux_and_module(in_vmlinux=True), ("0:1", K.FIELD_BYTE_OFFSET, 4))
    assert r.new == 4 and r.target_btf == "vmlinux"


def test_broken_module_btf_is_skipped() -> None:
    vmlinux, good = vmlinux_and_module(in_vmlinux=False)
    b = BTFBuilder(base=vmlinux)
    b.records.append([b.name("s"), (4 << 24) | 1, 4, 0, 9999, 0])  # member type out of range
    broken = b.build("broken")
    (r,) = relocate_s([vmlinux, broken, good], ("0:1", K.FIELD_BYTE_OFFSET, 4))
    assert r.target_btf == "my_mod"


def test_targets_by_name() -> None:
    vmlinux, module = vmlinux_and_module(in_vmlinux=False)
    (r,) = relocate_s({"vmlinux": vmlinux, "other": module}, ("0:1", K.FIELD_BYTE_OFFSET, 4))  # type: ignore[arg-type]
    assert r.target_btf == "other"


def test_bad_targets() -> None:
    with pytest.raises(ValueError, match="no target"):
        make_targets([])
    with pytest.raises(TypeError):
        make_targets([b"not btf"])  # type: ignore[list-item]
