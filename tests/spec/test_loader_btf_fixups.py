"""``CollectionSpec.btf_fixups``: what libbpf changes in an object's BTF before the kernel
sees it. Checked three ways: against the spec itself (DATASEC sizes and offsets are the
sections' and the variables'), against libbpf (its BTF after ``bpf_object__open``, read
through ctypes), and against the kernel (root: BPF_BTF_LOAD refuses the BTF as clang wrote
it and takes it fixed up).
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

import pytest

from pybpf.btf._btf import BTF
from pybpf.btf.kinds import FuncLinkage, VarLinkage
from pybpf.btf.types import Datasec, Func, Var
from pybpf.errors import BPFError
from pybpf.spec import CollectionSpec
from pybpf.spec.loader import load_collection_spec
from pybpf.spec.specs import ExternKind
from tests.conftest import TESTDATA, is_root
from tests.spec import libbpf_ctypes
from tests.spec.objbuilder import kfunc_object

OBJ = TESTDATA / "obj"
OBJECTS = sorted(p for p in OBJ.glob("*.o") if not p.name.startswith("link_"))


@cache
def load(path: Path) -> CollectionSpec:
    return load_collection_spec(path)


def fixed(spec: CollectionSpec) -> BTF:
    assert isinstance(spec.btf, BTF)
    return spec.btf.replaced(spec.btf_fixups)


@pytest.mark.parametrize("variant", ["el.v3", "eb.v3"])
def test_datasecs_of_globals(variant: str) -> None:
    spec = load(OBJ / f"globals.{variant}.o")
    btf = fixed(spec)
    for name, m in spec.maps.items():
        if m.value_type is None:
            continue
        sec = btf[m.value_type]
        assert isinstance(sec, Datasec) and sec.size == m.value_size
        offsets = {btf.name_of(v.type): v.offset for v in sec.vars}
        expected = {v.name: v.offset for v in spec.variables.values() if v.map_name == name}
        assert offsets == expected
        assert [v.offset for v in sec.vars] == sorted(v.offset for v in sec.vars)


def test_externs_become_allocated_variables() -> None:
    spec = load(OBJ / "externs.el.v3.o")
    btf = fixed(spec)
    kconfig = btf[btf.find(".kconfig")[0]]
    assert isinstance(kconfig, Datasec) and kconfig.size == spec.maps[".kconfig"].value_size
    for info in kconfig.vars:
        var = btf[info.type]
        assert isinstance(var, Var) and var.linkage == VarLinkage.GLOBAL_ALLOCATED
        assert info.offset == spec.externs[var.name].offset
    ksyms = btf[btf.find(".ksyms")[0]]
    assert isinstance(ksyms, Datasec)
    assert [(v.offset, v.size) for v in ksyms.vars] == [(4 * i, 4) for i in range(6)]
    assert ksyms.size == 24
    for info in ksyms.vars:
        var = btf[info.type]
        assert isinstance(var, Var) and var.linkage == VarLinkage.GLOBAL_ALLOCATED
        assert btf.name_of(var.type) == "int"
    kfuncs = [e for e in spec.externs.values() if e.kind is ExternKind.KFUNC]
    assert kfuncs  # their FUNCs stand for the dummy_ksym variable libbpf adds


def test_hidden_subprogram_becomes_static() -> None:
    spec = load_collection_spec(kfunc_object())
    assert spec.hidden_functions == {"helper"}
    btf = fixed(spec)
    helper = btf[5]
    assert isinstance(helper, Func) and helper.name == "helper"
    assert helper.linkage == FuncLinkage.STATIC
    stand_in = btf[3]  # the kfunc's FUNC, turned into the DATASEC's variable
    assert isinstance(stand_in, Var) and stand_in.name == "my_kfunc"


def _same_datasecs(ours: BTF, theirs: BTF) -> None:
    extra = len(theirs) - len(ours)
    assert extra in (0, 1)  # libbpf's dummy_ksym, when .ksyms lists functions
    for type_id in range(1, len(ours)):
        t = theirs[type_id]
        if isinstance(t, Datasec) and t.name != ".ksyms":
            assert ours[type_id] == t, t.name
        elif isinstance(t, Var):
            mine = ours[type_id]
            assert isinstance(mine, Var) and mine.linkage == t.linkage, t.name


@pytest.mark.skipif(not libbpf_ctypes.available(), reason="libbpf.so.1 is not installed")
@pytest.mark.parametrize("path", [p for p in OBJECTS if ".el." in p.name], ids=lambda p: p.name)
def test_as_libbpf_fixes_them(path: Path) -> None:
    theirs = libbpf_ctypes.run("btf", path)
    if theirs is None or theirs["btf"] is None:
        pytest.skip(f"libbpf refuses {path.name}")
    spec = load(path)
    # libbpf appends a dummy_ksym VAR when .ksyms has functions; the types before it match
    _same_datasecs(fixed(spec), BTF(bytes.fromhex(theirs["btf"])))


@pytest.mark.root
@pytest.mark.parametrize("path", [p for p in OBJECTS if ".el." in p.name], ids=lambda p: p.name)
def test_the_kernel_takes_them(path: Path) -> None:
    if not is_root():
        pytest.skip("BPF_BTF_LOAD needs root")
    from pybpf.objects.btf import BTFHandle

    spec = load(path)
    btf = spec.btf
    assert isinstance(btf, BTF)
    unfinished = any(
        (isinstance(t, Datasec) and t.size == 0)
        or (isinstance(t, Var) and t.linkage == VarLinkage.GLOBAL_EXTERN)
        or (isinstance(t, Func) and t.linkage == FuncLinkage.EXTERN)
        for _, t in btf.iter_types()
    )
    if unfinished:  # as clang wrote it (a linked object's is finished), the kernel refuses it
        with pytest.raises(BPFError):
            BTFHandle.load(bytes(btf.data)).close()
    BTFHandle.load(fixed(spec).encode()).close()
