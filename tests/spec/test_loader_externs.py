"""Externs: ``.kconfig`` options (laid out in the ``.kconfig`` map as libbpf lays them out),
``.ksyms`` kernel symbols (typed and untyped, weak) and kfuncs, and the instructions that use
them. Expected values from tests/testdata/src/externs.bpf.c, ksyms_data.bpf.c and
isa_calls.bpf.c, and from libbpf's log when bpftool loaded them (golden load.log).
"""

from __future__ import annotations

import re
from functools import cache

import pytest

from pybpf.asm.opcodes import CallKind, PseudoSrc
from pybpf.btf._btf import BTF
from pybpf.spec import CollectionSpec, MapType
from pybpf.spec.loader import load_collection_spec
from pybpf.spec.specs import BPF_F_MMAPABLE, BPF_F_RDONLY_PROG, ExternKind, KconfigType
from tests.conftest import TESTDATA, read_golden

OBJ = TESTDATA / "obj"
GOLDEN = TESTDATA / "golden"
K = KconfigType


@cache
def load(stem: str) -> CollectionSpec:
    return load_collection_spec(OBJ / f"{stem}.o")


# name: kind, weak, typed, kconfig type, size
EXTERNS = {
    "LINUX_KERNEL_VERSION": (ExternKind.KCONFIG, False, True, K.INT, 4),
    "LINUX_HAS_SYSCALL_WRAPPER": (ExternKind.KCONFIG, False, True, K.BOOL, 1),
    "CONFIG_HZ": (ExternKind.KCONFIG, False, True, K.INT, 4),
    "CONFIG_BPF_SYSCALL": (ExternKind.KCONFIG, False, True, K.BOOL, 1),
    "CONFIG_BPF_LSM": (ExternKind.KCONFIG, False, True, K.TRISTATE, 4),
    "CONFIG_DEFAULT_HOSTNAME": (ExternKind.KCONFIG, True, True, K.CHAR_ARRAY, 16),
    "CONFIG_PYBPF_NOT_AN_OPTION": (ExternKind.KCONFIG, True, True, K.INT, 4),
    "CONFIG_PYBPF_NOT_A_BOOL": (ExternKind.KCONFIG, True, True, K.BOOL, 1),
    "vfs_read": (ExternKind.KSYM, False, False, None, 0),
    "pybpf_no_such_var": (ExternKind.KSYM, True, True, None, 0),
    "pybpf_no_such_symbol": (ExternKind.KSYM, True, False, None, 0),
    "bpf_rcu_read_lock": (ExternKind.KFUNC, False, True, None, 0),
    "bpf_rcu_read_unlock": (ExternKind.KFUNC, False, True, None, 0),
    "pybpf_no_such_kfunc": (ExternKind.KFUNC, True, True, None, 0),
}


@pytest.mark.parametrize("variant", ["el.v3", "eb.v3"])
def test_externs(variant: str) -> None:
    spec = load(f"externs.{variant}")
    got = {e.name: (e.kind, e.weak, e.typed, e.kconfig_type, e.size) for e in spec.externs.values()}
    assert got == EXTERNS
    for e in spec.externs.values():
        assert isinstance(e.btf, BTF)
        assert e.btf.name_of(e.btf_id) == e.name
        assert e.essential_name == e.name
    assert spec.externs["CONFIG_HZ"].signed and not spec.externs["LINUX_KERNEL_VERSION"].signed


_KCFG = re.compile(r"extern \(kcfg\) #(\d+): symbol \d+, off (\d+), name (\w+)")
_KSYM = re.compile(r"extern \(ksym\) #(\d+): symbol \d+, name (\w+)")


def test_kconfig_layout_and_order_as_libbpf() -> None:
    log = read_golden(GOLDEN / "externs.el.v3" / "load.log")
    logged = [(name, int(off)) for _, off, name in _KCFG.findall(log)]
    for variant in ("el.v3", "eb.v3"):
        spec = load(f"externs.{variant}")
        kconfig = [
            (e.name, e.offset) for e in spec.externs.values() if e.kind is ExternKind.KCONFIG
        ]
        assert kconfig == logged
        ksyms = [e.name for e in spec.externs.values() if e.kind is not ExternKind.KCONFIG]
        assert ksyms == [name for _, name in _KSYM.findall(log)]


