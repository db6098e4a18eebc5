"""Loading a CollectionSpec: maps first, references patched, programs, contents, pins,
partial loads, and cleaning up after a failure."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator

import pytest

from pybpf.asm.instruction import Instruction
from pybpf.asm.opcodes import PseudoSrc
from pybpf.errors import VerifierError
from pybpf.objects import CodecError, Collection, SpecError
from pybpf.objects.pin import BPFFS_ROOT
from pybpf.spec import (
    CollectionSpec,
    MapSpec,
    MapType,
    PinType,
    ProgramSpec,
    ProgType,
    VariableSpec,
)
from tests.objects.progs import EXIT, count_into, map_fd, op, ret


def _reader() -> list[Instruction]:
    """Return the u32 global at offset 4 of ``.rodata``."""
    lddw = Instruction.lddw(1, 0, src=PseudoSrc.MAP_VALUE).with_fields(ref=".rodata", imm_hi=4)
    return [lddw, op("LDX.MEM.W", 0, 1, 0), EXIT]


def make_spec() -> CollectionSpec:
    inner = MapSpec("inner", MapType.ARRAY, 4, 4, 1)
    rodata = MapSpec(".rodata", MapType.ARRAY, 4, 8, 1, data=bytes(8), freeze=True)
    maps = [
        MapSpec("counts", MapType.ARRAY, 4, 8, 1),
        rodata,
        MapSpec("jmp", MapType.PROG_ARRAY, 4, 4, 2, contents=[(0, "tail")]),
        inner,
        MapSpec("outer", MapType.ARRAY_OF_MAPS, 4, 4, 2, inner_map=inner, contents=[(1, "inner")]),
        MapSpec("unused", MapType.HASH, 4, 4, 2, contents=[(1, 2)]),
    ]
    progs = [
        ProgramSpec("main", ProgType.SOCKET_FILTER, count_into("counts", 3), license="GPL"),
        ProgramSpec("tail", ProgType.SOCKET_FILTER, ret(5), license="GPL"),
        ProgramSpec("reader", ProgType.SOCKET_FILTER, _reader(), license="GPL"),
    ]
    limit = VariableSpec("limit", ".rodata", 4, 4, (42).to_bytes(4, "little"), constant=True)
    return CollectionSpec(
        maps={m.name: m for m in maps},
        programs={p.name: p for p in progs},
        variables={"limit": limit},
    )


def test_full_load(kernel: None) -> None:
    with Collection.load(make_spec()) as coll:
        assert set(coll.maps) == {"counts", ".rodata", "jmp", "inner", "outer", "unused"}
        assert set(coll.programs) == {"main", "tail", "reader"}
        main, tail = coll.programs["main"], coll.programs["tail"]
        assert main.test_run(bytes(64)).retval == 3
        assert coll.maps["counts"][0] == (1).to_bytes(8, "little")
        assert coll.maps["jmp"][0] == tail.id  # type: ignore[index]
        assert coll.maps["outer"][1] == coll.maps["inner"].info().id  # type: ignore[index]
        assert coll.maps["unused"][1] == (2).to_bytes(4, "little")  # type: ignore[index]
        assert coll.programs["reader"].test_run(bytes(64)).retval == 42
        limit = coll.variables["limit"]
        assert limit.get() == (42).to_bytes(4, "little")
        with pytest.raises(CodecError, match="is constant"):
            limit.set(7)
        assert coll.maps[".rodata"].info().frozen


def test_full_load_on_the_fake_kernel(fake: object) -> None:
    spec = make_spec()
    for name in ("jmp", "inner", "outer"):
        del spec.maps[name]
    with Collection.load(spec) as coll:
        assert set(coll.programs) == {"main", "tail", "reader"}
        assert coll.variables["limit"].get() == (42).to_bytes(4, "little")


def test_partial_load_makes_only_what_is_used(kernel: None) -> None:
    with Collection.load(make_spec(), programs=["main"]) as coll:
        assert set(coll.programs) == {"main"} and set(coll.maps) == {"counts"}
    with Collection.load(make_spec(), programs=["tail", "reader"]) as coll:
        assert set(coll.maps) == {".rodata"}


def _tail_caller() -> list[Instruction]:
    """``bpf_tail_call(ctx, &jmp, 0); return 9``."""
    return [map_fd(2, "jmp"), op("ALU64.MOV.K", 3, imm=0), op("CALL.HELPER", imm=12), *ret(9)]


def test_prog_array_is_filled_with_the_programs_loaded(kernel: None) -> None:
    spec = make_spec()
    spec.programs["caller"] = ProgramSpec("caller", ProgType.SOCKET_FILTER, _tail_caller())
    with Collection.load(spec, programs=["caller"]) as coll:
        assert set(coll.maps) == {"jmp"} and len(coll.maps["jmp"]) == 0  # "tail" not loaded
        assert coll.programs["caller"].test_run(bytes(64)).retval == 9
    with Collection.load(spec, programs=["caller", "tail"]) as coll:
        assert coll.maps["jmp"][0] == coll.programs["tail"].id  # type: ignore[index]
        assert coll.programs["caller"].test_run(bytes(64)).retval == 5  # the tail call ran


def test_autoload_false_programs_stay_out(backend: str) -> None:
    spec = make_spec()
    for name in ("jmp", "inner", "outer"):
        del spec.maps[name]
    spec.programs["reader"].autoload = False
    with Collection.load(spec) as coll:
        assert set(coll.programs) == {"main", "tail"} and ".rodata" in coll.maps


def test_unknown_names_are_spec_errors(backend: str) -> None:
    with pytest.raises(SpecError, match="no program named 'nope'"):
        Collection.load(make_spec(), programs=["nope"])
    spec = make_spec()
    spec.maps["jmp"].contents = [(0, "ghost")]
    spec.maps = {"jmp": spec.maps["jmp"]}
    spec.programs = {"tail": spec.programs["tail"]}
    if backend == "kernel":
        with pytest.raises(SpecError, match="no program named 'ghost'"):
            Collection.load(spec)


def test_failure_part_way_closes_and_unpins_everything(kernel: None) -> None:
    root = os.path.join(BPFFS_ROOT, f"pybpf_fail_{os.getpid()}")
    spec = make_spec()
    spec.maps["counts"].pinning = PinType.BY_NAME
    spec.programs["tail"].instructions = [op("ALU64.MOV.X", 0, 2), EXIT]  # r2 unread: refused
    try:
        with pytest.raises(VerifierError):
            Collection.load(spec, pin_root=root)
        assert not os.path.exists(os.path.join(root, "counts"))
    finally:
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture
def pin_root(kernel: None) -> Iterator[str]:
    root = os.path.join(BPFFS_ROOT, f"pybpf_coll_{os.getpid()}")
    yield root
    if os.path.isdir(root):
        for name in os.listdir(root):
            os.unlink(os.path.join(root, name))
        os.rmdir(root)


def test_pinned_by_name_maps_are_reused(pin_root: str) -> None:
    spec = make_spec()
    spec.maps["counts"].pinning = PinType.BY_NAME
    with Collection.load(spec, programs=["main"], pin_root=pin_root) as first:
        first.programs["main"].test_run(bytes(64))
        map_id = first.maps["counts"].info().id
    assert os.path.exists(os.path.join(pin_root, "counts"))
    with Collection.load(spec, programs=["main"], pin_root=pin_root) as second:
        assert second.maps["counts"].info().id == map_id
        second.programs["main"].test_run(bytes(64))
        assert second.maps["counts"][0] == (2).to_bytes(8, "little")
    spec.maps["counts"].value_size = 16
    with pytest.raises(SpecError, match="value_size is 8, the spec says 16"):
        Collection.load(spec, programs=["main"], pin_root=pin_root)


def test_given_maps_are_used_not_owned(kernel: None) -> None:
    from pybpf.objects import Map

    with Map.create(MapSpec("counts", MapType.ARRAY, 4, 8, 1)) as mine:
        with Collection.load(make_spec(), programs=["main"], maps={"counts": mine}) as coll:
            coll.programs["main"].test_run(bytes(64))
            assert coll.maps["counts"] is mine
        assert not mine.closed and mine[0] == (1).to_bytes(8, "little")
