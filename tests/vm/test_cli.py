"""``pybpf run`` and ``pybpf conformance-plugin`` (pybpf.cli._vm), in process."""

from __future__ import annotations

import argparse
import io
from pathlib import Path

import pytest

from pybpf.cli import _vm
from tests.conftest import CONFORMANCE, TESTDATA
from tests.vm.conftest import TIER_PARAMS


def _main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="pybpf")
    _vm.register(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(argv)
    return int(args.func(args))


@pytest.mark.parametrize("tier", TIER_PARAMS)
def test_run_assembly(tmp_path: Path, tier: str, capsys: pytest.CaptureFixture[str]) -> None:
    src = tmp_path / "p.s"
    src.write_text("ldxb %r0, [%r1+1]\nadd %r0, %r2\nexit\n")
    assert _main(["run", str(src), "--mem", "00 05 00", "--tier", tier]) == 0
    assert capsys.readouterr().out == "0x8\n"


def test_run_raw_bytes_with_data_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    prog = tmp_path / "p.bin"
    prog.write_bytes(bytes.fromhex("bf200000000000009500000000000000"))  # r0 = r2; exit
    data = tmp_path / "d.bin"
    data.write_bytes(b"12345")
    assert _main(["run", str(prog), "--data", str(data)]) == 0
    assert capsys.readouterr().out == "0x5\n"


def test_run_conformance_file_and_trace(capsys: pytest.CaptureFixture[str]) -> None:
    path = CONFORMANCE / "tests" / "mem-len.data"
    if not path.exists():
        pytest.skip("bpf_conformance suite not found")
    assert _main(["run", str(path), "--trace"]) == 0
    captured = capsys.readouterr()
    assert captured.out == "0x8\n"
    assert "r0 = r2" in captured.err or "mov" in captured.err


def test_run_elf_object(capsys: pytest.CaptureFixture[str]) -> None:
    obj = TESTDATA / "obj" / "firewall.el.v3.o"
    frame = bytes(12) + b"\x08\x00" + bytes(40)
    assert _main(["run", str(obj), "--mem", frame.hex()]) == 0
    assert capsys.readouterr().out == "0x2\n"


def test_run_reports_a_fault(tmp_path: Path) -> None:
    from pybpf.errors import VMError

    src = tmp_path / "p.s"
    src.write_text("ldxw %r0, [%r1]\nexit\n")
    with pytest.raises(VMError, match="pc 0"):
        _main(["run", str(src), "--mem", "01"])


@pytest.mark.parametrize("tier", TIER_PARAMS)
def test_plugin_protocol(
    tier: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # callx: mov r1, -1; mov r2, 5; call r2; mov r0, 2; exit (helper 5 returns its argument)
    program = (
        "b7 01 00 00 ff ff ff ff b7 02 00 00 05 00 00 00 8d 02 00 00 00 00 00 00 "
        "b7 00 00 00 02 00 00 00 95 00 00 00 00 00 00 00"
    )
    spaced = "  ".join(program.split()) + "  "
    monkeypatch.setattr("sys.stdin", io.StringIO(spaced + "\n"))
    assert _main(["conformance-plugin", "", f"--tier {tier}"]) == 0
    assert capsys.readouterr().out == "2\n"


def test_plugin_memory_and_errors(capsys: pytest.CaptureFixture[str]) -> None:
    ldxw = "61  10  00  00  00  00  00  00  95  00  00  00  00  00  00  00"
    assert _main(["conformance-plugin", "01  02  03  04", "--program", ldxw]) == 0
    assert capsys.readouterr().out == "4030201\n"
    assert _main(["conformance-plugin", "01", "--program", ldxw]) == 1
    captured = capsys.readouterr()
    assert "out of bounds" in captured.err
    assert _main(["conformance-plugin", "", "--program", "85 01 00 00 00 00 00 00"]) == 1
