"""Everything closes: on close(), on ``with`` exit, on garbage collection; a collection
closes what it made; closed objects raise ClosedError. (The fd-leak check around every test
of this directory backs each of these up.)"""

from __future__ import annotations

import gc

import pytest

from pybpf.errors import ClosedError
from pybpf.features.rawbtf import storage_btf
from pybpf.objects import BTFHandle, Collection, Map, Program
from pybpf.spec import CollectionSpec, MapSpec, MapType, ProgramSpec, ProgType
from pybpf.sys import current
from tests.objects.progs import count_into, ret


def _spec() -> CollectionSpec:
    m = MapSpec("counts", MapType.ARRAY, 4, 8, 1)
    p = ProgramSpec("main", ProgType.SOCKET_FILTER, count_into("counts"), license="GPL")
    return CollectionSpec(maps={"counts": m}, programs={"main": p})


def test_with_closes_programs_and_collections(backend: str) -> None:
    with Program.load(ProgramSpec("p", ProgType.SOCKET_FILTER, ret(0))) as prog:
        fd = prog.fileno()
    assert prog.closed and current().object_kind(fd) is None
    with Collection.load(_spec()) as coll:
        made = [coll.maps["counts"], coll.programs["main"]]
    assert all(obj.closed for obj in made)
    for obj in made:
        with pytest.raises(ClosedError):
            obj.info()


def test_garbage_collection_closes_everything(backend: str) -> None:
    coll = Collection.load(_spec())
    fds = [coll.maps["counts"].fileno(), coll.programs["main"].fileno()]
    prog = Program.load(ProgramSpec("p", ProgType.SOCKET_FILTER, ret(0)))
    fds.append(prog.fileno())
    del coll, prog
    gc.collect()
    assert all(current().object_kind(fd) is None for fd in fds)


def test_closing_twice_is_harmless(backend: str) -> None:
    m = Map.create(MapSpec("m", MapType.HASH, 4, 4, 1))
    coll = Collection.load(_spec())
    for obj in (m, coll, m, coll):
        obj.close()


def test_btf_handle_closes(kernel: None) -> None:
    raw, _, _ = storage_btf(4)
    btf = BTFHandle.load(raw)
    btf.close()
    assert btf.closed
    with pytest.raises(ClosedError):
        btf.info()
