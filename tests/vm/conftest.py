"""Fixtures of the VM tests: every test that takes ``tier`` runs on each tier."""

from __future__ import annotations

import importlib.util

import pytest

from pybpf.asm.assembler import assemble
from pybpf.asm.instruction import Instruction
from pybpf.vm import TIERS, VM, VMProgram

HAS_LLVMLITE = importlib.util.find_spec("llvmlite") is not None
JIT_SKIP = pytest.mark.skipif(not HAS_LLVMLITE, reason="llvmlite is not installed (pybpf[jit])")
TIER_PARAMS = [pytest.param(t, marks=JIT_SKIP) if t == "jit" else t for t in TIERS]


@pytest.fixture(params=TIER_PARAMS)
def tier(request: pytest.FixtureRequest) -> str:
    """Each execution tier in turn (the JIT skipped without llvmlite)."""
    return str(request.param)


def asm(text: str) -> list[Instruction]:
    """Instructions from uBPF-syntax assembly."""
    return assemble(text, "ubpf")


def load(text: str, tier: str, vm: VM | None = None, **kwargs: object) -> VMProgram:
    """``text`` assembled and loaded for ``tier`` in ``vm`` (a new VM by default)."""
    vm = vm or VM()
    return vm.load(asm(text), tier=tier, **kwargs)  # type: ignore[arg-type]
