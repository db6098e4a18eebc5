"""The bpf_conformance suite, in process, on every tier (../shared/conformance)."""

from __future__ import annotations

from pathlib import Path

import pytest

from pybpf.asm.conformance import parse_test
from pybpf.errors import BPFError
from pybpf.vm import VM
from tests.conftest import CONFORMANCE, conformance_dir
from tests.vm.conftest import TIER_PARAMS


def _files(sub: str) -> list[Path]:
    return sorted((CONFORMANCE / sub).glob("*.data")) if (CONFORMANCE / sub).is_dir() else []


def _identity(env: object, r1: int, *_: int) -> int:
    return r1


def _vm(tier: str) -> VM:
    vm = VM(tier=tier)  # type: ignore[arg-type]
    vm.helpers.register(5, _identity)  # the suite's helper 5 returns its argument
    return vm


@pytest.mark.parametrize("tier", TIER_PARAMS)
@pytest.mark.parametrize("path", _files("tests"), ids=lambda p: p.stem)
def test_conformance(path: Path, tier: str) -> None:
    conformance_dir()
    test = parse_test(path.read_text(), source=path.name)
    assert test.result is not None
    assert _vm(tier).load(test.instructions()).run(test.mem) == test.result


@pytest.mark.parametrize("tier", TIER_PARAMS)
@pytest.mark.parametrize("path", _files("negative"), ids=lambda p: p.stem)
def test_negative_refused(path: Path, tier: str) -> None:
    """Each negative test fails: its program does not assemble, load or run, or gives
    another answer than the (wrong) one it expects."""
    conformance_dir()
    try:
        test = parse_test(path.read_text(), source=path.name)
        r0 = _vm(tier).load(test.instructions()).run(test.mem)
    except BPFError:
        return
    assert test.error is not None or r0 != test.result


def test_suite_is_complete() -> None:
    conformance_dir()
    assert len(_files("tests")) == 313
    assert len(_files("negative")) == 60
