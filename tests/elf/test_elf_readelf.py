"""pybpf.elf against the reference readers: committed readelf goldens, live readelf and
llvm-readelf runs, and pyelftools — sections, symbols and relocations, in both byte orders."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest

from pybpf.elf import SHT, ELFFile
from tests.elf import elfutil as u

TESTDATA = Path(__file__).resolve().parent.parent / "testdata"
OWN = sorted((TESTDATA / "elf").glob("*.o"))
FIXTURES = sorted((TESTDATA / "obj").glob("*.o"))
GOLDEN = sorted((TESTDATA / "elf").glob("*.readelf.txt"))
TOOLS = [("readelf", False), ("llvm-readelf-19", True)]


def _fixture_params() -> list[Any]:
    if FIXTURES:
        return [pytest.param(p, id=p.name) for p in FIXTURES]
    reason = "tests/testdata/obj/ has no objects yet (make -C tests/testdata)"
    return [pytest.param(None, marks=pytest.mark.skip(reason=reason), id="no-fixtures")]


def _tool(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        pytest.skip(f"{name} is not installed (apt-get install binutils llvm-19)")
    return path


def _live(path: Path, tool: str, llvm: bool) -> None:
    theirs = u.parse_readelf(u.run_readelf(_tool(tool), str(path)))
    assert theirs.sections, f"{tool} printed no sections for {path.name}"
    u.compare(u.dump(ELFFile.from_path(path)), theirs, llvm=llvm)


def test_goldens_exist_for_both_byte_orders() -> None:
    assert {g.name for g in GOLDEN} >= {"small.bpfel.readelf.txt", "small.bpfeb.readelf.txt"}


@pytest.mark.parametrize("golden", GOLDEN, ids=[g.name for g in GOLDEN])
def test_committed_golden(golden: Path) -> None:
    """The committed ``readelf -S -s -r --wide`` output of each object (no tool needed)."""
    obj = golden.with_name(golden.name.removesuffix(".readelf.txt") + ".o")
    theirs = u.parse_readelf(golden.read_text())
    assert len(theirs.sections) > 30 and theirs.symbols and theirs.relocations
    u.compare(u.dump(ELFFile.from_path(obj)), theirs, llvm=False)


@pytest.mark.tool
@pytest.mark.parametrize(("tool", "llvm"), TOOLS)
@pytest.mark.parametrize("path", OWN, ids=[p.name for p in OWN])
def test_live_own_objects(path: Path, tool: str, llvm: bool) -> None:
    _live(path, tool, llvm)


@pytest.mark.tool
@pytest.mark.parametrize(("tool", "llvm"), TOOLS)
@pytest.mark.parametrize("path", _fixture_params())
def test_live_fixture_objects(path: Path, tool: str, llvm: bool) -> None:
    """Every object of the project's fixtures (tests/testdata/obj), when they are built."""
    _live(path, tool, llvm)


@pytest.mark.tool
@pytest.mark.parametrize(("tool", "llvm"), TOOLS)
@pytest.mark.parametrize("extended", [False, True])
@pytest.mark.parametrize("byteorder", ["little", "big"])
def test_live_synthetic(
    tmp_path: Path, byteorder: str, extended: bool, tool: str, llvm: bool
) -> None:
    """RELA addends, SHN_XINDEX symbols and extended numbering, which clang never writes."""
    path = tmp_path / f"synthetic.{byteorder}.o"
    path.write_bytes(u.synthetic(byteorder, extended=extended))
    _live(path, tool, llvm)


# -- pyelftools, the field's standard Python reader --------------------------------------


def _pyelftools(path: Path) -> u.Dump:
    elffile = pytest.importorskip("elftools.elf.elffile")
    relocation = pytest.importorskip("elftools.elf.relocation")
    out = u.Dump()
    with path.open("rb") as f:
        elf = elffile.ELFFile(f)
        for i, s in enumerate(elf.iter_sections()):
            h = s.header
            out.sections.append(
                (i, s.name, _num(h.sh_type), h.sh_addr, h.sh_offset, h.sh_size, h.sh_entsize,
                 h.sh_flags & u.KNOWN_FLAGS, h.sh_link, h.sh_info, h.sh_addralign)
            )  # fmt: skip
        symtab = elf.get_section_by_name(".symtab")
        syms = list(symtab.iter_symbols())
        out.symbols[".symtab"] = [
            (i, s["st_value"], s["st_size"], _num(s["st_info"]["type"]),
             _num(s["st_info"]["bind"]), _num(s["st_other"]["visibility"]),
             _num(s["st_shndx"]), s.name)
            for i, s in enumerate(syms)
        ]  # fmt: skip
        for s in elf.iter_sections():
            if isinstance(s, relocation.RelocationSection):
                out.relocations[s.name] = [
                    (r["r_offset"], r["r_info"], r["r_addend"] if r.is_RELA() else 0)
                    for r in s.iter_relocations()
                ]
    return out


def _num(value: Any) -> int:
    """pyelftools gives names for known enum values; map them back to numbers."""
    if isinstance(value, int):
        return value
    from elftools.elf.enums import (
        ENUM_SH_TYPE_BASE,
        ENUM_ST_INFO_BIND,
        ENUM_ST_INFO_TYPE,
        ENUM_ST_SHNDX,
        ENUM_ST_VISIBILITY,
    )

    for table in (ENUM_SH_TYPE_BASE, ENUM_ST_INFO_TYPE, ENUM_ST_INFO_BIND, ENUM_ST_SHNDX,
                  ENUM_ST_VISIBILITY):  # fmt: skip
        if value in table:
            return int(table[value])
    extra = {"SHT_LLVM_ADDRSIG": SHT.LLVM_ADDRSIG, "STT_LOOS": 10, "STB_LOOS": 10}
    return int(extra[value])


def _pyelftools_paths() -> list[Path]:
    return [p for p in OWN if p.stat().st_size < 100_000]


@pytest.mark.parametrize("path", _pyelftools_paths(), ids=lambda p: p.name)
def test_pyelftools_agrees(path: Path) -> None:
    theirs = _pyelftools(path)
    ours = u.dump(ELFFile.from_path(path))
    assert ours.sections == theirs.sections
    raw_symbols = [(*row[:7], row[7] if row[3] != 3 else "") for row in ours.symbols[".symtab"]]
    assert raw_symbols == theirs.symbols[".symtab"]  # pyelftools keeps st_name 0 names empty
    assert {k: [(r[0], r[1], r[5]) for r in v] for k, v in ours.relocations.items()} == (
        theirs.relocations
    )
