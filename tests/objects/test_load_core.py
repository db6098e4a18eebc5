"""CO-RE at load and the verifier's refusals: relocations against the running kernel's BTF
(or a BTF given instead) as libbpf applies them, poisoned relocations explained as libbpf
explains them, and every refusal naming the program and the failing source line."""

from __future__ import annotations

import contextlib
import os
import re
from collections.abc import Iterator

import pytest

import pybpf._load as pybpf_load
from pybpf import features
from pybpf.errors import NotSupportedError, VerifierError
from pybpf.objects import _load_kernel
from pybpf.objects.collection import Collection
from pybpf.spec import load_collection_spec
from tests.conftest import GOLDEN, OBJ

KERNEL = (GOLDEN / "VERSIONS.txt").read_text().split("kernel (load logs): ")[1].strip()
_PATCHED = re.compile(r"prog '(\w+)': relo #(\d+): (patched insn #\d+ .*|substituting .*)$")


def _golden_patches(name: str) -> set[tuple[str, int, str]]:
    lines = (GOLDEN / name / "core.txt").read_text().splitlines()
    found = (_PATCHED.search(line) for line in lines)
    return {(m.group(1), int(m.group(2)), m.group(3)) for m in found if m}


@pytest.mark.parametrize("name", ["core.el.v3", "bs_bootstrap.el.v3", "bs_task_iter.el.v3"])
def test_core_patches_are_libbpfs(name: str, kernel: None) -> None:
    if os.uname().release != KERNEL:
        pytest.skip(f"core.txt records kernel {KERNEL}; this is {os.uname().release}")
    with pybpf_load.load(OBJ / f"{name}.o") as coll:
        ours = {
            (r.program, r.index, m.group(3))
            for results in coll.core.values()
            for r in results
            if (m := _PATCHED.search(r.log[-1]))
        }
    assert ours == _golden_patches(name)


def test_poisoned_relocation_is_explained(kernel: None) -> None:
    with pytest.raises(VerifierError) as caught:
        pybpf_load.load(OBJ / "core_fail.el.v3.o")
    exc = caught.value
    assert "1: <invalid CO-RE relocation>" in exc.log
    reason = "failed to resolve CO-RE relocation <byte_off> [5] struct task_struct___old.state"
    assert reason in exc.log
    summary = str(exc)
    assert "program 'missing_field'" in summary and reason in summary
    assert "core_fail.bpf.c:32" in summary  # the source line of the poisoned instruction


def test_refusal_names_the_source_line(kernel: None) -> None:
    with pytest.raises(VerifierError) as caught:
        pybpf_load.load(OBJ / "isa_arena.el.v4.o")
    summary = str(caught.value)
    assert "program 'walk'" in summary
    assert "addr_space_cast insn can only be used" in summary
    assert "isa_arena.bpf.c:40: c->hits++;" in summary


@contextlib.contextmanager
def _kernel_says(**answers: bool) -> Iterator[None]:
    """Force feature answers (as a kernel without those features would give)."""
    cache = features._core._cache()
    saved = dict(cache)
    cache.update(answers)
    try:
        yield
    finally:
        cache.clear()
        cache.update(saved)


def test_refusal_without_kernel_btf_still_names_the_source_line(kernel: None) -> None:
    """No BTF in the kernel: no source in the log; the spec's line info says it instead."""
    no_btf = {features.btf_kind("int").name: False}
    with _kernel_says(**no_btf), pytest.raises(VerifierError) as caught:
        pybpf_load.load(OBJ / "isa_arena.el.v4.o")
    assert "; c->hits++" not in caught.value.log
    assert "isa_arena.bpf.c:40: c->hits++;" in str(caught.value)


def test_core_against_a_given_btf(kernel: None) -> None:
    """``btf=``: relocations against another BTF (here one without ``task_struct``: every
    relocation is poisoned, and the verifier reaches one)."""

    def patched(coll: Collection) -> list[tuple[str, int, int, bool]]:
        return [(r.program, r.index, r.new, r.poisoned) for rs in coll.core.values() for r in rs]

    with pybpf_load.load(OBJ / "core.el.v3.o") as coll:
        default = patched(coll)
    with pybpf_load.load(OBJ / "core.el.v3.o", btf="/sys/kernel/btf/vmlinux") as coll:
        assert patched(coll) == default
    with pytest.raises(VerifierError, match="failed to resolve CO-RE relocation"):
        pybpf_load.load(OBJ / "core.el.v3.o", btf=OBJ / "btf_kinds.el.v3.o")


def test_core_without_kernel_btf(fake: object, monkeypatch: pytest.MonkeyPatch) -> None:
    def absent(directory: str = "") -> object:
        raise NotSupportedError("kernel BTF", "5.5", "no /sys/kernel/btf/vmlinux")

    monkeypatch.setattr(_load_kernel, "kernel_btf", absent)
    with pytest.raises(NotSupportedError, match="kernel BTF"):
        Collection.load(load_collection_spec(OBJ / "core.el.v3.o"))
    # an object without CO-RE does not need it
    Collection.load(load_collection_spec(OBJ / "firewall.el.v3.o")).close()


def test_kernel_btf_is_read_once(kernel: None) -> None:
    first = _load_kernel.kernel_btf()
    assert _load_kernel.kernel_btf() is first
