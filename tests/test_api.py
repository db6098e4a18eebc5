"""The public API is pinned: every public module's ``__all__`` is listed in tests/api.txt.

A change to the public surface must change that file too (run with PYBPF_UPDATE_API=1 to
rewrite it, then review the diff). Private modules (a leading underscore) are not pinned.
"""

from __future__ import annotations

import importlib
import os
import pkgutil
from pathlib import Path

import pybpf

API_FILE = Path(__file__).with_name("api.txt")


def _public_modules() -> list[str]:
    names = ["pybpf"]
    for info in pkgutil.walk_packages(pybpf.__path__, "pybpf."):
        parts = info.name.split(".")
        if any(p.startswith("_") for p in parts[1:]) or parts[1] in ("cli",):
            continue
        if parts[1] == "vm" and parts[-1] == "jit":
            continue  # imports llvmlite; pinned through pybpf.vm
        names.append(info.name)
    return sorted(names)


def _surface() -> str:
    lines = []
    for name in _public_modules():
        module = importlib.import_module(name)
        exported = getattr(module, "__all__", None)
        if exported is None:
            lines.append(f"{name}: <no __all__>")
            continue
        lines.append(f"{name}: {', '.join(sorted(exported))}")
    return "\n".join(lines) + "\n"


def test_every_public_module_declares_all() -> None:
    missing = [ln for ln in _surface().splitlines() if ln.endswith("<no __all__>")]
    assert not missing, "public modules without __all__:\n" + "\n".join(missing)


def test_all_names_exist() -> None:
    for name in _public_modules():
        module = importlib.import_module(name)
        for attr in getattr(module, "__all__", ()):
            assert hasattr(module, attr), f"{name}.__all__ lists {attr!r}, which is not defined"


def test_public_api_is_pinned() -> None:
    current = _surface()
    if os.environ.get("PYBPF_UPDATE_API"):
        API_FILE.write_text(current)
    assert API_FILE.read_text() == current, (
        "the public API changed; if on purpose, rerun with PYBPF_UPDATE_API=1 and commit "
        "tests/api.txt"
    )
