"""Relocating a parsed spec decodes only the instructions it patches.

The relocated programs' instructions stay a recipe until first read, like the parsed ones;
the result must equal relocating the same spec with every program decoded first, and the
input must stay as it was (still undecoded). Targets: each object's own BTF (no kernel
needed), an unrelated object's BTF (most relocations then poison, two ``lddw`` of
core.el.v3 among them, which exercises the splice of two calls for one instruction), and
the running kernel's vmlinux BTF when present.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from pybpf.btf._btf import BTF
from pybpf.spec._linker import LinkedCode
from pybpf.spec.core import CoreError, CoreResult
from pybpf.spec.core.relocate import relocate
from pybpf.spec.specs import CollectionSpec, ProgramSpec
from tests.conftest import TESTDATA

OBJ = TESTDATA / "obj"
VMLINUX = Path("/sys/kernel/btf/vmlinux")
CORE_FIXTURES = [
    "bs_bootstrap.el.v3",
    "bs_task_iter.el.v3",
    "core.el.v3",
    "core.eb.v3",
    "core_fail.el.v3",
    "isa_calls.eb.v4",
    "ksyms_data.el.v3",
    "large.el.v4",
    "linked.el.v3",
    "sec_btf.eb.v3",
    "sec_trace.el.v3",
    "struct_ops.el.v3",
]

_INSTRUCTIONS = vars(ProgramSpec)["instructions"]
_CORE_RELOS = vars(ProgramSpec)["core_relos"]


def parse(fixture: str) -> CollectionSpec:
    return CollectionSpec.from_file(OBJ / f"{fixture}.o")


def decoded(fixture: str) -> CollectionSpec:
    spec = parse(fixture)
    for prog in spec.programs.values():
        prog.instructions  # noqa: B018 - decode now
    return spec


def run(spec: CollectionSpec, target: BTF) -> tuple[CollectionSpec, list[CoreResult]] | str:
    try:
        return relocate(spec, target)
    except CoreError as exc:
        return str(exc)


def targets(spec: CollectionSpec) -> list[BTF]:
    found = [spec.btf] if isinstance(spec.btf, BTF) else []
    found.append(BTF.from_path(str(OBJ / "isa_alu.el.v3.o")))  # no kernel types at all
    if VMLINUX.exists():
        found.append(BTF.from_path(str(VMLINUX)))
    return found


@pytest.mark.parametrize("fixture", CORE_FIXTURES)
def test_lazy_relocation_equals_eager(fixture: str) -> None:
    for target in targets(parse(fixture)):
        lazy_in, eager_in = parse(fixture), decoded(fixture)
        lazy, eager = run(lazy_in, target), run(eager_in, target)
        if isinstance(eager, str):
            assert lazy == eager
            continue
        assert not isinstance(lazy, str)
        (out, results), (want, want_results) = lazy, eager
        assert results == want_results
        for name, prog in out.programs.items():
            assert prog.insn_count == want.programs[name].insn_count  # known, not decoded
            assert _INSTRUCTIONS.pending(prog) is not None
            assert prog.instructions == want.programs[name].instructions
            assert prog.core_relos == want.programs[name].core_relos
        assert all(_INSTRUCTIONS.pending(p) is not None for p in lazy_in.programs.values())


@pytest.mark.parametrize("fixture", CORE_FIXTURES)
def test_one_slot_equals_the_whole_program(fixture: str) -> None:
    for prog in parse(fixture).programs.values():
        code = _INSTRUCTIONS.pending(prog)
        assert isinstance(code, LinkedCode)
        whole = code()
        starts, slot = [], 0
        for insn in whole:
            starts.append(slot)
            slot += insn.slots
        assert slot == code.count
        assert code.wide_slots() == [s for s, i in zip(starts, whole, strict=True) if i.slots == 2]
        assert [code.at(s) for s in starts] == whole


def test_programs_without_records_are_known_without_decoding() -> None:
    spec = parse("large.el.v4")
    counts = {name: _CORE_RELOS.pending(p).count for name, p in spec.programs.items()}
    assert 0 in counts.values() and None in counts.values()
    for name, prog in spec.programs.items():
        if counts[name] == 0:
            assert prog.core_relos == []


def test_relocated_copy_is_independent() -> None:
    spec = parse("core.el.v3")
    out, results = relocate(spec, spec.btf)  # type: ignore[arg-type]
    name = results[0].program
    relocated = out.programs[name].instructions
    assert out.programs[name].instructions is relocated  # decoded once, then a plain list
    relocated.clear()
    assert spec.programs[name].instructions and out.programs[name].instructions == []
    again, _ = relocate(spec, spec.btf)  # type: ignore[arg-type]
    assert again.programs[name].instructions
