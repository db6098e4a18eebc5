"""``pybpf.load``'s surface: what it takes (a path, bytes, a spec), what it gives back, and
the errors of its own before the kernel is asked anything."""

from __future__ import annotations

import pytest

import pybpf._load as pybpf_load
from pybpf.errors import ELFError, SpecError
from pybpf.objects import Collection, HashMap, Program
from pybpf.spec import ProgramSpec, ProgType, load_collection_spec
from tests.conftest import OBJ
from tests.objects.progs import ret

FIREWALL = OBJ / "firewall.el.v3.o"


def test_path_bytes_or_spec(kernel: None) -> None:
    for source in (FIREWALL, str(FIREWALL), FIREWALL.read_bytes(), load_collection_spec(FIREWALL)):
        with pybpf_load.load(source) as coll:
            assert isinstance(coll, Collection)
            assert isinstance(coll.programs["firewall"], Program)
            assert isinstance(coll.maps["COUNTERS"], HashMap)
            assert repr(coll) == "Collection(maps=['BLOCKLIST', 'COUNTERS'], programs=['firewall'])"


def test_close_is_final_and_idempotent(kernel: None) -> None:
    coll = pybpf_load.load(FIREWALL)
    prog, m = coll.programs["firewall"], coll.maps["COUNTERS"]
    coll.close()
    coll.close()
    assert prog.closed and m.closed


def test_log_level_keeps_the_verifier_log(kernel: None) -> None:
    with pybpf_load.load(FIREWALL, log_level=1) as coll:
        assert "processed" in coll.programs["firewall"].verifier_log
    with pybpf_load.load(FIREWALL) as coll:
        assert coll.programs["firewall"].verifier_log == ""


def test_loaded_program_spec_is_the_one_loaded(kernel: None) -> None:
    with pybpf_load.load(OBJ / "core.el.v3.o") as coll:
        spec = coll.programs["core_probed"].spec
        assert spec is not None and not spec.core_relos  # applied
        assert all(i.ref is None or i.src in (1, 2) for i in spec.instructions)


def test_a_foreign_byte_order_is_refused_before_anything(fake: object) -> None:
    with pytest.raises(SpecError, match="big-endian"):
        pybpf_load.load(OBJ / "firewall.eb.v3.o")


def test_not_an_object() -> None:
    with pytest.raises(ELFError):
        pybpf_load.load(b"not an ELF file")


def test_a_whole_object_on_the_fake_kernel(fake: object) -> None:
    with pybpf_load.load(OBJ / "bs_minimal.el.v3.o") as coll:
        assert set(coll.programs) == {"handle_tp"}
        assert not coll.variables["my_pid"].mapped  # the fake kernel maps nothing
        coll.variables["my_pid"].set(42)
        assert coll.variables["my_pid"].value == 42


def test_tracing_program_needs_a_target(fake: object) -> None:
    spec = load_collection_spec(FIREWALL)
    spec.programs["t"] = ProgramSpec("t", ProgType.TRACING, ret(0), license="GPL")
    with pytest.raises(SpecError, match="no BTF-based attach target"):
        Collection.load(spec, programs=["t"])
