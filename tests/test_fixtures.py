"""The committed BPF fixtures: every source has its objects, every object its golden files.

tests/testdata/README.md describes the fixtures; ``make testdata`` rebuilds the objects and
``tests/testdata/gen_golden.py`` the goldens. The live checks (the goldens still match what the
tools print; a rebuild gives the same bytes) skip when the tool is absent.
"""

from __future__ import annotations

import json
import re
import struct
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import TESTDATA, has_golden, read_golden, tool

SRC = TESTDATA / "src"
OBJ = TESTDATA / "obj"
GOLDEN = TESTDATA / "golden"

EM_BPF = 247
VARIANT = re.compile(r"^(el|eb)\.v[1-4]$")
SOURCES = sorted(SRC.glob("*.bpf.c"))
OBJECTS = sorted(OBJ.glob("*.o"))


def stem(obj: Path) -> str:
    return obj.name[: -len(".o")]


def listed(source: Path, tag: str) -> list[str]:
    """The words after ``// pybpf-variants:`` (or another tag) in a fixture source."""
    for line in source.read_text().splitlines():
        if line.startswith(f"// {tag}:"):
            return line.split(":", 1)[1].split()
    return []


def expected_objects() -> set[str]:
    """Every object the Makefile builds, by stem (NAME.ENDIAN.CPU)."""
    names = {
        f"{s.name[: -len('.bpf.c')]}.{v}" for s in SOURCES for v in listed(s, "pybpf-variants")
    }
    names |= {f"linked.{v}" for v in listed(SRC / "link_a.bpf.c", "pybpf-linked")}
    return names


@pytest.mark.parametrize("source", SOURCES, ids=lambda p: p.name)
def test_source_lists_its_variants(source: Path) -> None:
    variants = listed(source, "pybpf-variants")
    assert variants, f"{source.name} has no '// pybpf-variants:' line"
    assert all(VARIANT.match(v) for v in variants), variants


def test_every_listed_object_is_committed() -> None:
    assert {stem(o) for o in OBJECTS} == expected_objects()


@pytest.mark.parametrize("obj", OBJECTS, ids=stem)
def test_object_is_bpf_elf_in_its_byte_order(obj: Path) -> None:
    head = obj.read_bytes()[:20]
    assert head[:4] == b"\x7fELF"
    assert head[4] == 2, "ELFCLASS64"
    little = obj.name.split(".")[1] == "el"
    assert head[5] == (1 if little else 2), "EI_DATA"
    (machine,) = struct.unpack_from("<H" if little else ">H", head, 18)
    assert machine == EM_BPF


@pytest.mark.parametrize("obj", OBJECTS, ids=stem)
def test_object_has_its_goldens(obj: Path) -> None:
    _, endian, cpu = stem(obj).split(".")
    wanted = ["objdump.txt", "readelf.txt", "btf.txt", "btf.h"]
    if cpu in ("v3", "v4"):
        wanted.append("objdump-alu32.txt")
    if endian == "el":
        wanted.append("load.log")
    missing = [w for w in wanted if not has_golden(GOLDEN / stem(obj) / w)]
    assert not missing, f"run tests/testdata/gen_golden.py: {stem(obj)} lacks {missing}"


def test_each_fixture_has_a_relocation_listing() -> None:
    names = {stem(o).split(".")[0] for o in OBJECTS}
    listed_r = {p.parent.name.split(".")[0] for p in GOLDEN.glob("*/objdump-r.txt*")}
    assert names == listed_r


def test_loadall_covers_every_object() -> None:
    results = json.loads((GOLDEN / "loadall.json").read_text())
    assert set(results) == {stem(o) for o in OBJECTS}
    for key, verdict in results.items():
        if key.split(".")[1] == "eb":
            assert verdict["loaded"] is None
        else:
            assert isinstance(verdict["loaded"], bool)
            assert verdict["loaded"] or verdict["reason"]


def test_large_object_is_the_benchmark_shape() -> None:
    large = OBJ / "large.el.v4.o"
    assert 600_000 <= large.stat().st_size <= 700_000
    core = read_golden(GOLDEN / "large.el.v4" / "core.txt")
    assert len(re.findall(r"relo #\d+: patched insn", core)) == 50
    assert "gotol" in read_golden(GOLDEN / "large.el.v4" / "objdump.txt")


def test_large_source_is_what_its_generator_prints() -> None:
    printed = subprocess.run(
        [sys.executable, str(TESTDATA / "gen_large.py")], capture_output=True, text=True, check=True
    ).stdout
    assert printed == (SRC / "large.bpf.c").read_text()


@pytest.mark.tool
@pytest.mark.parametrize("endian", ["el", "eb"])
def test_objdump_goldens_are_current(endian: str) -> None:
    """One llvm-objdump run per byte order (it decodes every file of a run in the byte order
    of the first), split per file, equals the goldens."""
    objdump = tool("llvm-objdump-19")
    names = [o.name for o in OBJECTS if o.name.split(".")[1] == endian]
    out = subprocess.run(
        [objdump, "-d", *names], cwd=OBJ, capture_output=True, text=True, check=True
    ).stdout
    # Each file's listing starts with "\nNAME.o:\tfile format elf64-bpf\n".
    starts = [out.index(f"\n{n}:\tfile format") for n in names] + [len(out)]
    for name, begin, end in zip(names, starts, starts[1:], strict=False):
        golden = read_golden(GOLDEN / name[: -len(".o")] / "objdump.txt")
        assert out[begin:end] == golden, f"{name}: objdump golden is stale"


@pytest.mark.tool
@pytest.mark.parametrize("obj", OBJECTS, ids=stem)
def test_btf_goldens_are_current(obj: Path) -> None:
    bpftool = tool("bpftool")
    for args, golden in (([], "btf.txt"), (["format", "c"], "btf.h")):
        out = subprocess.run(
            [bpftool, "btf", "dump", "file", obj.name, *args],
            cwd=OBJ,
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        assert out == read_golden(GOLDEN / stem(obj) / golden)


@pytest.mark.tool
@pytest.mark.parametrize("target", ["firewall.el.v3", "isa_alu.eb.v4"])
def test_rebuild_gives_the_same_bytes(target: str, tmp_path: Path) -> None:
    """Two small objects rebuilt with the Makefile's flags (clang-19, libbpf-dev headers)."""
    tool("clang-19")
    make = tool("make")
    if not Path("/usr/include/bpf/bpf_helpers.h").exists():
        pytest.skip("libbpf-dev headers are not installed (/usr/include/bpf)")
    built = tmp_path / f"{target}.o"
    subprocess.run(
        [make, "-s", "-C", str(TESTDATA), f"OBJ={tmp_path}", str(built)],
        capture_output=True,
        check=True,
    )
    assert built.read_bytes() == (OBJ / f"{target}.o").read_bytes()
