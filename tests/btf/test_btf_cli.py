"""``pybpf btf dump``: prints what bpftool prints, and fails cleanly."""

from __future__ import annotations

import argparse
import io
import sys
from pathlib import Path

import pytest

from pybpf.cli import _btf
from pybpf.elf import SHT
from pybpf.errors import BPFError
from tests.btf.btfutil import BTFDATA, read_text
from tests.conftest import OBJ, golden_dir, read_golden
from tests.elf.elfutil import Sec, build_elf


def run(argv: list[str], monkeypatch: pytest.MonkeyPatch) -> tuple[int, str, str]:
    """Run ``pybpf btf ...`` as pybpf.cli.main does (BPFError -> status 1)."""
    parser = argparse.ArgumentParser(prog="pybpf")
    _btf.register(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(argv)
    out, err = io.BytesIO(), io.StringIO()
    monkeypatch.setattr(sys, "stdout", io.TextIOWrapper(out, encoding="utf-8"))
    monkeypatch.setattr(sys, "stderr", err)
    try:
        status = args.func(args)
    except BPFError as exc:
        print(f"pybpf {args.command}: {exc}", file=sys.stderr)
        status = 1
    sys.stdout.flush()
    return status, out.getvalue().decode("utf-8", "surrogateescape"), err.getvalue()


@pytest.mark.parametrize("fmt", ["raw", "c"])
def test_dump_object(fmt: str, monkeypatch: pytest.MonkeyPatch) -> None:
    obj = OBJ / "btf_kinds.eb.v3.o"
    status, out, _ = run(["btf", "dump", str(obj), "--format", fmt], monkeypatch)
    assert status == 0
    assert out == read_golden(golden_dir(obj) / ("btf.txt" if fmt == "raw" else "btf.h"))


def test_dump_raw_is_the_default(monkeypatch: pytest.MonkeyPatch) -> None:
    status, out, _ = run(["btf", "dump", str(BTFDATA / "synthetic.el.btf")], monkeypatch)
    assert status == 0 and out == read_text(BTFDATA / "synthetic.el.txt")


@pytest.mark.parametrize("flag", ["--base", "-B"])
def test_dump_split_with_base(flag: str, monkeypatch: pytest.MonkeyPatch) -> None:
    argv = ["btf", "dump", str(BTFDATA / "split_mod.btf"), flag, str(BTFDATA / "split_base.btf")]
    status, out, _ = run(argv, monkeypatch)
    assert status == 0 and out == read_text(BTFDATA / "split_mod.txt")


def test_missing_file(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    status, out, err = run(["btf", "dump", str(tmp_path / "nope.o")], monkeypatch)
    assert status == 1 and out == ""
    assert "nope.o" in err and "No such file" in err


def test_broken_btf_names_file_and_offset(monkeypatch: pytest.MonkeyPatch) -> None:
    argv = ["btf", "dump", str(BTFDATA / "split_broken.btf"), "-B", str(BTFDATA / "split_base.btf")]
    status, out, err = run(argv, monkeypatch)
    assert status == 1 and out == ""
    assert "split_broken.btf" in err and "offset 0x" in err


def test_object_without_btf(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    elf = tmp_path / "nobtf.o"
    elf.write_bytes(build_elf([Sec(".text", SHT.PROGBITS, b"\x95" + b"\0" * 7)]))
    status, _, err = run(["btf", "dump", str(elf)], monkeypatch)
    assert status == 1 and "nobtf.o" in err and "no .BTF section" in err


def test_not_btf_at_all(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    junk = tmp_path / "junk"
    junk.write_bytes(b"hello, world")
    status, _, err = run(["btf", "dump", str(junk)], monkeypatch)
    assert status == 1 and "junk" in err
