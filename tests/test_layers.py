"""The layer rules of docs/architecture.md, checked by scanning every module's imports."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parent.parent / "src" / "pybpf"

# Layer of each top-level part of the package (module or subpackage name).
LAYERS = {
    "errors": -1,
    "_util": -1,
    "_uapi": -1,
    "_records": -1,
    "asm": 0,
    "elf": 0,
    "btf": 0,
    "spec": 1,
    "vm": 2,
    "compiler": 2,
    "sys": 3,
    "objects": 4,
    "features": 4,
    "link": 5,
    "events": 5,
    "testing": 5,
    "cli": 6,
    "__init__": 6,
    "_load": 6,
    "__main__": 6,
}

# Within a layer, which parts may use which (anything not listed may not).
SAME_LAYER = {
    "btf": {"elf", "asm"},
    "objects": {"features"},
    "__main__": {"cli"},
    "__init__": {"cli", "_load"},
}

PURE_FORBIDDEN = {"ctypes", "mmap", "fcntl", "select", "socket"}
# Named exceptions: modules that need native memory, each isolated and imported lazily.
NATIVE_ALLOWED = {"vm/_jit.py", "vm/_jit_runtime.py", "compiler/_llvm.py"}


def _modules() -> list[Path]:
    return sorted(p for p in SRC.rglob("*.py"))


def _part(path: Path) -> str:
    rel = path.relative_to(SRC)
    return rel.parts[0].removesuffix(".py")


def _imports(path: Path) -> list[tuple[int, str]]:
    tree = ast.parse(path.read_text(), str(path))
    found: list[tuple[int, str]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.append((node.lineno, node.module))
        elif isinstance(node, ast.ImportFrom) and node.level:
            pytest.fail(f"{path}: relative import at line {node.lineno}; use absolute imports")
    return found


def _violations(path: Path) -> list[str]:
    part = _part(path)
    layer = LAYERS.get(part)
    rel = path.relative_to(SRC).as_posix()
    if layer is None:
        return [f"{rel}: part {part!r} has no layer; add it to LAYERS and docs/architecture.md"]
    bad = []
    for line, name in _imports(path):
        top = name.split(".")[0]
        if top in PURE_FORBIDDEN and layer <= 2 and rel not in NATIVE_ALLOWED:
            bad.append(f"{rel}:{line}: pure layer imports {name}")
        if top != "pybpf" or name == "pybpf":
            continue
        other = name.split(".")[1]
        olayer = LAYERS.get(other)
        if other == part or olayer is None:
            continue
        if part == "sys" and other not in ("errors", "_util", "_uapi", "_records"):
            bad.append(f"{rel}:{line}: sys imports {name}; it may use only layer -1")
        elif olayer > layer or (olayer == layer and other not in SAME_LAYER.get(part, set())):
            bad.append(f"{rel}:{line}: {part} (L{layer}) imports {name} (L{olayer})")
    return bad


def test_every_module_respects_the_layers() -> None:
    bad = [v for path in _modules() for v in _violations(path)]
    assert not bad, "\n".join(bad)


def test_scanner_catches_a_violation(tmp_path: Path) -> None:
    """The scan itself works: a pure module importing ctypes or sys is flagged."""
    fake = SRC / "asm" / "_layer_probe_tmp.py"
    fake.write_text("import ctypes\nfrom pybpf.sys import bpf\n")
    try:
        found = _violations(fake)
    finally:
        fake.unlink()
    assert len(found) == 2