@pytest.mark.parametrize("variant", ["el.v3", "eb.v3"])
def test_kconfig_map(variant: str) -> None:
    m = load(f"externs.{variant}").maps[".kconfig"]
    assert (m.type, m.key_size, m.value_size, m.max_entries) == (MapType.ARRAY, 4, 35, 1)
    assert (m.flags, m.freeze, m.kernel_name) == (
        BPF_F_RDONLY_PROG | BPF_F_MMAPABLE, True, "externs.kconfig",
    )  # fmt: skip
    assert m.data == bytes(35)
    assert isinstance(m.btf, BTF) and m.value_type is not None
    assert m.btf.name_of(m.value_type) == ".kconfig"


@pytest.mark.parametrize("variant", ["el.v3", "eb.v3"])
def test_kconfig_reads(variant: str) -> None:
    spec = load(f"externs.{variant}")
    offsets = {e.offset for e in spec.externs.values() if e.kind is ExternKind.KCONFIG}
    reads = [i for i in spec.programs["read_kconfig"].instructions if i.ref == ".kconfig"]
    assert reads and all(i.src == PseudoSrc.MAP_VALUE and i.imm == 0 for i in reads)
    assert {i.imm_hi for i in reads} <= offsets


@pytest.mark.parametrize("variant", ["el.v3", "eb.v3"])
def test_ksym_and_kfunc_instructions(variant: str) -> None:
    insns = load(f"externs.{variant}").programs["read_ksyms"].instructions
    by_ref: dict[str, set[tuple[int, int]]] = {}
    for i in insns:
        if i.ref is not None and i.ref != ".bss":
            by_ref.setdefault(i.ref, set()).add((i.opcode, i.src))
    assert by_ref == {
        "vfs_read": {(0x18, PseudoSrc.IMM64)},
        "pybpf_no_such_symbol": {(0x18, PseudoSrc.IMM64)},
        "pybpf_no_such_var": {(0x18, PseudoSrc.BTF_ID)},
        # bpf_ksym_exists(kfunc) loads the function's address: a typed ksym, then a call
        "pybpf_no_such_kfunc": {(0x18, PseudoSrc.BTF_ID), (0x85, CallKind.KFUNC)},
        "bpf_rcu_read_lock": {(0x85, CallKind.KFUNC)},
        "bpf_rcu_read_unlock": {(0x85, CallKind.KFUNC)},
    }
    for i in insns:
        if i.ref is not None and i.opcode == 0x85:
            assert (i.imm, i.off) == (0, 0)


@pytest.mark.parametrize("variant", ["el.v3", "eb.v3"])
def test_typed_ksyms(variant: str) -> None:
    spec = load(f"ksyms_data.{variant}")
    ext = spec.externs
    assert {n: (e.kind, e.typed, e.weak) for n, e in ext.items()} == {
        "bpf_prog_active": (ExternKind.KSYM, True, False),
        "init_task": (ExternKind.KSYM, False, False),
        "runqueues": (ExternKind.KSYM, True, False),
    }
    btf = spec.btf
    assert isinstance(btf, BTF)
    assert btf.name_of(ext["runqueues"].type) == "rq"
    assert btf.name_of(ext["bpf_prog_active"].type) == "int"
    srcs = {i.ref: i.src for i in spec.programs["read_percpu"].instructions if i.ref}
    assert srcs["runqueues"] == srcs["bpf_prog_active"] == PseudoSrc.BTF_ID


def test_kfuncs_of_isa_calls() -> None:
    spec = load("isa_calls.el.v3")
    kfuncs = {n: e.weak for n, e in spec.externs.items() if e.kind is ExternKind.KFUNC}
    assert kfuncs == {
        "bpf_task_from_pid": False,
        "bpf_task_acquire": False,
        "bpf_task_release": False,
        "pybpf_no_such_kfunc": True,
    }
    calls = [i.ref for i in spec.programs["kfuncs"].instructions if i.src == CallKind.KFUNC]
    assert calls == [
        "pybpf_no_such_kfunc",
        "bpf_task_from_pid",
        "bpf_task_acquire",
        "bpf_task_release",
        "bpf_task_release",
    ]


def test_objects_without_externs() -> None:
    assert load("maps.el.v3").externs == {}
    assert ".kconfig" not in load("maps.el.v3").maps
