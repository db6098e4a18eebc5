"""Every example under examples/ and every Python block of the README runs."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = sorted((ROOT / "examples").glob("*.py"))
_BLOCK = re.compile(r"```python\n(.*?)```", re.S)


@pytest.mark.parametrize("example", EXAMPLES, ids=lambda p: p.name)
def test_example_runs(example: Path) -> None:
    done = subprocess.run(
        [sys.executable, str(example)],
        check=False,
        capture_output=True,
        text=True,
        timeout=120,
        cwd=ROOT,
    )
    assert done.returncode == 0, done.stderr


def test_readme_python_blocks_run() -> None:
    blocks = _BLOCK.findall((ROOT / "README.md").read_text())
    assert blocks
    for i, block in enumerate(blocks):
        if block.startswith("# needs root") and os.geteuid() != 0:
            continue
        done = subprocess.run(
            [sys.executable, "-c", block],
            check=False,
            capture_output=True,
            text=True,
            timeout=120,
            cwd=ROOT,
        )
        assert done.returncode == 0, f"README block {i} failed:\n{block}\n{done.stderr}"
