"""``pybpf asm``/``pybpf disasm``: the listing of every fixture equals llvm-objdump-19's."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from pybpf.cli import main
from tests.conftest import OBJ, fixture_objects, golden_dir, has_golden, read_golden, tool

OBJECTS = fixture_objects()


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    status = main(list(argv))
    out, err = capsys.readouterr()
    return status, out, err


def listing(capsys: pytest.CaptureFixture[str], obj: Path, *extra: str) -> str:
    cwd = os.getcwd()
    os.chdir(obj.parent)  # llvm-objdump prints the path it was given
    try:
        status, out, _ = run(capsys, "disasm", obj.name, *extra)
    finally:
        os.chdir(cwd)
    assert status == 0
    return out


@pytest.mark.parametrize("obj", OBJECTS, ids=lambda p: p.name)
def test_disasm_equals_llvm_objdump_golden(capsys: pytest.CaptureFixture[str], obj: Path) -> None:
    assert listing(capsys, obj) == read_golden(golden_dir(obj) / "objdump.txt")


@pytest.mark.parametrize(
    "obj",
    [o for o in OBJECTS if has_golden(golden_dir(o) / "objdump-alu32.txt")],
    ids=lambda p: p.name,
)
def test_disasm_alu32_equals_golden(capsys: pytest.CaptureFixture[str], obj: Path) -> None:
    want = read_golden(golden_dir(obj) / "objdump-alu32.txt")
    assert listing(capsys, obj, "--alu32") == want


@pytest.mark.parametrize(
    "obj",
    [o for o in OBJECTS if has_golden(golden_dir(o) / "objdump-r.txt")],
    ids=lambda p: p.name,
)
def test_disasm_relocations_equal_golden(capsys: pytest.CaptureFixture[str], obj: Path) -> None:
    """ELF relocations and .BTF.ext CO-RE records, as llvm-objdump -r prints them."""
    assert listing(capsys, obj, "-r") == read_golden(golden_dir(obj) / "objdump-r.txt")


def test_disasm_source_lines_from_btf_line_info(capsys: pytest.CaptureFixture[str]) -> None:
    text = listing(capsys, OBJ / "firewall.el.v3.o", "-S")
    src = (OBJ.parent / "src" / "firewall.bpf.c").read_text()
    shown = [ln[2:] for ln in text.splitlines() if ln.startswith("; ")]
    assert shown, "no source lines"
    assert all(line in src for line in shown)
    # every instruction line is still llvm-objdump's
    plain = [ln for ln in text.splitlines() if not ln.startswith("; ")]
    assert "\n".join(plain) + "\n" == read_golden(
        golden_dir(OBJ / "firewall.el.v3.o") / "objdump.txt"
    )


@pytest.mark.tool
@pytest.mark.parametrize("obj", OBJECTS[::7], ids=lambda p: p.name)
def test_disasm_equals_live_llvm_objdump(capsys: pytest.CaptureFixture[str], obj: Path) -> None:
    objdump = tool("llvm-objdump-19")
    want = subprocess.run(
        [objdump, "-d", obj.name], cwd=OBJ, capture_output=True, text=True, check=True
    ).stdout
    assert listing(capsys, obj) == want


def test_asm_then_disasm_round_trip(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    src = tmp_path / "p.s"
    src.write_text("r0 = 1\nif r1 > r2 goto out\nr0 += 2\nout:\ncall bpf_ktime_get_ns\nexit\n")
    out_bin = tmp_path / "p.bin"
    status, hexout, _ = run(capsys, "asm", str(src), "-o", str(out_bin), "--hex")
    assert status == 0
    assert bytes.fromhex(hexout) == out_bin.read_bytes()
    status, text, _ = run(capsys, "disasm", str(out_bin))
    assert status == 0
    assert "call bpf_ktime_get_ns" in text
    src2 = tmp_path / "q.s"
    src2.write_text(text)
    run(capsys, "asm", str(src2), "-o", str(tmp_path / "q.bin"))
    assert (tmp_path / "q.bin").read_bytes() == out_bin.read_bytes()


def test_disasm_reads_hex_text(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    hexfile = tmp_path / "p.hex"
    hexfile.write_text("b7 00 00 00 01 00 00 00\n95 00 00 00 00 00 00 00\n")
    status, out, _ = run(capsys, "disasm", str(hexfile), "--syntax", "ubpf")
    assert (status, out) == (0, "mov %r0, 1\nexit\n")


@pytest.mark.parametrize(
    ("argv", "content", "message"),
    [
        (["asm"], "r0 = \n", "line 1, column 5"),
        (["asm"], "mov %r0, %r11\nexit\n", "line 1"),
        (["disasm"], "ff 00 00 00 00 00 00 00", "unknown opcode 0xff"),
        (["disasm"], "b7 00 00 00 01 00 00", "not a multiple of 8"),
        (["disasm"], "18 01 00 00 00 00 00 00", "lddw is truncated"),
    ],
)
def test_bad_input_is_a_clear_error(
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
    argv: list[str],
    content: str,
    message: str,
) -> None:
    path = tmp_path / "input"
    path.write_text(content)
    status, _out, err = run(capsys, *argv, str(path))
    assert status == 1
    assert message in err
    assert "Traceback" not in err


def test_missing_file_is_a_clear_error(capsys: pytest.CaptureFixture[str]) -> None:
    status, _, err = run(capsys, "disasm", "/nonexistent/prog.o")
    assert status == 1
    assert "cannot read /nonexistent/prog.o" in err
