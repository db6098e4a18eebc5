"""The maps of a loaded object (tests/testdata/src/maps.bpf.c): pinning by name across
processes, reuse and refusal of pinned maps, maps of maps and prog arrays filled, partial
loads, BTF kept off the map types libbpf gives none, struct_ops maps."""

from __future__ import annotations

import ctypes
import mmap
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator

import pytest

import pybpf._load as pybpf_load
from pybpf import features
from pybpf.asm.instruction import Instruction
from pybpf.asm.opcodes import PseudoSrc
from pybpf.errors import SpecError
from pybpf.objects import Collection, Map, possible_cpus
from pybpf.objects._load_arena import FULL_RANGE_LDDW
from pybpf.objects._load_maps import arena_data_offset
from pybpf.objects.pin import BPFFS_ROOT
from pybpf.spec import (
    BPF_F_MMAPABLE,
    BPF_F_SLEEPABLE,
    CollectionSpec,
    MapSpec,
    MapType,
    ProgramSpec,
    ProgType,
    load_collection_spec,
)
from pybpf.sys import MapElemAttr, map_delete_elem, map_update_elem
from tests.conftest import OBJ, TESTS
from tests.objects.progs import op

MAPS = OBJ / "maps.el.v3.o"
PINNED = "pybpf_pin_counts"
XDP_DROP = 1


@pytest.fixture
def pin_root(kernel: None) -> Iterator[str]:
    root = os.path.join(BPFFS_ROOT, f"pybpf_load_pins_{os.getpid()}")
    yield root
    shutil.rmtree(root, ignore_errors=True)


def _spec() -> CollectionSpec:
    return load_collection_spec(MAPS)


_READER = """
import sys
from pybpf.objects import Map, possible_cpus
with Map.from_pin(sys.argv[1]) as m:
    print(int.from_bytes(m[0], "little") if isinstance(m[0], bytes) else m[0])
"""


def test_pinned_by_name_is_shared_across_processes(pin_root: str) -> None:
    path = os.path.join(pin_root, PINNED)
    with pybpf_load.load(MAPS, pin_root=pin_root) as coll:
        assert os.path.exists(path) and coll.maps[PINNED].pinned_path == path
        coll.maps[PINNED][0] = 41
        coll.programs["use_maps"].test_run(bytes(64))  # (*count)++ at key 0
        first_id = coll.maps[PINNED].id
    out = subprocess.run(
        [sys.executable, "-c", _READER, path],
        capture_output=True,
        text=True,
        check=True,
        env={**os.environ, "PYTHONPATH": str(TESTS.parent / "src")},
    )
    assert out.stdout.strip() == "42"  # the map outlived the collection: it is pinned
    with pybpf_load.load(MAPS, pin_root=pin_root) as coll:  # a second load reuses it
        assert coll.maps[PINNED].id == first_id
        assert coll.maps[PINNED][0] == 42


def test_incompatible_pinned_map_is_refused(pin_root: str) -> None:
    with pybpf_load.load(MAPS, pin_root=pin_root, programs=["use_maps"]):
        pass
    spec = _spec()
    spec.maps[PINNED].max_entries = 64
    with pytest.raises(SpecError, match=r"incompatible: its max_entries is 32, the spec says 64"):
        pybpf_load.load(spec, pin_root=pin_root)
    spec = _spec()
    spec.maps[PINNED].flags |= 1  # BPF_F_NO_PREALLOC
    with pytest.raises(SpecError, match="its flags is"):
        pybpf_load.load(spec, pin_root=pin_root)


def test_failed_load_removes_the_pins_it_made(pin_root: str) -> None:
    spec = _spec()
    spec.programs["use_maps"].instructions = spec.programs["use_maps"].instructions[:-1]
    with pytest.raises(Exception, match="use_maps"):
        pybpf_load.load(spec, pin_root=pin_root)
    assert not os.path.exists(os.path.join(pin_root, PINNED))


def test_maps_of_maps_and_prog_arrays_are_filled(pin_root: str) -> None:
    with pybpf_load.load(MAPS, pin_root=pin_root) as coll:
        maps, progs = coll.maps, coll.programs
        assert maps["outer_array"][0] == maps["inner_a"].id
        assert maps["outer_array"][3] == maps["inner_b"].id
        assert 1 not in maps["outer_array"]
        assert maps["outer_hash"][5] == maps["inner_h"].id
        assert maps["jumps"][1] == progs["tail_target"].id
        assert len(maps["outer_anon"]) == 0
        # a tail call through jumps[1] lands in tail_target: XDP_DROP for short packets
        assert progs["use_maps"].test_run(bytes(16)).retval == XDP_DROP


def test_map_types_libbpf_gives_no_btf_get_none(pin_root: str) -> None:
    with pybpf_load.load(MAPS, pin_root=pin_root) as coll:
        infos = {name: m.info() for name, m in coll.maps.items()}
    for name in ("outer_array", "devmap", "cpumap", "queue", "stack", "perf_events"):
        assert infos[name].btf_id == 0, name
    assert infos["hash"].btf_id and infos["hash"].btf_value_type_id
    assert infos["sk_storage"].btf_id  # local storage demands BTF
    # the kernel refuses prog arrays with BTF: created again without (as libbpf retries)
    assert infos["jumps"].btf_value_type_id == 0


