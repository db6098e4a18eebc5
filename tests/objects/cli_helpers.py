"""Running ``pybpf prog|map …`` in process and ``bpftool`` beside it, for comparisons."""

from __future__ import annotations

import argparse
import contextlib
import io
import subprocess

from pybpf.cli import _kernel
from tests.conftest import tool


def run(*argv: str) -> str:
    """What ``pybpf ARGV`` prints (a ``prog``/``map`` command), asserting it succeeds."""
    parser = argparse.ArgumentParser(prog="pybpf")
    _kernel.register(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(argv)
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        assert args.func(args) == 0
    return out.getvalue()


def bpftool(*argv: str) -> str:
    """What ``bpftool ARGV`` prints."""
    return subprocess.run(
        [tool("bpftool"), *argv], check=True, capture_output=True, text=True
    ).stdout
