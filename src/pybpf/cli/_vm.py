"""``pybpf run`` and ``pybpf conformance-plugin``: the user-space VM from the command line."""

from __future__ import annotations

import argparse
import shlex
import sys
from pathlib import Path

from pybpf.asm.instruction import Instruction, decode
from pybpf.cli._input import read_input
from pybpf.errors import BPFError, VMError
from pybpf.vm import TIERS, VM, MemoryEntry, VMProgram
from pybpf.vm.context import Entry, NoDataEntry, SkbEntry, XdpEntry

__all__ = ["register", "run_plugin"]

_ENTRIES = {
    "memory": MemoryEntry,
    "xdp": XdpEntry,
    "skb": SkbEntry,
    "none": NoDataEntry,
}


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "run",
        help="run a program in the user-space VM (assembly, raw bytes, a bpf_conformance "
        ".data file or an ELF object) and print r0",
    )
    p.add_argument("file", help="the program ('-' for standard input)")
    data = p.add_mutually_exclusive_group()
    data.add_argument("--mem", metavar="HEX", help="the data (memory / packet) as hex")
    data.add_argument("--data", metavar="FILE", help="the data (memory / packet) from a file")
    p.add_argument("--ctx", metavar="HEX", help="the context, for context entries, as hex")
    p.add_argument("--tier", choices=TIERS, default="interp")
    p.add_argument(
        "--entry",
        choices=sorted(_ENTRIES),
        help="how r1/r2 are set up (default: from the program type; memory for raw code)",
    )
    p.add_argument("--program", metavar="NAME", help="ELF: the program to run")
    p.add_argument("--repeat", type=int, default=1, help="runs (the mean time is printed)")
    p.add_argument("--budget", type=int, help="the most instructions one run may execute")
    p.add_argument("--trace", action="store_true", help="print each instruction (interpreter)")
    p.add_argument("--syntax", choices=("auto", "llvm", "ubpf"), default="auto")
    p.set_defaults(func=_run)

    c = sub.add_parser(
        "conformance-plugin",
        help="the bpf_conformance plugin protocol: program on stdin, memory as argument",
    )
    c.add_argument("memory", nargs="?", default="", help="the memory as hex bytes")
    c.add_argument(
        "options",
        nargs="*",
        help='plugin options in one argument, as the runner passes them ("--tier jit")',
    )
    c.add_argument("--program", metavar="HEX", help="the program as hex (instead of stdin)")
    c.add_argument("--tier", choices=TIERS, default="interp")
    c.set_defaults(func=_plugin)


# -- pybpf run -------------------------------------------------------------------------------------


def _hex(text: str, what: str) -> bytes:
    try:
        return bytes.fromhex(text.replace("0x", " ").replace(",", " "))
    except ValueError as exc:
        raise BPFError(f"{what}: not hex bytes: {exc}") from exc


def _load(args: argparse.Namespace, raw: bytes) -> tuple[VMProgram, bytes | None]:
    """The program of ``args.file``, and the memory a conformance file brings."""
    entry: Entry | None = _ENTRIES[args.entry]() if args.entry else None
    if raw[:4] == b"\x7fELF":
        from pybpf.spec.loader import load_collection_spec  # noqa: PLC0415 - ELF only

        spec = load_collection_spec(raw, name=Path(args.file).name)
        names = [n for n, p in spec.programs.items() if p.autoload]
        name = args.program or (names[0] if len(names) == 1 else None)
        if name is None or name not in spec.programs:
            raise BPFError(f"name the program to run with --program: one of {', '.join(names)}")
        vm = _vm(args, "<" if spec.byte_order == "little" else ">")
        collection = vm.load_collection(spec)
        prog = collection.programs[name]
        if entry is not None:
            prog.entry = entry
        return prog, None
    text = raw.decode("utf-8", errors="replace")
    if "\0" not in text and ("-- asm" in text or "-- raw" in text):
        from pybpf.asm.conformance import parse_test  # noqa: PLC0415

        test = parse_test(text, source=args.file)
        return _vm(args).load(test.instructions(), entry=entry), test.mem
    return _vm(args).load(_instructions(raw, args), entry=entry), None


def _vm(args: argparse.Namespace, endian: str = "<") -> VM:
    vm = VM(tier=args.tier, endian=endian)
    if args.budget:
        vm.budget = args.budget
    return vm


def _instructions(raw: bytes, args: argparse.Namespace) -> list[Instruction]:
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        return decode(raw, source=args.file)
    if "\0" in text:
        return decode(raw, source=args.file)
    from pybpf.asm.assembler import assemble  # noqa: PLC0415

    return assemble(text, args.syntax, source=args.file)


def _tracer(prog: VMProgram) -> object:
    def hook(pc: int, regs: list[int]) -> None:
        shown = prog.code.show(pc)
        live = " ".join(f"r{i}={v:#x}" for i, v in enumerate(regs) if v)
        print(f"{pc:5}: {shown:<40} {live}", file=sys.stderr)

    return hook


def _run(args: argparse.Namespace) -> int:
    prog, test_mem = _load(args, read_input(args.file))
    if args.mem is not None:
        data = _hex(args.mem, "--mem")
    elif args.data is not None:
        data = read_input(args.data)
    else:
        data = test_mem or b""
    ctx = _hex(args.ctx, "--ctx") if args.ctx else None
    if args.trace:
        r0 = prog.run(data, ctx=ctx, trace=_tracer(prog))  # type: ignore[arg-type]
        print(f"{r0:#x}")
        return 0
    result = prog.test_run(data, ctx, repeat=max(args.repeat, 1))
    print(f"{result.retval:#x}")
    if args.repeat > 1:
        print(f"{result.duration} ns/run ({args.tier})", file=sys.stderr)
    return 0


# -- pybpf conformance-plugin ---------------------------------------------------------------------


def _plugin(args: argparse.Namespace) -> int:
    extra = argparse.ArgumentParser(prog="pybpf conformance-plugin", add_help=False)
    extra.add_argument("--program", default=args.program)
    extra.add_argument("--tier", choices=TIERS, default=args.tier)
    opts, unknown = extra.parse_known_args(split_plugin_argv(args.options))
    if unknown:
        print(f"unknown plugin options: {' '.join(unknown)}", file=sys.stderr)
        return 2
    program = opts.program if opts.program is not None else sys.stdin.read()
    return run_plugin(program, args.memory, opts.tier)


def run_plugin(program_hex: str, memory_hex: str, tier: str = "interp") -> int:
    """Run one bpf_conformance test the plugin way: prints r0 in hex and returns 0, or prints
    the error and returns 1. Helper 5 returns its first argument (the suite's ``callx``
    tests call it)."""
    try:
        code = _hex(program_hex, "program")
        memory = _hex(memory_hex, "memory")
        vm = VM(tier=tier)  # type: ignore[arg-type]
        vm.helpers.register(5, _identity)
        r0 = vm.load(decode(code)).run(memory)
    except (BPFError, VMError) as exc:
        message = str(exc)
        print(message, file=sys.stderr)
        print(message)  # the reference runner compares what the plugin writes on stdout
        return 1
    print(f"{r0:x}")
    return 0


def _identity(env: object, r1: int, *_: int) -> int:
    return r1


def split_plugin_argv(argv: list[str]) -> list[str]:
    """bpf_conformance passes its plugin options as one argument (``"--tier jit"``)."""
    out: list[str] = []
    for arg in argv:
        out += shlex.split(arg) if arg.startswith("--") and " " in arg else [arg]
    return out
