"""Every command that reads a path the user names reports a missing file as one line,
``pybpf COMMAND: PATH: reason`` with exit status 1, never a traceback."""

from __future__ import annotations

import pytest

from pybpf.cli import main

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