def test_ring_buffer_sizes_are_rounded(pin_root: str) -> None:
    spec = _spec()
    spec.maps["ringbuf"].max_entries = 5000
    with pybpf_load.load(spec, pin_root=pin_root, programs=["use_maps"]) as coll:
        assert coll.maps["ringbuf"].max_entries == 4096 * 2 ** ((5000 // 4096).bit_length())


def test_partial_load_makes_only_what_is_used(pin_root: str) -> None:
    with pybpf_load.load(MAPS, pin_root=pin_root, programs=["tail_target"]) as coll:
        assert set(coll.programs) == {"tail_target"} and not coll.maps
    with pybpf_load.load(MAPS, pin_root=pin_root, programs=["use_perf"]) as coll:
        assert set(coll.maps) == {"perf_events"}
        assert coll.maps["perf_events"].max_entries == possible_cpus()  # libbpf's default
    with pybpf_load.load(MAPS, pin_root=pin_root, programs=["use_maps"]) as coll:
        assert {"outer_array", "inner_a", "inner_b", "jumps"} <= set(coll.maps)
        assert "outer_hash" not in coll.maps and "tail_target" not in coll.programs
        assert len(coll.maps["jumps"]) == 0  # its program was not loaded
        assert coll.maps["outer_array"][3] == coll.maps["inner_b"].id


def test_partial_load_of_an_unknown_program(kernel: None) -> None:
    with pytest.raises(SpecError, match="no program named 'nope'"):
        pybpf_load.load(MAPS, programs=["nope"])


def test_given_maps_are_used_not_owned(pin_root: str) -> None:
    spec = _spec()
    template = spec.maps["array"].copy()
    template.btf, template.key_type, template.value_type = None, None, None
    with Map.create(template) as mine:
        with pybpf_load.load(
            spec, maps={"array": mine}, programs=["use_maps"], pin_root=pin_root
        ) as coll:
            assert coll.maps["array"] is mine
            coll.programs["use_maps"].test_run(bytes(64))
        assert not mine.closed
        assert int.from_bytes(mine[0], "little") == 64  # the program counted into it


# -- struct_ops ------------------------------------------------------------------------------
STRUCT_OPS = OBJ / "struct_ops.el.v3.o"


def test_struct_ops_map_and_programs(kernel: None) -> None:
    with pybpf_load.load(STRUCT_OPS) as coll:
        m = coll.maps["pybpf_cc"]
        info = m.info()
        assert info.type == MapType.STRUCT_OPS and info.btf_vmlinux_value_type_id
        value = coll.struct_ops_value("pybpf_cc")
        assert len(value) == info.value_size
        fds = {p.fileno() for p in coll.programs.values()}
        slots = {int.from_bytes(value[i : i + 8], "little") for i in range(0, len(value), 8)}
        assert fds <= slots  # every program's fd sits in its member
        assert b"pybpf_cc\0" in value  # the name member, copied
        for prog in coll.programs.values():
            assert prog.info().attach_btf_id  # loaded against tcp_congestion_ops


def test_struct_ops_registers(kernel: None) -> None:
    cc = "/proc/sys/net/ipv4/tcp_available_congestion_control"
    if not os.path.exists(cc):
        pytest.skip("no TCP congestion control sysctl here")
    with pybpf_load.load(STRUCT_OPS) as coll:
        fd = coll.maps["pybpf_cc"].fileno()
        key = ctypes.create_string_buffer(4)
        value = ctypes.create_string_buffer(coll.struct_ops_value("pybpf_cc"))
        attr = MapElemAttr(map_fd=fd, key=ctypes.addressof(key), value=ctypes.addressof(value))
        map_update_elem(attr)  # registers the congestion control (what attaching does)
        try:
            with open(cc) as f:
                assert "pybpf_cc" in f.read().split()
        finally:
            map_delete_elem(MapElemAttr(map_fd=fd, key=ctypes.addressof(key)))
        with open(cc) as f:
            assert "pybpf_cc" not in f.read().split()


def test_struct_ops_program_without_a_map(kernel: None) -> None:
    spec = load_collection_spec(STRUCT_OPS)
    del spec.maps["pybpf_cc"]
    with pytest.raises(SpecError, match="no struct_ops map uses"):
        pybpf_load.load(spec)


# -- arenas ----------------------------------------------------------------------------------
def test_arena_globals(kernel: None) -> None:
    """``__arena`` globals: copied into the arena once it is mapped (at its end where the
    kernel lets ``lddw`` reach that far, as libbpf does), references moved with them."""
    if not features.have(features.map_type(MapType.ARENA)):
        pytest.skip("this kernel has no arena maps (Linux >= 6.9)")
    data = (42).to_bytes(8, "little") + (7).to_bytes(8, "little")
    arena = MapSpec("arena", MapType.ARENA, 0, 0, 4, flags=BPF_F_MMAPABLE, data=data)
    lddw = Instruction.lddw(1, 0, src=PseudoSrc.MAP_VALUE).with_fields(ref="arena", imm_hi=8)
    cast = op("ALU64.ADDR_SPACE_CAST", 1, 1, imm=1)  # arena (1) -> kernel (0) pointer
    insns = [lddw, cast, op("LDX.MEM.DW", 0, 1, 0), op("JMP.EXIT")]
    prog = ProgramSpec("rd", ProgType.SYSCALL, insns, license="GPL", flags=BPF_F_SLEEPABLE)
    spec = CollectionSpec(maps={"arena": arena}, programs={"rd": prog})
    at = arena_data_offset(arena, lambda: features.have(FULL_RANGE_LDDW))
    assert at in (0, 4 * mmap.PAGESIZE - mmap.PAGESIZE)
    with Collection.load(spec) as coll:
        memory = coll.maps["arena"].mmap()  # type: ignore[attr-defined]
        assert bytes(memory[at : at + 16]) == data
        assert coll.programs["rd"].test_run(ctx=b"").retval == 7
