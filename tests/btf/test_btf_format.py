"""Raw and C dumps equal bpftool's: committed goldens, and live runs when bpftool is here."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from pybpf.btf import (
    BTF,
    Const,
    Int,
    IntEncoding,
    Kind,
    Member,
    Ptr,
    Struct,
    Typedef,
    encode,
    format_c,
    format_raw,
)
from pybpf.btf._format_c import EPILOGUE, PROLOGUE
from pybpf.errors import BTFError
from tests.btf.btfutil import BTFDATA, read_text, vmlinux
from tests.conftest import fixture_objects, golden_dir, has_golden, read_golden, tool

SHARED = [o for o in fixture_objects() if has_golden(golden_dir(o) / "btf.txt")]
OWN = [*sorted(BTFDATA.glob("layout.*.o")), *sorted(BTFDATA.glob("synthetic.*.btf"))]
SPLIT = ["split_mod.btf", "split_empty.btf"]


def _split(name: str) -> BTF:
    base = BTF.from_path(str(BTFDATA / "split_base.btf"))
    return BTF.from_path(str(BTFDATA / name), base=base)


@pytest.mark.parametrize("obj", SHARED, ids=lambda p: p.name)
def test_fixture_objects_match_bpftool_goldens(obj: Path) -> None:
    btf = BTF.from_path(str(obj))
    assert format_raw(btf) == read_golden(golden_dir(obj) / "btf.txt")
    assert format_c(btf) == read_golden(golden_dir(obj) / "btf.h")


@pytest.mark.parametrize("path", OWN, ids=lambda p: p.name)
def test_own_fixtures_match_bpftool_goldens(path: Path) -> None:
    btf = BTF.from_path(str(path))
    stem = path.name.rsplit(".", 1)[0]
    assert format_raw(btf) == read_text(BTFDATA / f"{stem}.txt")
    assert format_c(btf) == read_text(BTFDATA / f"{stem}.h")


@pytest.mark.parametrize("name", SPLIT)
def test_split_btf_matches_bpftool_goldens(name: str) -> None:
    btf = _split(name)
    stem = name.rsplit(".", 1)[0]
    assert format_raw(btf) == read_text(BTFDATA / f"{stem}.txt")  # own types only
    assert format_c(btf) == read_text(BTFDATA / f"{stem}.h")  # every type, the base's too


def test_selected_types_and_their_dependencies() -> None:
    btf = BTF.from_path(str(BTFDATA / "layout.bpfel.o"))
    b_type = btf.find_by_name_kind("b_type", Kind.STRUCT)
    assert b_type
    body = format_c(btf, [b_type]).removeprefix(PROLOGUE).removesuffix(EPILOGUE)
    # What b_type embeds comes first; a_type points back at b_type: a forward declaration.
    assert [line for line in body.splitlines() if line.startswith("struct")] == [
        "struct list {",
        "struct b_type;",
        "struct a_type {",
        "struct b_type {",
    ]
    assert "typedef" not in body and "enum" not in body
    assert format_raw(btf, [b_type]).startswith(f"[{b_type}] STRUCT 'b_type' size=")


def test_unsatisfiable_cycle_is_a_btf_error() -> None:
    # An anonymous struct that contains itself through a pointer cannot be written in C.
    data = encode([Struct(name="", size=8, members=(Member("self", 2, 0),)), Ptr(type=1)])
    with pytest.raises(BTFError, match="cycle"):
        format_c(BTF(data))


def test_modifier_loop_is_a_btf_error_not_a_hang() -> None:
    data = encode(
        [
            Int(name="int", size=4, encoding=IntEncoding.SIGNED, nr_bits=32),
            Struct(name="s", size=8, members=(Member("p", 3, 0),)),
            Const(type=4),
            Typedef(name="t", type=3),
        ]
    )
    with pytest.raises(BTFError):
        format_c(BTF(data))


# -- live comparisons ------------------------------------------------------------------------
def _bpftool(*args: str) -> str:
    out = subprocess.run([tool("bpftool"), *args], check=True, capture_output=True).stdout
    return out.decode("utf-8", "surrogateescape")


@pytest.mark.tool
@pytest.mark.parametrize("obj", SHARED[:3] + OWN[:1], ids=lambda p: p.name)
def test_objects_live(obj: Path) -> None:
    btf = BTF.from_path(str(obj))
    assert format_raw(btf) == _bpftool("btf", "dump", "file", str(obj))
    assert format_c(btf) == _bpftool("btf", "dump", "file", str(obj), "format", "c")


@pytest.mark.tool
@pytest.mark.parametrize("fmt", ["raw", "c"])
def test_vmlinux_live(fmt: str) -> None:
    path = str(vmlinux())
    btf = BTF.from_path(path)
    if fmt == "raw":
        assert format_raw(btf) == _bpftool("btf", "dump", "file", path)
    else:
        assert format_c(btf) == _bpftool("btf", "dump", "file", path, "format", "c")


def _modules() -> list[Path]:
    return sorted(p for p in Path("/sys/kernel/btf").glob("*") if p.name != "vmlinux")


@pytest.mark.tool
def test_module_btf_live() -> None:
    modules = _modules()
    if not modules:
        pytest.skip("no module BTF in /sys/kernel/btf (no modules loaded, or built in)")
    base = BTF.from_path(str(vmlinux()))
    for path in modules[:3]:
        btf = BTF.from_path(str(path), base=base)
        assert format_raw(btf) == _bpftool("btf", "dump", "file", str(path)), path.name
