"""The ``pybpf`` command.

Each family of subcommands lives in its own private module with a ``register(subparsers)``
function; this module only wires them together, and lazily: :data:`COMMANDS` names every
subcommand, its module and its one-line help, so ``pybpf --help`` lists the commands without
importing a single one of those modules, and ``pybpf spec OBJ`` imports ``pybpf.cli._spec``
(and what it needs) but not the VM, the assembler or the kernel layer. A process that runs
one command should pay for one command: ``pybpf prog loadall`` is measured against
``bpftool prog loadall`` as a whole process (``benchmarks/startup.py``).
"""

from __future__ import annotations

import argparse
import sys

from pybpf.errors import BPFError

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (PEP 781's idiom)
if TYPE_CHECKING:
    from collections.abc import Sequence

__all__ = ["COMMANDS", "build_parser", "main"]

COMMANDS: dict[str, tuple[str, str]] = {
    "demo": (
        "pybpf.cli._demo",
        "run the bundled XDP firewall over bundled packets in the VM (and, as root, in the "
        "kernel beside it)",
    ),
    "asm": ("pybpf.cli._asm", "assemble a program (LLVM or uBPF syntax) to bytes"),
    "disasm": (
        "pybpf.cli._asm",
        "disassemble raw bytes, hex text, or an ELF object (as llvm-objdump -d)",
    ),
    "btf": ("pybpf.cli._btf", "inspect BTF (dump it as bpftool does)"),
    "spec": ("pybpf.cli._spec", "show the programs, maps, globals and externs of an object"),
    "probe": (
        "pybpf.cli._kernel",
        "probe the kernel's eBPF features (like bpftool feature probe)",
    ),
    "prog": ("pybpf.cli._kernel", "inspect loaded programs (like bpftool prog)"),
    "map": ("pybpf.cli._kernel", "inspect maps (like bpftool map)"),
    "run": (
        "pybpf.cli._vm",
        "run a program in the user-space VM (assembly, raw bytes, a bpf_conformance .data "
        "file or an ELF object) and print r0",
    ),
    "conformance-plugin": (
        "pybpf.cli._vm",
        "the bpf_conformance plugin protocol: program on stdin, memory as argument",
    ),
}
"""Every subcommand, in ``--help`` order: name -> (the module that registers it, its help).

A module registering several commands (``_asm``: ``asm`` and ``disasm``) is listed once per
command, at consecutive positions; ``tests/test_startup.py`` checks that each module registers
exactly the commands listed for it, with the same help."""


def build_parser(command: str | None = None) -> argparse.ArgumentParser:
    """The ``pybpf`` parser: with ``command`` (a name of :data:`COMMANDS`), only its
    module's commands, imported and registered; without (``None``, or a name that is not a
    command), every command as a placeholder carrying its help line, enough for ``--help``
    and for argparse's "invalid choice" message, without importing any command's module.

    (Each parser argparse makes costs a few locale look-ups: a command needs no parsers for
    the others.)
    """
    parser = argparse.ArgumentParser(
        prog="pybpf", description="A pure-Python eBPF toolkit: write, load, attach, run eBPF."
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    if command in COMMANDS:
        module = COMMANDS[command][0]
        __import__(module)  # (-X importtime does not see importlib.import_module)
        sys.modules[module].register(sub)
        return parser
    for name, (_, help_line) in COMMANDS.items():
        sub.add_parser(name, help=help_line)
    return parser


def _command_of(argv: Sequence[str]) -> str | None:
    """The subcommand ``argv`` names (its first word), or ``None`` when it starts with an
    option (``pybpf -h spec`` asks for the help of ``pybpf`` itself)."""
    if argv and not argv[0].startswith("-"):
        return argv[0]
    return None


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the process exit status."""
    if argv is None:
        argv = sys.argv[1:]
    parser = build_parser(_command_of(argv))
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
