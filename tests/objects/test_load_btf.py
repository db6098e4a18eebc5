"""BTF sanitised for kernels that lack newer kinds (libbpf's ``bpf_object__sanitize_btf``):
each replacement as libbpf makes it (no kernel needed), and on the kernel, with the feature
answers forced to those of an old kernel, the sanitised BTF loads and so do the programs."""

from __future__ import annotations

import contextlib
from collections import Counter
from collections.abc import Iterator

import pytest

import pybpf._load as pybpf_load
from pybpf import features
from pybpf.btf._btf import BTF
from pybpf.btf.kinds import FuncLinkage
from pybpf.btf.types import (
    Const,
    Datasec,
    DeclTag,
    Enum,
    Enum64,
    Float,
    Func,
    FuncProto,
    Int,
    Struct,
    Type,
    Typedef,
    TypeTag,
    Union,
    Var,
)
from pybpf.errors import BTFError
from pybpf.objects._sanitize import QMARK_DATASEC, missing_kinds, sanitized, sanitized_types
from pybpf.objects.btf import BTFHandle
from pybpf.spec import CollectionSpec, load_collection_spec
from tests.conftest import OBJ

ALL = ("func", "func_global", "datasec", "float", "decl_tag", "type_tag", "enum64")


def _spec(name: str = "btf_kinds.el.v3") -> CollectionSpec:
    return load_collection_spec(OBJ / f"{name}.o")


def _kinds(types: list[Type]) -> Counter[str]:
    return Counter(type(t).__name__ for t in types)


def _types(missing: tuple[str, ...], name: str = "btf_kinds.el.v3") -> tuple[BTF, list[Type]]:
    spec = _spec(name)
    assert isinstance(spec.btf, BTF)
    return spec.btf, sanitized_types(spec.btf, spec.btf_fixups, missing)


def test_nothing_missing_changes_nothing_but_the_fixups() -> None:
    spec = _spec()
    assert isinstance(spec.btf, BTF)
    types = sanitized_types(spec.btf, spec.btf_fixups, ())
    assert types == [spec.btf_fixups.get(i, t) for i, t in spec.btf.iter_types()]


def test_no_datasec() -> None:
    btf, types = _types(("datasec",))
    assert not _kinds(types)["Var"] and not _kinds(types)["Datasec"]
    for (_, old), new in zip(btf.iter_types(), types, strict=True):
        if isinstance(old, Var):  # libbpf: INT, 1 byte, 8 bits, name kept
            assert new == Int(name=old.name, size=1, nr_bits=8)
        if isinstance(old, Datasec):  # STRUCT named with '_' for '.', variables as members
            assert isinstance(new, Struct) and new.name == old.name.replace(".", "_")
            assert [m.name for m in new.members] == [btf.name_of(v.type) for v in old.vars]


def test_no_func() -> None:
    btf, types = _types(("func",))
    for (_, old), new in zip(btf.iter_types(), types, strict=True):
        if isinstance(old, FuncProto):
            assert isinstance(new, Enum) and new.size == 4
            assert [v.value for v in new.values] == [p.type for p in old.params]
        if isinstance(old, Func):
            assert new == Typedef(name=old.name, type=old.type)


def test_no_global_func() -> None:
    btf, types = _types(("func_global",), "isa_calls.el.v3")
    globals_before = [t for _, t in btf.iter_types() if isinstance(t, Func) and t.linkage == 1]
    assert globals_before
    assert not [t for t in types if isinstance(t, Func) and t.linkage == FuncLinkage.GLOBAL]


def test_no_float_decl_tag_type_tag() -> None:
    btf, types = _types(("float", "decl_tag", "type_tag"))
    for (_, old), new in zip(btf.iter_types(), types, strict=True):
        if isinstance(old, Float):
            assert new == Struct(name="", size=old.size)
        if isinstance(old, DeclTag):
            assert new == Int(name=old.name, size=1, nr_bits=8)
        if isinstance(old, TypeTag):
            assert new == Const(name="", type=old.type)


def test_no_enum64() -> None:
    btf, types = _types(("enum64",))
    placeholder = len(btf)
    assert types[-1] == Int(name="enum64_placeholder", size=1, nr_bits=8)
    for (_, old), new in zip(btf.iter_types(), types, strict=False):
        if isinstance(old, Enum64):
            assert isinstance(new, Union) and new.size == old.size
            assert {(m.type, m.bit_offset) for m in new.members} == {(placeholder, 0)}
        if isinstance(old, Enum) and old.signed:
            assert isinstance(new, Enum) and not new.signed


def test_a_question_mark_datasec() -> None:
    spec = _spec()
    assert isinstance(spec.btf, BTF)
    sec_id = next(i for i, t in spec.btf.iter_types() if isinstance(t, Datasec))
    old = spec.btf[sec_id]
    assert isinstance(old, Datasec)
    fixed = {**spec.btf_fixups, sec_id: Datasec(name="?.struct_ops", size=old.size, vars=old.vars)}
    types = sanitized_types(spec.btf, fixed, ("qmark_datasec",))
    assert types[sec_id - 1].name == "_.struct_ops"


