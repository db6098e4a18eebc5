"""Linking: each program with the subprograms it calls, in libbpf's order; bpf-to-bpf calls
and callbacks aimed at their targets; func_info, line_info and CO-RE records re-based on the
linked program.

Oracles: libbpf's log when bpftool loaded the fixtures (golden load.log: "prog 'calls':
added 9 insns from sub-prog 'mix'"; core.txt: "prog 'x': relo #N: <byte_off> [5] ...
patched insn #I"), the fixture sources, and invariants every linked program must keep.
tests/spec/test_loader_libbpf.py compares the linked instructions with libbpf's.
"""

from __future__ import annotations

import re
from collections import Counter
from functools import cache
from pathlib import Path

import pytest

from pybpf.asm.opcodes import CallKind, PseudoSrc
from pybpf.btf._btf import BTF
from pybpf.btf.types import Composite, Func
from pybpf.spec import CollectionSpec, CoreReloKind, ProgramSpec
from pybpf.spec.loader import load_collection_spec
from tests.conftest import TESTDATA, has_golden, read_golden

OBJ = TESTDATA / "obj"
GOLDEN = TESTDATA / "golden"
OBJECTS = sorted(p for p in OBJ.glob("*.o") if not p.name.startswith("link_"))


@cache
def load(path: Path) -> CollectionSpec:
    return load_collection_spec(path)


def stem(path: Path) -> str:
    return path.name[: -len(".o")]


def starts(prog: ProgramSpec) -> set[int]:
    return {0, *prog.subprograms.values()}


@pytest.mark.parametrize("path", OBJECTS, ids=lambda p: p.name)
def test_calls_and_callbacks_land_on_functions(path: Path) -> None:
    for prog in load(path).programs.values():
        pc, targets = 0, set()
        for insn in prog.instructions:
            local_call = insn.opcode == 0x85 and insn.src == CallKind.LOCAL
            callback = insn.opcode == 0x18 and insn.src == PseudoSrc.FUNC
            if local_call or callback:
                assert insn.ref is None
                targets.add(pc + 1 + insn.imm)
            pc += insn.slots
        assert pc == prog.insn_count
        assert targets <= starts(prog), prog.name
        # every appended function is reached (libbpf appends only what is called)
        assert set(prog.subprograms.values()) <= targets, prog.name


_FOUND = re.compile(r"found program '(\w+)' at insn offset \d+ \(\d+ bytes\), code size (\d+)")
_ADDED = re.compile(r"prog '(\w+)': added (\d+) insns from sub-prog '(\w+)'")


def libbpf_layout(name: str) -> dict[str, dict[str, int]]:
    """Each program's subprograms and where libbpf appended them, from its log."""
    log = read_golden(GOLDEN / name / "load.log")
    sizes = {prog: int(n) for prog, n in _FOUND.findall(log)}
    layout: dict[str, dict[str, int]] = {}
    ends: dict[str, int] = {}
    for prog, count, sub in _ADDED.findall(log):
        end = ends.get(prog, sizes[prog])
        layout.setdefault(prog, {})[sub] = end
        ends[prog] = end + int(count)
    return layout


LOGGED = sorted(
    p.parent.name for p in GOLDEN.glob("*.el.*/load.log") if "from sub-prog" in p.read_text()
)


@pytest.mark.parametrize("name", LOGGED)
def test_subprograms_where_libbpf_appended_them(name: str) -> None:
    spec = load(OBJ / f"{name}.o")
    layout = libbpf_layout(name)
    assert layout
    for prog in spec.programs.values():
        assert prog.subprograms == layout.get(prog.name, {}), prog.name


def test_isa_calls_layout() -> None:
    spec = load(OBJ / "isa_calls.el.v3.o")
    assert spec.programs["calls_again"].subprograms == {"nested": 14, "mix": 25, "global_scale": 34}
    assert spec.programs["tail_caller"].subprograms == {}


