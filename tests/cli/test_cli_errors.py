"""The command line on odd input: a missing file is one line, ``pybpf COMMAND: PATH:
reason`` with exit status 1, never a traceback; names that are not UTF-8 print as bytes."""

from __future__ import annotations

from pathlib import Path

import pytest

from pybpf.cli import main
from pybpf.elf import ELFFile
from tests.conftest import OBJ

MISSING = "/nonexistent/pybpf-test/prog.o"

COMMANDS = [
    ("asm", MISSING),
    ("disasm", MISSING),
    ("btf", "dump", MISSING),
    ("spec", MISSING),
    ("run", MISSING),
    ("prog", "loadall", MISSING, "/sys/fs/bpf/pybpf-test-never-made"),
]


@pytest.mark.parametrize("argv", COMMANDS, ids=lambda a: " ".join(a[:2]))
def test_missing_file_is_one_clear_line(
    capsys: pytest.CaptureFixture[str], argv: tuple[str, ...]
) -> None:
    status = main(list(argv))
    out, err = capsys.readouterr()
    assert status == 1
    assert out == ""
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    words = argv[:2] if argv[0] in ("btf", "prog") else argv[:1]
    assert lines[0].startswith(f"pybpf {' '.join(words)}: ")
    assert MISSING in lines[0]
    assert "No such file or directory" in lines[0]


def test_names_that_are_not_utf8_print_as_their_bytes(
    tmp_path: Path, capsysbinary: pytest.CaptureFixture[bytes]
) -> None:
    """A name with a byte that is no UTF-8 (a hand-edited or foreign object) prints as the
    bytes the object holds, as llvm-objdump and bpftool print it, not as an encoding error:
    a source line's in ``pybpf disasm -S``, a function's in ``pybpf btf dump``."""
    data = bytearray((OBJ / "isa_calls.el.v3.o").read_bytes())
    odd = b"glob\xfal_scale"
    btf = ELFFile(bytes(data)).get_section_by_name(".BTF")
    assert btf is not None
    start, end = btf.offset, btf.offset + btf.size
    data[start:end] = data[start:end].replace(b"global_scale", odd)
    types = tmp_path / "types.o"  # in BTF only: ELF symbol names must be UTF-8 (ELFError)
    types.write_bytes(data)
    for argv in (
        ["disasm", "-S", str(types)],  # a source line
        ["btf", "dump", str(types)],
    ):
        assert main(argv) == 0, argv
        out, err = capsysbinary.readouterr()
        assert odd in out, argv
        assert err == b""
