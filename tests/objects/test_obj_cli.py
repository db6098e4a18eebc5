"""``pybpf probe``, ``pybpf prog …`` and ``pybpf map …``: output shaped like bpftool's (compared
live with bpftool where it is installed)."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest

from pybpf.objects import Map, Program
from pybpf.spec import MapSpec, MapType, ProgramSpec, ProgType
from tests.objects.cli_helpers import bpftool, run
from tests.objects.progs import count_into


@pytest.fixture
def loaded(kernel: None) -> Iterator[tuple[Map, Map, Map, Program]]:
    with (
        Map.create(MapSpec("cli_hash", MapType.HASH, 4, 8, 16)) as h,
        Map.create(MapSpec("cli_big", MapType.HASH, 20, 40, 2)) as big,
        Map.create(MapSpec("cli_pcpu", MapType.PERCPU_ARRAY, 4, 4, 2)) as pc,
    ):
        h[1], h[3] = 2, 4
        big[bytes(range(1, 21))] = bytes(range(1, 41))
        spec = ProgramSpec("cli_prog", ProgType.XDP, count_into("cli_counts"), license="GPL")
        with (
            Map.create(MapSpec("cli_counts", MapType.ARRAY, 4, 8, 1)) as counts,
            Program.load(spec, {"cli_counts": counts}) as prog,
        ):
            yield h, big, pc, prog


def test_map_show_and_dump_match_bpftool(loaded: tuple[Map, Map, Map, Program]) -> None:
    for m in loaded[:3]:
        sel = ("id", str(m.info().id))
        assert run("map", "show", *sel) == bpftool("map", "show", *sel)
        assert run("map", "dump", *sel) == bpftool("map", "dump", *sel)
        mine = json.loads(run("map", "show", *sel, "--json"))
        theirs = json.loads(bpftool("-j", "map", "show", *sel))
        assert {k: theirs[k] for k in mine} == mine
    assert "cli_hash" in run("map", "list")


def test_prog_show_matches_bpftool(loaded: tuple[Map, Map, Map, Program]) -> None:
    sel = ("id", str(loaded[3].info().id))
    assert run("prog", "show", *sel) == bpftool("prog", "show", *sel)
    assert run("prog", "show", "name", "cli_prog") == bpftool("prog", "show", *sel)
    mine = json.loads(run("prog", "show", *sel, "--json"))
    theirs = json.loads(bpftool("-j", "prog", "show", *sel))
    assert {k: theirs[k] for k in mine} == mine


def test_prog_dump_xlated_lines_up_with_bpftool(loaded: tuple[Map, Map, Map, Program]) -> None:
    sel = ("id", str(loaded[3].info().id))
    mine = run("prog", "dump", "xlated", *sel).splitlines()
    theirs = bpftool("prog", "dump", "xlated", *sel).splitlines()
    assert [ln.split(")")[0] for ln in mine] == [ln.split(")")[0] for ln in theirs]
    for a, b in zip(mine, theirs, strict=True):
        if "map[id:" in b or "call " in b:
            assert a == b  # maps by id, helpers by kernel symbol, as bpftool shows them
    with_bytes = run("prog", "dump", "xlated", *sel, "--opcodes").splitlines()
    opcodes = bpftool("prog", "dump", "xlated", *sel, "opcodes").splitlines()
    assert [ln.strip() for ln in with_bytes[1::2]] == [ln.strip() for ln in opcodes[1::2]]


def test_prog_dump_jited_prints_every_byte(loaded: tuple[Map, Map, Map, Program]) -> None:
    jit = loaded[3].jited()
    text = run("prog", "dump", "jited", "id", str(loaded[3].info().id))
    assert text.splitlines()[0].startswith("bpf_prog_")
    hexes = "".join(ln.split("\t")[1] for ln in text.splitlines()[1:]).replace(" ", "")
    assert bytes.fromhex(hexes) == jit.raw


def test_probe_prints_the_report(kernel: None) -> None:
    text = run("probe")
    assert text.startswith("Scanning system configuration...\n")
    assert "eBPF map_type hash is available" in text


@pytest.mark.parametrize("selector", [("colour", "red"), ("id", "x"), ("tag", "t"), ("id",)])
def test_bad_selector_is_a_clear_error(selector: tuple[str, ...]) -> None:
    from pybpf.objects import SpecError

    with pytest.raises(SpecError, match="expected 'id …', 'pinned …', 'name …'"):
        run("map", "show", *selector)