@pytest.mark.parametrize(
    "name",
    sorted({stem(p)[: -len(".el.v3")] for p in OBJ.glob("*.eb.v3.o")} - {"link_a", "link_b"}),
)
def test_both_byte_orders_link_alike(name: str) -> None:
    # clang's code differs a little between byte orders (an instruction here and there);
    # what the loader finds must not
    el, eb = load(OBJ / f"{name}.el.v3.o"), load(OBJ / f"{name}.eb.v3.o")
    assert list(el.programs) == list(eb.programs)
    for p, q in zip(el.programs.values(), eb.programs.values(), strict=True):
        assert list(p.subprograms) == list(q.subprograms)
        assert {(i.ref, i.src) for i in p.instructions if i.ref} == {
            (i.ref, i.src) for i in q.instructions if i.ref
        }
        assert [f.type_id for f in p.func_info] == [f.type_id for f in q.func_info]
        assert {(r.kind, r.type_id, r.access) for r in p.core_relos} == {
            (r.kind, r.type_id, r.access) for r in q.core_relos
        }


@pytest.mark.parametrize("path", OBJECTS, ids=lambda p: p.name)
def test_func_info_follows_the_functions(path: Path) -> None:
    spec = load(path)
    btf = spec.btf
    assert isinstance(btf, BTF)
    for prog in spec.programs.values():
        expected = [(0, prog.name)] + [
            (slot, n.split("#")[0]) for n, slot in prog.subprograms.items()
        ]
        got = []
        for fi in prog.func_info:
            func = btf[fi.type_id]
            assert isinstance(func, Func)
            got.append((fi.insn, func.name))
        assert got == expected


@pytest.mark.parametrize("path", OBJECTS, ids=lambda p: p.name)
def test_line_info_is_rebased(path: Path) -> None:
    spec = load(path)
    btf = spec.btf
    assert isinstance(btf, BTF)
    for prog in spec.programs.values():
        lines = prog.line_info
        assert lines, prog.name
        insns = [li.insn for li in lines]
        assert insns == sorted(insns) and insns[-1] < prog.insn_count
        assert starts(prog) <= set(insns), "each function starts with a source line"
        first = lines[0]
        assert btf.string(first.file_name_off).endswith(".bpf.c")
        assert first.line > 0 and btf.string(first.line_off)


_KINDS = {
    "byte_off": CoreReloKind.FIELD_BYTE_OFFSET,
    "byte_sz": CoreReloKind.FIELD_BYTE_SIZE,
    "field_exists": CoreReloKind.FIELD_EXISTS,
    "signed": CoreReloKind.FIELD_SIGNED,
    "lshift_u64": CoreReloKind.FIELD_LSHIFT_U64,
    "rshift_u64": CoreReloKind.FIELD_RSHIFT_U64,
    "local_type_id": CoreReloKind.TYPE_ID_LOCAL,
    "target_type_id": CoreReloKind.TYPE_ID_TARGET,
    "type_exists": CoreReloKind.TYPE_EXISTS,
    "type_matches": CoreReloKind.TYPE_MATCHES,
    "type_size": CoreReloKind.TYPE_SIZE,
    "enumval_exists": CoreReloKind.ENUMVAL_EXISTS,
    "enumval_value": CoreReloKind.ENUMVAL_VALUE,
}
_RELO = re.compile(r"prog '(\w+)': relo #(\d+): <(\w+)> \[(\d+)\]")
_PATCH = re.compile(r"prog '(\w+)': relo #(\d+): (?:patched|substituting) insn #(\d+)")


def libbpf_core(name: str) -> Counter[tuple[str, int, CoreReloKind, int]]:
    """(program, insn, kind, local type id) of each CO-RE relocation libbpf applied."""
    kinds: dict[tuple[str, str], tuple[CoreReloKind, int]] = {}
    found: Counter[tuple[str, int, CoreReloKind, int]] = Counter()
    for line in read_golden(GOLDEN / name / "core.txt").splitlines():
        m = _RELO.search(line)
        if m and "matching candidate" not in line:
            kinds[m[1], m[2]] = (_KINDS[m[3]], int(m[4]))
        p = _PATCH.search(line)
        if p:
            kind, type_id = kinds[p[1], p[2]]
            found[p[1], int(p[3]), kind, type_id] += 1
    return found


