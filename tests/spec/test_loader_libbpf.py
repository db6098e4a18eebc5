"""The spec loader against libbpf itself, on every little-endian fixture.

libbpf (``libbpf.so.1``, through ctypes in a child process: tests/spec/libbpf_ctypes.py)
opens each object and, in gen-loader mode, relocates and links its programs without a
kernel. What pybpf reads must be what libbpf reads: the programs and their sections, types
and expected attach types; every map field; and each linked program instruction for
instruction (map and extern references compared by what they name, since libbpf writes map
indexes where pybpf keeps names; CO-RE instructions compared before relocation, as libbpf's
gen loader leaves them).

As root, the fixtures bpftool loaded here (golden/loadall.json) are loaded again through
libbpf for real, and the instruction count of each program as libbpf handed it to the kernel
is compared.

libbpf here is 1.1 (Debian 12). Where libbpf 1.1 and the libbpf.c pybpf follows (1.7)
differ, the test says so. Skips: objects libbpf refuses (legacy maps, unresolved externs),
and those its gen loader cannot handle (it crashes on struct_ops; it resolves ksyms before
linking, which needs CONFIG_KALLSYMS_ALL for ``ksyms_data``).
"""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

import pytest

from pybpf._uapi import MapType
from pybpf.asm.instruction import Instruction, encode
from pybpf.errors import BPFError
from pybpf.spec import CollectionSpec, MapSpec, PinType, ProgType
from pybpf.spec.loader import load_collection_spec
from tests.conftest import TESTDATA, is_root
from tests.spec import libbpf_ctypes

OBJ = TESTDATA / "obj"
OBJECTS = sorted(OBJ.glob("*.el.*.o"))

pytestmark = pytest.mark.skipif(
    not libbpf_ctypes.available(), reason="libbpf.so.1 is not installed (apt-get install libbpf1)"
)


@cache
def libbpf(mode: str, path: Path) -> dict[str, Any] | None:
    return libbpf_ctypes.run(mode, path)


@cache
def ours(path: Path) -> CollectionSpec | None:
    try:
        return load_collection_spec(path)
    except BPFError:
        return None


def both(mode: str, path: Path) -> tuple[CollectionSpec, dict[str, Any]]:
    spec, theirs = ours(path), libbpf(mode, path)
    if theirs is None:
        if spec is None:
            pytest.skip(f"libbpf and pybpf both refuse {path.name}")
        pytest.skip(f"libbpf refuses {path.name} (or its gen loader cannot handle it)")
    assert spec is not None, f"pybpf refuses {path.name}, libbpf reads it"
    return spec, theirs


@pytest.mark.parametrize("path", OBJECTS, ids=lambda p: p.name)
def test_programs_as_libbpf_reads_them(path: Path) -> None:
    spec, theirs = both("open", path)
    assert list(spec.programs) == list(theirs["programs"])
    for name, lb in theirs["programs"].items():
        prog = spec.programs[name]
        assert prog.section == lb["section"]
        assert prog.autoload == lb["autoload"]
        own = min(prog.subprograms.values(), default=prog.insn_count)
        assert own == lb["insn_cnt"], "the program's own code, before linking"
        if lb["type"] == 0:  # libbpf 1.1 does not know the section; 1.7 (and pybpf) do
            assert prog.type != ProgType.UNSPEC, "pybpf knows every section libbpf 1.1 does"
            continue
        assert prog.type == lb["type"]
        if prog.type == ProgType.STRUCT_OPS:
            # libbpf 1.1 sets the member index of the object's struct here; 1.7 sets the
            # kernel struct's at load time, and so will pybpf's loader
            continue
        assert (prog.attach_type or 0) == lb["expected_attach_type"]


def _find_map(spec: CollectionSpec, name: str) -> MapSpec:
    for m in spec.maps.values():
        if (m.kernel_name or m.name) == name:
            return m
    raise AssertionError(f"no map {name!r} (maps: {list(spec.maps)})")


