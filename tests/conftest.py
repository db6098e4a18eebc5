"""Shared fixtures and markers."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

TESTS = Path(__file__).resolve().parent
TESTDATA = TESTS / "testdata"
SHARED = TESTS.parent.parent / "shared"
CONFORMANCE = SHARED / "conformance"


def tool(name: str) -> str:
    """The path of a reference tool, or skip the test saying it is absent."""
    path = shutil.which(name)
    if path is None:
        pytest.skip(f"{name} is not installed (apt-get install llvm-19 bpftool)")
    return path


def conformance_dir() -> Path:
    """../shared/conformance, or skip: the suite is read in place, never copied here."""
    if not (CONFORMANCE / "tests").is_dir():
        pytest.skip(f"bpf_conformance suite not found at {CONFORMANCE}")
    return CONFORMANCE


def is_root() -> bool:
    return os.geteuid() == 0
