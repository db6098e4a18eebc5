"""The bpf_conformance suite as assembler input, and the ``.data`` parser.

The suite is read in place from ../shared/conformance (skipped when absent): every positive
test must assemble (and equal its ``-- raw`` bytes where it has them, and what llvm-mc-19
makes of our LLVM-syntax listing of it); every assembler-related negative test must be
refused with a located :class:`AssemblerError`; the ``unused-*`` raw tests must be refused by
``decode``.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from pybpf.asm.assembler import assemble
from pybpf.asm.conformance import ConformanceTest, parse_test
from pybpf.asm.disasm import get_instructions
from pybpf.asm.instruction import Instruction, encode
from pybpf.asm.opcodes import Kind
from pybpf.errors import AssemblerError, DecodeError
from tests.conftest import CONFORMANCE, conformance_dir


def _files(kind: str) -> list[str]:
    found = sorted(p.name for p in (CONFORMANCE / kind).glob("*.data"))
    return found or ["(suite absent)"]


def _load(kind: str, name: str) -> ConformanceTest:
    path = conformance_dir() / kind / name
    return parse_test(path.read_text(), source=name)


@pytest.mark.parametrize("name", _files("tests"))
def test_positive_tests_assemble(name: str) -> None:
    test = _load("tests", name)
    insns = test.instructions()
    assert insns, "every positive test has a program"
    assert test.result is not None
    if test.raw is not None and test.asm is not None:
        assert encode(assemble(test.asm, "ubpf")) == test.raw


def test_the_suite_has_313_positive_tests() -> None:
    assert len(list((conformance_dir() / "tests").glob("*.data"))) == 313


# -- cross-check with llvm-mc ------------------------------------------------------------------


def _llvm_listing(k: int, insns: list[Instruction]) -> str:
    """Our LLVM-syntax listing in what llvm-mc reads: llvm-objdump's text (alu32), labels
    for jump targets, and local calls by label (objdump's ``call 0x5`` would be a helper)."""
    targets = {r.target for r in get_instructions(insns) if r.target is not None}
    labels = {t: f"t{k}_L{n}" for n, t in enumerate(sorted(targets))}
    lines = []
    for rec in get_instructions(insns, style="objdump", alu32=True, labels=labels):
        if rec.label is not None:
            lines.append(f"{rec.label}:")
        local_call = rec.insn.op is not None and rec.insn.op.name == "CALL.LOCAL"
        if local_call and rec.target is not None:
            lines.append(f"\tcall {labels[rec.target]}")
        else:
            lines.append(f"\t{rec.text}")
    return "\n".join(lines)


@pytest.mark.tool
def test_llvm_mc_assembles_our_listings_to_the_same_bytes(tmp_path: Path) -> None:
    if shutil.which("llvm-mc-19") is None:
        pytest.skip("llvm-mc-19 is not installed (apt-get install llvm-19)")
    elffile = pytest.importorskip("elftools.elf.elffile")
    programs = {}
    for k, path in enumerate(sorted((conformance_dir() / "tests").glob("*.data"))):
        programs[f".text.t{k}"] = parse_test(path.read_text(), source=path.name).instructions()
    source = "".join(
        f'\t.section {sec},"ax",@progbits\n{_llvm_listing(k, insns)}\n'
        for k, (sec, insns) in enumerate(programs.items())
    )
    (tmp_path / "all.s").write_text(source)
    obj = tmp_path / "all.o"
    cmd = ["llvm-mc-19", "-triple", "bpfel", "-mcpu=v4", "-filetype=obj", "all.s", "-o", str(obj)]
    subprocess.run(cmd, check=True, cwd=tmp_path)
    with obj.open("rb") as f:
        elf = elffile.ELFFile(f)
        for sec, insns in programs.items():
            assert elf.get_section_by_name(sec).data() == encode(insns), sec


# -- negative tests ----------------------------------------------------------------------------

# file -> (line, column, part of the message): the assembler-related negatives
ASSEMBLER_NEGATIVES = {
    "invalid_imm32_dec_range.data": (5, 12, "immediate 2147483648 out of range"),
    "invalid_imm32_hex_range.data": (5, 12, "immediate 0x100000000 out of range"),
    "invalid_label.data": (4, 4, "unknown label `NOT_A_LABEL`"),
    "invalid_lock.data": (4, 1, "wrong number of operands for `lock`"),
    "invalid_lock2.data": (4, 1, "wrong number of operands for `lock`"),
    "invalid_mnemonic.data": (5, 1, "unknown mnemonic `ldxq`"),
    "invalid_offset.data": (4, 11, "expected a memory operand"),
    "invalid_offset_range.data": (5, 15, "offset +0x10000 out of range"),
    "invalid_operand_count.data": (4, 1, "wrong number of operands for `lddw`: expected 2"),
    "invalid_register.data": (4, 9, "register `%r50` does not exist"),
    "invalid_unknown_directive.data": (4, 1, "unknown section `-- Unknown directive`"),
}
# Negatives about the runtime or the runner, not the assembler: they parse and assemble.
RUNTIME_NEGATIVES = {
    "error.data",
    "incorrect_return_value_high_bits.data",
    "empty.data",
    "empty_instructions.data",
}


@pytest.mark.parametrize("name", _files("negative"))
def test_negative_tests(name: str) -> None:
    path = conformance_dir() / "negative" / name
    if name in ASSEMBLER_NEGATIVES:
        line, col, msg = ASSEMBLER_NEGATIVES[name]
        with pytest.raises(AssemblerError) as info:
            parse_test(path.read_text(), source=name).instructions()
        where = info.value.location
        assert (where.source, where.line, where.column) == (name, line, col)
        assert msg in info.value.reason
    elif name.startswith("unused-"):
        test = _load("negative", name)
        assert test.raw is not None and test.error == ""
        with pytest.raises(DecodeError, match="must be"):
            test.instructions()
    else:
        assert name in RUNTIME_NEGATIVES
        test = _load("negative", name)
        assert test.has_program == (name not in ("empty.data", "empty_instructions.data"))
        test.instructions()


def test_every_negative_test_is_classified() -> None:
    names = {p.name for p in (conformance_dir() / "negative").glob("*.data")}
    unused = {n for n in names if n.startswith("unused-")}
    assert names == set(ASSEMBLER_NEGATIVES) | RUNTIME_NEGATIVES | unused


# -- the .data parser --------------------------------------------------------------------------

SAMPLE = """\
# Copyright line
-- c
#include <stdint.h>
int f(void) { return 1; }
-- asm
mov %r0, 1   # comment
exit
-- mem
00 01 ff # comment
0a
-- result
0x1
-- no register offset
call instruction
"""


def test_parse_every_section() -> None:
    t = parse_test(SAMPLE, source="s.data")
    assert t.c == "#include <stdint.h>\nint f(void) { return 1; }\n"
    assert t.asm == "mov %r0, 1   # comment\nexit\n"
    assert t.asm_line == 6
    assert t.mem == bytes([0, 1, 0xFF, 0x0A])
    assert (t.result, t.error, t.raw) == (1, None, None)
    assert t.no_register_offset == "call instruction"
    assert t.instructions() == assemble("mov %r0, 1\nexit", "ubpf")


@pytest.mark.parametrize(
    ("raw", "want"),
    [
        ("0x5566778800000018\n0x1122334400000000", "18000000887766550000000044332211"),
        ("07 00 01 00 01 00 00 00", "0700010001000000"),
        ("149", "9500000000000000"),
    ],
)
def test_raw_forms(raw: str, want: str) -> None:
    assert parse_test(f"-- raw\n{raw}\n-- result\n0\n").raw == bytes.fromhex(want)


def test_result_forms() -> None:
    assert parse_test("-- result\n42\n").result == 42
    assert parse_test("-- result\n-1\n").result == (1 << 64) - 1
    assert parse_test("-- error\nsome message\n").error == "some message"


@pytest.mark.parametrize(
    ("text", "line", "col", "msg"),
    [
        ("-- asm\nexit\n-- Unknown directive\n", 3, 1, "unknown section"),
        ("-- asm\nexit\n  -- asm\n", 3, 3, "duplicate section"),
        ("-- mem\n00 1g\n", 2, 4, "bad memory byte"),
        ("-- raw\n0x1 zz\n", 2, 5, "bad raw slot"),
        ("-- result\nnope\n", 2, 1, "bad result"),
    ],
)
def test_parse_errors(text: str, line: int, col: int, msg: str) -> None:
    with pytest.raises(AssemblerError) as info:
        parse_test(text, source="t.data")
    assert (info.value.location.line, info.value.location.column) == (line, col)
    assert msg in info.value.reason


def test_asm_errors_point_into_the_file() -> None:
    t = parse_test("# header\n-- asm\nmov %r0, 1\nfrob %r0\n-- result\n0\n", source="x.data")
    with pytest.raises(AssemblerError) as info:
        t.instructions()
    assert (info.value.location.source, info.value.location.line) == ("x.data", 4)


def test_programs_use_every_kind_of_call() -> None:
    kinds = set()
    for name in ("call_local.data", "callx.data", "call_unwind_fail.data"):
        kinds |= {i.op.kind for i in _load("tests", name).instructions() if i.op is not None}
    assert {Kind.CALL, Kind.CALLX} <= kinds
