"""CO-RE results equal libbpf's on every fixture, against the running kernel's BTF.

``tests/testdata/golden/<fixture>/core.txt`` is libbpf's own debug log of CO-RE relocation
(``bpftool -d prog loadall``), recorded on the kernel named in ``golden/VERSIONS.txt``. Each
fixture is loaded into a CollectionSpec and relocated against /sys/kernel/btf/vmlinux; every
relocation must print the same lines as libbpf's -- the same local and target specs, the
same candidates, the same instruction patched to the same value (or poisoned).

libbpf numbers relocations per ELF section and relocates subprograms before linking; ours
are per linked program. So relocations are compared by function and function-relative
instruction (``prog '<function>': ... insn #N``), not by relocation number.
"""

from __future__ import annotations

import os
from collections import defaultdict
from pathlib import Path

import pytest

from pybpf.btf._btf import BTF
from pybpf.spec.core import CoreResult, relocate
from pybpf.spec.specs import CollectionSpec, ProgramSpec
from tests.conftest import TESTDATA
from tests.spec._core_libbpf import Record, our_record, parse_log

GOLDEN = TESTDATA / "golden"
VMLINUX = Path("/sys/kernel/btf/vmlinux")
FIXTURES = sorted(
    p.parent.name
    for p in GOLDEN.glob("*/core.txt")
    if (TESTDATA / "obj" / f"{p.parent.name}.o").exists()
)


def golden_kernel() -> str:
    for line in (GOLDEN / "VERSIONS.txt").read_text().splitlines():
        if line.startswith("kernel"):
            return line.split(":", 1)[1].strip()
    return ""


@pytest.fixture(scope="module")
def vmlinux() -> BTF:
    if not VMLINUX.exists():
        pytest.skip(f"{VMLINUX} is absent: the kernel has no BTF")
    if os.uname().release != golden_kernel():
        pytest.skip(f"golden logs are of kernel {golden_kernel()}, this is {os.uname().release}")
    return BTF.from_path(str(VMLINUX))


def ours(prog: ProgramSpec, result: CoreResult) -> Record:
    return our_record(prog.name, prog.subprograms, result.insn, result.log)


@pytest.mark.parametrize("fixture", FIXTURES)
def test_core_matches_libbpf(fixture: str, vmlinux: BTF) -> None:
    spec = CollectionSpec.from_file(TESTDATA / "obj" / f"{fixture}.o")
    out, results = relocate(spec, vmlinux)
    golden, searches = parse_log((GOLDEN / fixture / "core.txt").read_text().splitlines())
    by_prog: dict[str, ProgramSpec] = {p.name: p for p in spec.programs.values()}
    got = [ours(by_prog[r.program], r) for r in results]
    assert set(got) <= set(golden), sorted(set(got) - set(golden))[:3]
    linked = set(by_prog) | {sub for p in by_prog.values() for sub in p.subprograms}
    expected = [g for g in golden if g[0] in linked]
    assert sorted(set(expected)) == sorted(set(got))
    assert {line for r in results for line in r.log if line.startswith("CO-RE")} <= searches
    check_patched(out, results)


def check_patched(out: CollectionSpec, results: list[CoreResult]) -> None:
    """The relocated instructions hold the values the results report."""
    by_prog = defaultdict(list)
    for r in results:
        by_prog[r.program].append(r)
    for prog in out.programs.values():
        slots = []
        for insn in prog.instructions:
            slots += [insn] * insn.slots if insn.is_wide else [insn]
        for r in by_prog[prog.name]:
            insn = slots[r.insn]
            if r.poisoned:
                assert (insn.opcode, insn.imm) == (0x85, 0xBAD2310)
            elif r.form == "ALU/ALU64":
                assert insn.imm & 0xFFFFFFFF == r.new & 0xFFFFFFFF
            elif r.form == "LDX/ST/STX":
                assert insn.off == r.new
            else:
                assert insn.imm64 == r.new
        assert prog.core_relos == [] or not prog.autoload


def test_fixtures_found() -> None:
    assert "core.el.v3" in FIXTURES and "large.el.v4" in FIXTURES
