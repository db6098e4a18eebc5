"""The system's programs, maps, links and BTF objects, by id."""

from __future__ import annotations

import pytest

from pybpf.errors import VerifierError
from pybpf.features.rawbtf import storage_btf
from pybpf.objects import (
    BTFHandle,
    Map,
    Program,
    btf_ids,
    iter_btf,
    iter_links,
    iter_maps,
    iter_programs,
    link_ids,
    map_ids,
    program_ids,
)
from pybpf.spec import MapSpec, MapType, ProgramSpec, ProgType
from tests.objects.progs import ret


def test_our_objects_appear_with_their_info(kernel: None) -> None:
    with (
        Map.create(MapSpec("intro_map", MapType.HASH, 4, 4, 4)) as m,
        Program.load(ProgramSpec("intro_prog", ProgType.XDP, ret(0))) as p,
    ):
        mid, pid = m.info().id, p.info().id
        assert mid in set(map_ids()) and pid in set(program_ids())
        maps = {i.id: i for i in iter_maps()}
        progs = {i.id: i for i in iter_programs()}
        assert maps[mid].name == "intro_map" and maps[mid].type == MapType.HASH
        assert progs[pid].name == "intro_prog" and progs[pid].type == ProgType.XDP
    assert mid not in set(map_ids())


def test_btf_objects_and_links(kernel: None) -> None:
    infos = list(iter_btf())
    assert any(i.name == "vmlinux" and i.kernel_btf for i in infos)
    assert sorted(btf_ids()) == [i.id for i in infos]
    assert [i.id for i in iter_links()] == list(link_ids())


def test_btf_handle_load_info_and_raw(kernel: None) -> None:
    raw, _, _ = storage_btf(16)
    with BTFHandle.load(raw) as btf:
        info = btf.info()
        assert not info.kernel_btf and info.size == len(raw) and btf.raw() == raw
        with BTFHandle.from_id(info.id) as again:
            assert again.info().id == info.id
    with pytest.raises(VerifierError) as refused:
        BTFHandle.load(raw[:-3] + b"\xff\xff\xff")  # a string section not ending in NUL
    assert refused.value.log
