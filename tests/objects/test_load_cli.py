"""``pybpf prog loadall OBJ PINDIR``, as ``bpftool prog loadall``: run as a whole process on
the kernel, every program pinned by name, maps with ``pinmaps``, nothing left on failure."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Iterator

import pytest

from pybpf.objects import Map, Program
from pybpf.objects.pin import BPFFS_ROOT
from pybpf.spec import ProgType, load_collection_spec
from tests.conftest import OBJ, TESTS


@pytest.fixture
def pindir(kernel: None) -> Iterator[str]:
    path = os.path.join(BPFFS_ROOT, f"pybpf_loadall_{os.getpid()}")
    yield path
    shutil.rmtree(path, ignore_errors=True)


def _loadall(*args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(TESTS.parent / "src")}
    return subprocess.run(
        [sys.executable, "-m", "pybpf", "prog", "loadall", *args],
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )


def _autoload(name: str) -> set[str]:
    spec = load_collection_spec(OBJ / name)
    return {n for n, p in spec.programs.items() if p.autoload}


@pytest.mark.parametrize("name", ["bs_bootstrap.el.v3.o", "maps.el.v3.o", "struct_ops.el.v3.o"])
def test_loadall_pins_every_program(name: str, pindir: str) -> None:
    done = _loadall(str(OBJ / name), pindir)
    assert done.returncode == 0, done.stderr
    assert done.stdout == "" and done.stderr == ""
    assert set(os.listdir(pindir)) == _autoload(name)
    for prog_name in os.listdir(pindir):
        with Program.from_pin(os.path.join(pindir, prog_name)) as prog:
            assert prog.info().name == prog_name[:15]
    if name == "maps.el.v3.o":
        os.unlink(os.path.join(BPFFS_ROOT, "pybpf_pin_counts"))  # pinned BY_NAME


def test_loadall_pinmaps(pindir: str) -> None:
    mapdir = os.path.join(pindir, "maps")
    done = _loadall(str(OBJ / "globals.el.v3.o"), pindir, "pinmaps", mapdir)
    assert done.returncode == 0, done.stderr
    # global data under libbpf's names, dots made underscores (a bpffs refuses dots)
    assert set(os.listdir(mapdir)) == {
        "globals_rodata",
        "globals_data",
        "_data_counters",
        "_rodata_table",
        "globals_bss",
        "_rodata_str1_1",
    }
    with Map.from_pin(os.path.join(mapdir, "globals_rodata")) as rodata:
        assert rodata.info().frozen


def test_loadall_refusal_leaves_nothing(pindir: str) -> None:
    done = _loadall(str(OBJ / "core_fail.el.v3.o"), pindir)
    assert done.returncode == 1
    assert "program 'missing_field'" in done.stderr
    assert "failed to resolve CO-RE relocation" in done.stderr
    assert not os.path.exists(pindir) or not os.listdir(pindir)


def test_loadall_type_and_map_options(pindir: str) -> None:
    mine = os.path.join(pindir, "shared_counts")
    spec = load_collection_spec(OBJ / "firewall.el.v3.o")
    counters = spec.maps["COUNTERS"].copy()
    counters.btf, counters.key_type, counters.value_type = None, None, None
    with Map.create(counters) as m:
        m.pin(mine)
        map_id = m.id
    obj = str(OBJ / "firewall.el.v3.o")
    done = _loadall(obj, pindir, "type", "xdp", "map", "name", "COUNTERS", "pinned", mine)
    assert done.returncode == 0, done.stderr
    with Program.from_pin(os.path.join(pindir, "firewall")) as prog:
        info = prog.info()
        assert info.type == ProgType.XDP and map_id in info.map_ids


@pytest.mark.parametrize(
    ("words", "message"),
    [
        (["map", "name", "nope", "id", "1"], "no such map"),
        (["map", "idx", "99", "id", "1"], "the object has"),
        (["type", "no_such_section"], "unknown program type"),
        (["bogus"], "unexpected 'bogus'"),
    ],
)
def test_loadall_bad_options(words: list[str], message: str, pindir: str) -> None:
    done = _loadall(str(OBJ / "firewall.el.v3.o"), pindir, *words)
    assert done.returncode == 1 and message in done.stderr
