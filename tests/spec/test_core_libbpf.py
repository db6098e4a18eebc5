"""CO-RE results equal live libbpf's, fixture by fixture, against several target BTFs.

The golden test (test_core_golden.py) compares with libbpf's log recorded against the
kernel's BTF. This one runs libbpf now (``libbpf.so.1``, through ctypes, in a child process)
with ``btf_custom_path`` set to a chosen target -- the running kernel's BTF, and the BTF of
other fixture objects, whose own ``task_struct`` & co. declare other members at other
offsets -- so flavors, missing members, poisoning and resizing are exercised on real clang
output against targets that differ from the kernel. Relocating inside
``bpf_object__load`` needs root and BPF; the tests skip without them.
"""

from __future__ import annotations

import ctypes.util
import os
from pathlib import Path

import pytest

from pybpf.btf._btf import BTF
from pybpf.spec.core import CoreError, CoreResult, relocate
from pybpf.spec.specs import CollectionSpec
from tests.conftest import TESTDATA, is_root
from tests.spec import _core_libbpf
from tests.spec._core_btf import BTFBuilder
from tests.spec._core_libbpf import Record, our_record, parse_log

OBJ = TESTDATA / "obj"
VMLINUX = Path("/sys/kernel/btf/vmlinux")
OBJECTS = sorted(
    p.parent.name
    for p in (TESTDATA / "golden").glob("*/core.txt")
    if (OBJ / f"{p.parent.name}.o").exists()
)
TARGETS = ["vmlinux", "core.el.v3", "core_fail.el.v3", "large.el.v4", "btf_kinds.el.v3"]


def target_path(name: str) -> Path:
    return VMLINUX if name == "vmlinux" else OBJ / f"{name}.o"


@pytest.fixture(scope="module")
def libbpf_ok() -> None:
    if not is_root():
        pytest.skip("libbpf relocates inside bpf_object__load, which needs root")
    if ctypes.util.find_library("bpf") is None:
        pytest.skip("libbpf.so.1 is not installed (apt-get install libbpf1)")
    if not VMLINUX.exists():
        pytest.skip(f"{VMLINUX} is absent: libbpf cannot load programs here")


def ours(spec: CollectionSpec, results: list[CoreResult]) -> list[Record]:
    progs = {p.name: p for p in spec.programs.values()}
    return [our_record(r.program, progs[r.program].subprograms, r.insn, r.log) for r in results]


@pytest.mark.tool
@pytest.mark.parametrize("target", TARGETS)
@pytest.mark.parametrize("obj", OBJECTS)
def test_core_matches_live_libbpf(obj: str, target: str, libbpf_ok: None) -> None:
    path = target_path(target)
    if not path.exists():
        pytest.skip(f"{path} is absent")
    compare(obj, path)


def compare(obj: str, path: Path) -> list[CoreResult] | CoreError:
    """Relocate fixture ``obj`` against the BTF at ``path`` with libbpf and with pybpf; check
    both did the same. Returns our results, or the error both refused the object with."""
    doc = _core_libbpf.run(OBJ / f"{obj}.o", path)
    if doc is None:
        pytest.skip("libbpf could not be run (missing, or it crashed)")
    if not doc["lines"]:
        pytest.skip(f"libbpf stopped before CO-RE relocation (bpf_object__load: {doc['err']})")
    theirs, searches = parse_log(doc["lines"])
    spec = CollectionSpec.from_file(OBJ / f"{obj}.o")
    try:
        _, results = relocate(spec, BTF.from_path(str(path)))
    except CoreError as exc:  # libbpf must have refused the same relocation
        assert doc["err"] != 0
        assert any(line.endswith(exc.reason) for line in doc["lines"]), (exc, doc["lines"][-3:])
        return exc
    got = ours(spec, results)
    assert set(got) <= set(theirs), sorted(set(got) - set(theirs))[:3]
    linked = {p.name for p in spec.programs.values()}
    linked |= {sub for p in spec.programs.values() for sub in p.subprograms}
    assert {t for t in theirs if t[0] in linked} == set(got)
    assert {line for r in results for line in r.log if line.startswith("CO-RE")} <= searches
    return results


def test_objects_and_targets() -> None:
    assert len(OBJECTS) >= 15 and os.path.basename(str(target_path("core.el.v3"))) == "core.el.v3.o"


# Synthetic targets for bs_task_iter (which reads bpf_iter__task.meta/.task, bpf_iter_meta.seq
# and task_struct members with direct loads) and core (core_direct loads prev->pid):
#   ilp32    a 32-bit kernel: pointers of 4 bytes (long is 4), __state an unsigned short,
#            so loads of pointers and of the unsigned __state are narrowed (mem_sz)
#   long_pid pid and tgid as long: a signed field that changed size, the load is poisoned
#   twins    task_struct and task_struct___2 disagreeing on where tgid is: ambiguity


def synthetic(kind: str) -> bytes:
    b = BTFBuilder()
    long = b.int("long int", 4 if kind == "ilp32" else 8, signed=True)
    i32 = b.int("int", 4, signed=True)
    u16 = b.int("short unsigned int", 2)
    u32 = b.int("unsigned int", 4)
    char = b.int("char", 1, signed=True)
    ptr = 32 if kind == "ilp32" else 64
    seq = b.ptr(b.struct("seq_file", 8))
    meta = b.struct("bpf_iter_meta", 24, [("seq", seq, 0)])
    task = b.struct("task_struct", 64)
    b.struct("bpf_iter__task", 16, [("meta", b.ptr(meta), 0), ("task", b.ptr(task), ptr)])
    pid = long if kind == "long_pid" else i32
    members = [
        ("__state", u16 if kind == "ilp32" else u32, 0),
        ("pid", pid, 64),
        ("tgid", pid, 128),
        ("comm", b.array(char, 16), 256),
    ]
    b.set_members(task, members)
    if kind == "twins":
        b.struct("task_struct___2", 64, [*members[:2], ("tgid", pid, 192), members[3]])
    return b.encode()


@pytest.mark.tool
@pytest.mark.parametrize("kind", ["ilp32", "long_pid", "twins"])
@pytest.mark.parametrize("obj", ["bs_task_iter.el.v3", "core.el.v3"])
def test_synthetic_targets_match_live_libbpf(
    obj: str, kind: str, tmp_path: Path, libbpf_ok: None
) -> None:
    target = tmp_path / f"{kind}.btf"
    target.write_bytes(synthetic(kind))
    outcome = compare(obj, target)
    if obj != "bs_task_iter.el.v3":
        return
    lines = [] if isinstance(outcome, CoreError) else [ln for r in outcome for ln in r.log]
    if kind == "ilp32":  # the cases this target is for did happen
        assert any("mem_sz 8 -> 4" in line for line in lines)
        assert any("mem_sz 4 -> 2" in line for line in lines)
    elif kind == "long_pid":
        assert any("accesses field incorrectly" in line for line in lines)
    else:
        assert isinstance(outcome, CoreError) and "ambiguity" in outcome.reason
