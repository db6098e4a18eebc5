"""Specs read from an object are plain, editable blueprints, though their heavy fields
(instructions, func_info, line_info, CO-RE records) are computed on first read."""

from __future__ import annotations

import copy
import dataclasses
import pickle

from pybpf.asm.instruction import Instruction
from pybpf.spec import ProgramSpec
from pybpf.spec._lazy import Deferred
from pybpf.spec.loader import load_collection_spec
from pybpf.spec.specs import _INSTRUCTIONS
from tests.conftest import TESTDATA

OBJ = TESTDATA / "obj"


def fresh() -> ProgramSpec:
    return load_collection_spec(OBJ / "isa_calls.el.v3.o").programs["calls"]


def test_count_known_before_decoding() -> None:
    prog = fresh()
    assert _INSTRUCTIONS.pending(prog) is not None
    assert prog.insn_count == 101
    assert _INSTRUCTIONS.pending(prog) is not None  # still not decoded
    assert sum(i.slots for i in prog.instructions) == 101
    assert _INSTRUCTIONS.pending(prog) is None and prog.insn_count == 101


def test_edits_stick() -> None:
    prog = fresh()
    prog.instructions.append(Instruction(0x95))
    prog.instructions[0] = Instruction(0xB7, 0, 0, 0, 42)
    assert prog.instructions[0].imm == 42 and prog.insn_count == 102
    prog.instructions = [Instruction(0xB7), Instruction(0x95)]
    assert prog.insn_count == 2
    prog.line_info = []
    assert prog.line_info == []


def test_copies_are_independent() -> None:
    prog = fresh()
    twin = prog.copy()
    twin.instructions.pop()
    assert prog.insn_count == 101 and twin.insn_count == 100
    prog = fresh()
    prog.btf = None  # copy.deepcopy would copy the BTF (spec.copy() shares it)
    deep = copy.deepcopy(prog)
    assert deep.insn_count == 101 and len(deep.func_info) == 6


def test_replace_and_equality() -> None:
    a, b = fresh(), fresh()
    b.btf = a.btf
    assert a == b
    c = dataclasses.replace(a, name="other")
    assert c.instructions == a.instructions and c.name == "other"


def test_pickle() -> None:
    prog = fresh()
    prog.btf = None  # the BTF object itself holds a memoryview of the file
    again = pickle.loads(pickle.dumps(prog))
    assert again.instructions == fresh().instructions
    assert again.core_relos == [] and len(again.line_info) == len(fresh().line_info)


def test_default_fields_are_fresh_lists() -> None:
    from pybpf.spec import ProgType

    a, b = ProgramSpec("a", ProgType.XDP), ProgramSpec("b", ProgType.XDP)
    a.instructions.append(Instruction(0x95))
    assert b.instructions == [] and a.insn_count == 1
    lazy = ProgramSpec("c", ProgType.XDP, instructions=Deferred(lambda: [Instruction(0x95)], 1))
    assert lazy.insn_count == 1 and lazy.instructions == [Instruction(0x95)]