CORE = sorted(p.parent.name for p in GOLDEN.glob("*.el.*/core.txt") if p.stat().st_size)


@pytest.mark.parametrize("name", CORE)
def test_core_records_where_libbpf_patched(name: str) -> None:
    spec = load(OBJ / f"{name}.o")
    logged = libbpf_core(name)
    assert logged
    ours: Counter[tuple[str, int, CoreReloKind, int]] = Counter()
    for prog in spec.programs.values():
        bases = sorted([(0, prog.name), *((s, n) for n, s in prog.subprograms.items())])
        for r in prog.core_relos:
            base, owner = max(b for b in bases if b[0] <= r.insn)
            if owner == prog.name:
                ours[owner, r.insn - base, r.kind, r.type_id] += 1
            else:  # libbpf relocates a subprogram once, before it is appended anywhere
                ours[owner, r.insn - base, r.kind, r.type_id] = 1
    # libbpf also relocates subprograms no program calls (bs_usdt's weak bpf_usdt_cookie):
    # they are in no linked program
    linked = {owner for owner, *_ in ours}
    assert ours == Counter({k: v for k, v in logged.items() if k[0] in linked})
    assert linked == {k[0] for k in logged} - unused_functions(spec, logged)


def unused_functions(
    spec: CollectionSpec, logged: Counter[tuple[str, int, CoreReloKind, int]]
) -> set[str]:
    used = set(spec.programs) | {n for p in spec.programs.values() for n in p.subprograms}
    return {k[0] for k in logged} - used


def member_path(btf: BTF, type_id: int, access: str) -> tuple[str, ...]:
    """The member names an access string ("0:7:1") walks through from ``type_id``."""
    names = []
    _, t = btf.skip_mods_and_typedefs(type_id)
    for index in access.split(":")[1:]:
        assert isinstance(t, Composite)
        member = t.members[int(index)]
        names.append(member.name)
        _, t = btf.skip_mods_and_typedefs(member.type)
    return tuple(names)


def test_core_access_strings() -> None:
    spec = load(OBJ / "linked.el.v3.o")
    btf = spec.btf
    assert isinstance(btf, BTF)
    found = {
        (name, btf.name_of(r.type_id), member_path(btf, r.type_id, r.access), r.kind)
        for name, prog in spec.programs.items()
        for r in prog.core_relos
    }
    off = CoreReloKind.FIELD_BYTE_OFFSET
    assert found == {
        ("a_core", "task_struct", ("tgid",), off),
        ("b_core", "task_struct", ("real_parent",), off),
        ("b_core", "task_struct", ("pid",), off),
    }


def test_linked_object_resolves_weak_and_static_functions() -> None:
    spec = load(OBJ / "linked.el.v3.o")
    from_a, from_b = spec.programs["from_a"], spec.programs["from_b"]
    assert set(from_a.subprograms) == {"local_helper", "b_scale", "a_offset", "pick"}
    assert set(from_b.subprograms) == {"local_helper", "pick"}

    def imms(prog: ProgramSpec, sub: str) -> set[int]:
        start = prog.subprograms[sub]
        ends = sorted(s for s in [*prog.subprograms.values(), prog.insn_count] if s > start)
        pc, found = 0, set()
        for insn in prog.instructions:
            if start <= pc < ends[0]:
                found.add(insn.imm)
            pc += insn.slots
        return found

    assert 7 in imms(from_a, "local_helper")  # link_a's: x * 7
    assert -7 in imms(from_b, "local_helper")  # link_b's: x - 7
    assert 100 in imms(from_a, "pick") and 100 in imms(from_b, "pick")  # link_b's strong pick


def test_golden_files_exist() -> None:
    assert has_golden(GOLDEN / "isa_calls.el.v3" / "load.log")
    assert CORE and LOGGED
