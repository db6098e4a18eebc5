"""Global variables (tests/testdata/src/globals.bpf.c) before and after load.

Before load, a ``const volatile`` knob is set in the spec and the program sees it; after
load, ``.data``/``.bss`` variables are shared memory (what the program writes is read
without a system call, what user space writes the program sees at once) and ``.rodata``
is frozen.
"""

from __future__ import annotations

import pytest

import pybpf._load as pybpf_load
from pybpf.btf.values import type_codec
from pybpf.errors import CodecError, SpecError
from pybpf.objects.collection import Collection
from pybpf.spec import CollectionSpec, load_collection_spec
from tests.conftest import OBJ

XDP_DROP, XDP_PASS, XDP_TX = 1, 2, 3
PACKET = bytes(64)
OBJECT = OBJ / "globals.el.v3.o"


def _spec() -> CollectionSpec:
    return load_collection_spec(OBJECT)


def _set_before_load(spec: CollectionSpec, name: str, value: object) -> None:
    var = spec.variables[name]
    var.value = type_codec(var.btf, var.type).encode(value)  # type: ignore[arg-type]


def test_values_as_compiled(kernel: None) -> None:
    with pybpf_load.load(OBJECT) as coll:
        v = coll.variables
        assert v["sample_rate"].value == 100
        assert v["cfg"].value.port == 8080 and v["cfg"].value.limits == (10, 20, 30)
        assert v["tag"].value == b"v1" and v["generation"].value == 7
        assert v["counters"].value == (1, 2, 3, 4) and v["extra_flag"].value == 0xABCD
        assert v["stats"].value.packets == 0 and v["last_len"].value == 0
        assert all(var.mapped for var in v.values())  # every section here is mmapable


def test_program_writes_are_seen_without_a_syscall(kernel: None) -> None:
    with pybpf_load.load(OBJECT) as coll:
        run = coll.programs["read_globals"].test_run(PACKET)
        assert run.retval == XDP_PASS  # 64 >= cfg.limits[0], tag "v1", 64 <= cfg.port
        v = coll.variables
        assert v["stats"].value.packets == 1 and v["stats"].value.bytes == 64
        assert v["stats"].value.by_proto == (1, 0, 0, 0)  # cfg.verbose, len & 3 == 0
        assert v["last_len"].value == 64
        assert v["generation"].value == 7 + 100  # generation += sample_rate
        assert v["counters"].value == (1 + 0xABCD, 2, 3, 4)
        assert v["bss_local"].value == 1  # table[64 & 7]
        assert coll.maps[".bss"][0].stats.packets == 1  # the map agrees (typed from BTF)


def test_rodata_set_before_load(kernel: None) -> None:
    spec = _spec()
    _set_before_load(spec, "cfg", {"port": 32, "verbose": 0, "limits": (10, 20, 30)})
    _set_before_load(spec, "sample_rate", 5)
    with pybpf_load.load(spec) as coll:
        assert coll.variables["cfg"].value.port == 32
        assert coll.programs["read_globals"].test_run(PACKET).retval == XDP_DROP  # 64 > 32
        assert coll.variables["generation"].value == 7 + 5
        assert coll.variables["stats"].value.by_proto == (0, 0, 0, 0)  # verbose off
        assert coll.maps[".rodata"].info().frozen


def test_use_fast_path_knob(kernel: None) -> None:
    spec = _spec()
    _set_before_load(spec, "use_fast_path", True)
    _set_before_load(spec, "cfg", {"port": 1, "limits": (0, 0, 0)})
    with pybpf_load.load(spec) as coll:
        assert coll.programs["read_globals"].test_run(PACKET).retval == XDP_PASS


def test_data_written_after_load_is_what_the_program_sees(kernel: None) -> None:
    with pybpf_load.load(OBJECT) as coll:
        coll.variables["tag"].set("v2")
        assert coll.variables["tag"].value == b"v2"
        assert coll.programs["read_globals"].test_run(PACKET).retval == XDP_TX
        coll.variables["last_len"].value = 5
        coll.variables["generation"].set((1000).to_bytes(8, "little"))  # raw bytes too
        assert coll.variables["last_len"].get() == (5).to_bytes(4, "little")
        coll.programs["read_globals"].test_run(PACKET)
        assert coll.variables["generation"].value == 1100


def test_rodata_is_constant_after_load(kernel: None) -> None:
    with pybpf_load.load(OBJECT) as coll:
        with pytest.raises(CodecError, match="constant"):
            coll.variables["sample_rate"].set(1)
        assert coll.variables["sample_rate"].value == 100


def test_bad_values_are_codec_errors(kernel: None) -> None:
    with pybpf_load.load(OBJECT) as coll:
        with pytest.raises(CodecError):
            coll.variables["last_len"].set(1 << 40)
        with pytest.raises(CodecError):
            coll.variables["last_len"].set(b"\0" * 3)
        with pytest.raises(CodecError):
            coll.variables["tag"].set("much too long for eight bytes")


def test_variables_of_a_closed_collection_are_closed(kernel: None) -> None:
    coll = pybpf_load.load(OBJECT)
    var = coll.variables["last_len"]
    coll.close()
    with pytest.raises(Exception, match="closed"):
        var.get()


def test_wrong_size_spec_value_is_refused(kernel: None) -> None:
    spec = _spec()
    spec.variables["sample_rate"].value = b"\1"
    with pytest.raises(SpecError, match="sample_rate"):
        Collection.load(spec)


def test_globals_on_the_fake_kernel(fake: object) -> None:
    spec = _spec()
    _set_before_load(spec, "sample_rate", 9)
    with Collection.load(spec) as coll:
        var = coll.variables["sample_rate"]
        assert not var.mapped and var.value == 9  # read through the map
        coll.variables["last_len"].set(3)
        assert coll.variables["last_len"].value == 3
