"""Reading the file a command names (``-``: standard input)."""

from __future__ import annotations

import sys
from pathlib import Path

from pybpf.errors import BPFError

__all__ = ["read_input"]


def read_input(path: str) -> bytes:
    """The bytes of ``path``, or of standard input for ``-``.

    Raises:
        BPFError: the file cannot be read (``cannot read PATH: reason``).
    """
    if path == "-":
        return sys.stdin.buffer.read()
    try:
        return Path(path).read_bytes()
    except OSError as exc:
        raise BPFError(f"cannot read {path}: {exc.strerror}") from exc
