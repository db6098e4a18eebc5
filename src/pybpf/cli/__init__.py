"""The ``pybpf`` command.

Each family of subcommands lives in its own private module with a ``register(subparsers)``
function; this module only wires them together.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

from pybpf.errors import BPFError

__all__ = ["main"]

# Modules that add subcommands, in the order their commands appear in --help.
_COMMAND_MODULES = (
    "pybpf.cli._demo",
    "pybpf.cli._asm",
    "pybpf.cli._btf",
    "pybpf.cli._spec",
    "pybpf.cli._kernel",
    "pybpf.cli._vm",
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="pybpf", description="A pure-Python eBPF toolkit: write, load, attach, run eBPF."
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name in _COMMAND_MODULES:
        importlib.import_module(name).register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the process exit status."""
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        status: int = args.func(args)
    except BPFError as exc:
        print(f"pybpf {args.command}: {exc}", file=sys.stderr)
        return 1
    except BrokenPipeError:
        return 0
    return status


if __name__ == "__main__":
    sys.exit(main())
