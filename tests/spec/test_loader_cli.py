"""``pybpf spec OBJ.o``: the tables it prints, and the same as JSON."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import pytest

from pybpf.cli import _spec
from tests.conftest import TESTDATA

OBJ = TESTDATA / "obj"


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    parser = argparse.ArgumentParser(prog="pybpf")
    _spec.register(parser.add_subparsers(dest="command"))
    args = parser.parse_args(["spec", *argv])
    status = args.func(args)
    out, err = capsys.readouterr()
    return status, out, err


def rows(text: str, title: str) -> dict[str, list[str]]:
    """The rows of one table, by their first column."""
    lines = text.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith(title))
    found = {}
    for line in lines[start + 2 :]:
        if not line.startswith("  ") or ":" in line.split()[0]:
            break
        cells = line.split()
        found[cells[0]] = cells[1:]
    return found


def test_programs_table(capsys: pytest.CaptureFixture[str]) -> None:
    status, out, _ = run(capsys, str(OBJ / "sec_tramp.el.v3.o"))
    assert status == 0
    progs = rows(out, "programs (10)")
    assert progs["fentry_sleepable"] == [
        "fentry.s/do_unlinkat", "tracing", "trace_fentry", "do_unlinkat", "10", "sleepable",
    ]  # fmt: skip
    assert progs["freplace_count"][:4] == ["freplace/count_packet", "ext", "-", "count_packet"]


def test_subprograms_line(capsys: pytest.CaptureFixture[str]) -> None:
    _, out, _ = run(capsys, str(OBJ / "isa_calls.el.v3.o"))
    assert (
        "calls: subprograms mix@56, nested@65, global_scale@76, loop_step@80, sum_entry@93" in out
    )


def test_maps_table(capsys: pytest.CaptureFixture[str]) -> None:
    _, out, _ = run(capsys, str(OBJ / "maps.el.v3.o"))
    maps = rows(out, "maps (34)")
    assert maps["hash"] == [
        "hash",
        "__u32",
        "(4)",
        "struct",
        "value",
        "(16)",
        "1024",
        "no_prealloc",
        "-",
    ]
    assert maps["pybpf_pin_counts"][-2:] == ["numa_node", "by_name"]
    assert maps["perf_events"][:3] == ["perf_event_array", "4", "4"]
    assert "outer_array: values [0] = inner_a, [3] = inner_b" in out
    assert "outer_anon: inner map outer_anon.inner: percpu_array" in out
    assert "bloom: map_extra 0x3" in out


def test_globals_and_externs(capsys: pytest.CaptureFixture[str]) -> None:
    _, out, _ = run(capsys, str(OBJ / "globals.el.v3.o"))
    gvars = rows(out, "globals (14)")
    assert gvars["sample_rate"] == [".rodata", "32", "4", "const", "volatile", "__u32", "64000000"]
    assert ".data: kernel name 'globals.data'" in out
    _, out, _ = run(capsys, str(OBJ / "externs.el.v3.o"))
    ext = rows(out, "externs (14)")
    assert ext["CONFIG_BPF_LSM"] == [
        "kconfig",
        "enum",
        "libbpf_tristate",
        "-",
        "tristate",
        "at",
        "0",
        "(4)",
    ]
    assert ext["vfs_read"] == ["ksym", "untyped", "-", "-"]
    assert ext["pybpf_no_such_kfunc"][0] == "kfunc" and "weak" in ext["pybpf_no_such_kfunc"]


def test_json(capsys: pytest.CaptureFixture[str]) -> None:
    status, out, _ = run(capsys, str(OBJ / "maps.eb.v3.o"), "--json")
    assert status == 0
    doc = json.loads(out)
    assert doc["byte_order"] == "big" and doc["name"] == "maps"
    by_name = {m["name"]: m for m in doc["maps"]}
    assert by_name["jumps"]["values"] == [[1, "tail_target"]]
    assert by_name["outer_hash"]["inner_map"]["type"] == "hash"
    use_maps = next(p for p in doc["programs"] if p["name"] == "use_maps")
    assert (use_maps["type"], use_maps["insns"], use_maps["license"]) == ("xdp", 119, "GPL")


def test_struct_ops(capsys: pytest.CaptureFixture[str]) -> None:
    _, out, _ = run(capsys, str(OBJ / "struct_ops.el.v3.o"))
    assert "pybpf_cc: .ssthresh = pybpf_ssthresh" in out


def test_missing_file(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    status, _, err = run(capsys, str(tmp_path / "missing.o"))
    assert status == 1 and "missing.o" in err


@pytest.mark.parametrize("path", sorted(OBJ.glob("*.o")), ids=lambda p: p.name)
def test_every_fixture(capsys: pytest.CaptureFixture[str], path: Path) -> None:
    if path.name.startswith("link_"):
        pytest.skip("unresolved externs: pybpf (like libbpf) refuses the halves of linked.o")
    status, out, _ = run(capsys, str(path))
    assert status == 0 and out.startswith(str(path))
    status, out, _ = run(capsys, str(path), "--json")
    assert json.loads(out)["programs"]