def _assert_map(m: MapSpec, lb: dict[str, Any]) -> None:
    assert m.type == lb["type"]
    assert (m.key_size, m.value_size) == (lb["key_size"], lb["value_size"])
    assert m.max_entries == lb["max_entries"]
    assert (m.numa_node, m.map_extra) == (lb["numa_node"], lb["map_extra"])
    assert (m.key_type or 0) == lb["btf_key_type_id"]
    if m.type != MapType.STRUCT_OPS:  # libbpf 1.1 sets it at load, 1.7 at open (the struct)
        assert (m.value_type or 0) == lb["btf_value_type_id"]
    flags = lb["flags"]
    if lb["internal"] and not lb["btf_value_type_id"]:
        flags &= ~(1 << 10)  # libbpf 1.1 made .rodata.str1.1 mmapable; 1.7 does not
    assert m.flags == flags


@pytest.mark.parametrize("path", OBJECTS, ids=lambda p: p.name)
def test_maps_as_libbpf_reads_them(path: Path) -> None:
    spec, theirs = both("open", path)
    assert len(spec.maps) == len(theirs["maps"])
    for lb in theirs["maps"]:
        m = _find_map(spec, lb["name"])
        _assert_map(m, lb)
        if lb["internal"] and m.type != MapType.STRUCT_OPS:
            assert m.data is not None and m.data.hex() == lb["initial_value"]
        assert (m.pinning == PinType.BY_NAME) == (lb["pin_path"] is not None)
        if lb["inner"] is not None:
            assert m.inner_map is not None
            assert m.inner_map.name == lb["inner"]["name"]
            _assert_map(m.inner_map, lb["inner"])
        else:
            assert m.inner_map is None


def _slots(insns: list[Instruction], byteorder: str) -> list[tuple[int, bytes, Instruction]]:
    out, pc = [], 0
    for insn in insns:
        raw = encode([insn.with_fields(ref=None)], byteorder)  # type: ignore[arg-type]
        out += [(pc + k // 8, raw[k : k + 8], insn) for k in range(0, len(raw), 8)]
        pc += insn.slots
    return out


@pytest.mark.parametrize("path", OBJECTS, ids=lambda p: p.name)
def test_programs_linked_as_libbpf_links_them(path: Path) -> None:
    spec, theirs = both("link", path)
    if not theirs["relocated"]:
        pytest.skip(f"libbpf's gen loader stopped before relocating {path.name}")
    for name, lb in theirs["programs"].items():
        prog = spec.programs[name]
        if not lb["autoload"]:
            continue  # libbpf 1.1 does not know the section: it did not link it
        assert prog.insn_count == lb["insn_cnt"], name
        raw = bytes.fromhex(lb["insns"])
        core = {r.insn for r in prog.core_relos}
        for slot, mine, insn in _slots(prog.instructions, spec.byte_order):
            theirs_slot = raw[slot * 8 : slot * 8 + 8]
            if insn.ref is not None or slot in core:
                # libbpf wrote a map index, a BTF id or an address where pybpf keeps the
                # name (and src says which); CO-RE: recorded only. Same opcode, same dst.
                assert mine[0] == theirs_slot[0], (name, slot, str(insn))
                assert mine[1] & 0x0F == theirs_slot[1] & 0x0F, (name, slot, str(insn))
                continue
            assert mine == theirs_slot, (name, slot, str(insn))


def _loaded_fixtures() -> list[str]:
    found = json.loads((TESTDATA / "golden" / "loadall.json").read_text())
    return sorted(name for name, result in found.items() if result.get("loaded"))


@pytest.mark.root
@pytest.mark.parametrize("name", _loaded_fixtures())
def test_instruction_counts_of_a_real_load(name: str) -> None:
    """Every fixture bpftool loaded here, loaded again through libbpf: each program's
    instruction count as libbpf sent it to the kernel is pybpf's."""
    if not is_root():
        pytest.skip("loading programs needs root")
    path = OBJ / f"{name}.o"
    theirs = libbpf("load", path)
    if theirs is None or theirs["error"]:
        pytest.skip(f"libbpf could not load {name} here: {theirs and theirs['log'][-1:]}")
    spec = ours(path)
    assert spec is not None
    counts = {n: p["insn_cnt"] for n, p in theirs["programs"].items()}
    assert {n: p.insn_count for n, p in spec.programs.items()} == counts
