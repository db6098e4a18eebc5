"""Property: every tier gives the interpreter's answer on generated valid programs."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pybpf.asm.instruction import Instruction
from pybpf.vm import VM
from tests.vm.conftest import HAS_LLVMLITE
from tests.vm.gen import program as _program


def _run(insns: list[Instruction], tier: str, budget: int = 10**7) -> tuple[str, int]:
    try:
        return "ok", VM(tier=tier, budget=budget).load(insns).run(b"")  # type: ignore[arg-type]
    except Exception as exc:
        return type(exc).__name__, getattr(exc, "pc", None) or 0


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_program())
def test_tiers_agree(insns: list[Instruction]) -> None:
    want = _run(insns, "interp")
    assert _run(insns, "fast") == want
    if HAS_LLVMLITE:
        assert _run(insns, "jit") == want


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_program(), st.integers(1, 80))
def test_tiers_agree_on_a_small_budget(insns: list[Instruction], budget: int) -> None:
    """Where the budget runs out (and whether it does) is the same everywhere."""
    want = _run(insns, "interp", budget)
    assert _run(insns, "fast", budget) == want
    if HAS_LLVMLITE:
        assert _run(insns, "jit", budget) == want
