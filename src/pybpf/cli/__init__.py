"""The ``pybpf`` command.

Each family of subcommands lives in its own private module with a ``register(subparsers)``
function; this module only wires them together, and lazily: :data:`COMMANDS` names every
subcommand, its module and its one-line help, so ``pybpf --help`` lists the commands without
importing a single one of those modules, and ``pybpf spec OBJ`` imports ``pybpf.cli._spec``
(and what it needs) but not the VM, the assembler or the kernel layer. A process that runs
one command should pay for one command: ``pybpf prog loadall`` is measured against
``bpftool prog loadall`` as a whole process (``benchmarks/startup.py``).

The hottest commands (:data:`FAST`) skip :mod:`argparse` altogether: their words are read by
their module's ``main(words)`` (``prog loadall`` reads bpftool's keyword syntax by hand in
any case), which spares the process ``argparse``, ``gettext``, ``locale``, ``shutil`` and
``re`` (6-9 ms: argparse's help formatter imports ``shutil``, which imports the compression
modules). Asked for ``--help``, or given a form the fast reader leaves to argparse, they go
through argparse like every other command.
"""

from __future__ import annotations

import sys

from pybpf.errors import BPFError

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (PEP 781's idiom)
if TYPE_CHECKING:
    import argparse
    from collections.abc import Callable, Sequence
    from typing import Any

__all__ = ["COMMANDS", "FAST", "build_parser", "main"]

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

FAST: dict[tuple[str, ...], str] = {
    ("prog", "loadall"): "pybpf.cli._loadall",
    ("spec",): "pybpf.cli._spec",
}
"""Commands run without argparse: leading words -> the module whose ``main(words)`` runs the
command with the words after them and returns the exit status, or ``None`` to leave a form
it does not read to argparse. The module also registers the command with argparse."""


def build_parser(command: str | None = None) -> argparse.ArgumentParser:
    """The ``pybpf`` parser: with ``command`` (a name of :data:`COMMANDS`), only its
    module's commands, imported and registered; without (``None``, or a name that is not a
    command), every command as a placeholder carrying its help line, enough for ``--help``
    and for argparse's "invalid choice" message, without importing any command's module.

    (Each parser argparse makes costs a few locale look-ups: a command needs no parsers for
    the others.)
    """
    import argparse  # noqa: PLC0415 - the FAST commands never load it

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
    _raw_names()
    if "-h" not in argv and "--help" not in argv:
        for words, module in FAST.items():
            if tuple(argv[: len(words)]) == words:
                __import__(module)
                status = _run(" ".join(words), sys.modules[module].main, list(argv[len(words) :]))
                if status is not None:
                    return status
    parser = build_parser(_command_of(argv))
    args = parser.parse_args(argv)
    return _run(args.command, args.func, args) or 0


def _raw_names() -> None:
    """Print names as the object holds them: ELF and BTF names that are not UTF-8 are read
    with ``surrogateescape`` and written back as the same bytes (as llvm-objdump and bpftool
    print them), not refused by the encoder."""
    reconfigure = getattr(sys.stdout, "reconfigure", None)
    if reconfigure is not None:
        reconfigure(errors="surrogateescape")


def _run(command: str, func: Callable[[Any], int | None], args: object) -> int | None:
    """``func(args)``'s status; a library error, or a file that cannot be read or written,
    is printed as ``pybpf COMMAND: message``."""
    try:
        status = func(args)
    except BPFError as exc:
        print(f"pybpf {command}: {exc}", file=sys.stderr)
        return 1
    except BrokenPipeError:
        return 0
    except OSError as exc:  # a path the user named: not found, not readable, ...
        where = f"{exc.filename}: " if exc.filename is not None else ""
        print(f"pybpf {command}: {where}{exc.strerror or exc}", file=sys.stderr)
        return 1
    return status


if __name__ == "__main__":
    sys.exit(main())