def test_a_type_btf_cannot_hold_is_a_btf_error() -> None:
    """What the encoder cannot write (here a DATASEC size past 32 bits, as a corrupted object
    gives) comes out of a load's BTF step as a BTFError, not the encoder's ValueError."""
    spec = _spec()
    assert isinstance(spec.btf, BTF)
    sec_id = next(i for i, t in spec.btf.iter_types() if isinstance(t, Datasec))
    old = spec.btf[sec_id]
    assert isinstance(old, Datasec)
    fixed = {**spec.btf_fixups, sec_id: Datasec(name=old.name, size=1 << 40, vars=old.vars)}
    with pytest.raises(BTFError, match="cannot encode the object's BTF: type"):
        sanitized(spec.btf, fixed, ())


@contextlib.contextmanager
def _kernel_lacks(*kinds: str) -> Iterator[None]:
    """Answer the BTF kind probes as a kernel without ``kinds`` would."""
    cache = features._core._cache()
    saved = dict(cache)
    for kind in kinds:
        feature = QMARK_DATASEC if kind == "qmark_datasec" else features.btf_kind(kind)
        cache[feature.name] = False
    try:
        yield
    finally:
        cache.clear()
        cache.update(saved)


def test_missing_kinds_asks_only_what_the_blob_uses(kernel: None) -> None:
    spec = _spec("firewall.el.v3")
    assert isinstance(spec.btf, BTF)
    assert missing_kinds(spec.btf) == frozenset()
    with _kernel_lacks(*ALL):
        found = missing_kinds(spec.btf, spec.btf_fixups)
    assert "float" not in found and {"func", "datasec"} <= found


# What a kernel of each release lacks: features arrive in order, so an older kernel lacks a
# suffix of them. (A kernel without FUNC, < 5.0, cannot be imitated on a newer one: the
# ENUM libbpf makes of a FUNC_PROTO has nameless members, which kernels >= 5.0 refuse.)
LEVELS = {
    "6.6": ("qmark_datasec",),
    "5.19": ("enum64", "qmark_datasec"),
    "5.16": ("type_tag", "enum64", "qmark_datasec"),
    "5.15": ("decl_tag", "type_tag", "enum64", "qmark_datasec"),
    "5.12": ("float", "decl_tag", "type_tag", "enum64", "qmark_datasec"),
    "5.5": ("func_global", "float", "decl_tag", "type_tag", "enum64", "qmark_datasec"),
    "5.1": ("datasec", "func_global", "float", "decl_tag", "type_tag", "enum64", "qmark_datasec"),
}
OBJECTS = [
    "btf_kinds.el.v3",
    "globals.el.v3",
    "core.el.v3",
    "isa_calls.el.v3",
    "bs_bootstrap.el.v3",
]


@pytest.mark.parametrize("level", sorted(LEVELS))
def test_the_kernel_takes_the_sanitised_btf(level: str, kernel: None) -> None:
    for name in OBJECTS:
        spec = _spec(name)
        assert isinstance(spec.btf, BTF)
        BTFHandle.load(sanitized(spec.btf, spec.btf_fixups, LEVELS[level])).close()


@pytest.mark.parametrize("name", OBJECTS)
def test_objects_load_as_on_an_old_kernel(name: str, kernel: None) -> None:
    with _kernel_lacks(*LEVELS["5.1"]), pybpf_load.load(OBJ / f"{name}.o") as coll:
        prog = next(iter(coll.programs.values()))
        info = prog.info()
        assert info.nr_func_info >= 1 and info.btf_id
        btf_ids = {m.info().btf_id for m in coll.maps.values()} - {0}
        btf_ids.add(info.btf_id)
        assert len(btf_ids) == 1  # maps and programs name their types in the same BTF
        with BTFHandle.from_id(btf_ids.pop()) as handle:
            loaded = BTF(handle.raw())
    kinds = _kinds([t for _, t in loaded.iter_types()])
    for gone in ("Var", "Datasec", "Float", "DeclTag", "TypeTag", "Enum64"):
        assert not kinds[gone], gone
    assert not [t for _, t in loaded.iter_types() if isinstance(t, Func) and t.linkage == 1]


def test_without_func_there_is_no_func_info(kernel: None) -> None:
    # without FUNC, this kernel refuses the (sanitised) BTF: programs load without it
    with _kernel_lacks("func"), pybpf_load.load(OBJ / "firewall.el.v3.o") as coll:
        info = coll.programs["firewall"].info()
    assert info.nr_func_info == 0 and info.nr_line_info == 0


def test_a_kernel_without_btf(kernel: None) -> None:
    with _kernel_lacks("int"), pybpf_load.load(OBJ / "globals.el.v3.o") as coll:
        info = coll.programs["read_globals"].info()
        assert info.btf_id == 0 and info.nr_func_info == 0
        assert all(m.info().btf_id == 0 for m in coll.maps.values())
        assert coll.variables["sample_rate"].value == 100  # typed all the same
