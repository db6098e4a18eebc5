"""``pybpf asm`` and ``pybpf disasm``."""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

from pybpf.asm.disasm import disassemble
from pybpf.asm.instruction import encode
from pybpf.cli._input import read_input
from pybpf.cli._objdump import ListingOptions, objdump_listing
from pybpf.elf import ELFFile
from pybpf.errors import DecodeError, Location

__all__ = ["register"]

_HEXTEXT = re.compile(rb"\A(?:\s|0x|0X|[0-9a-fA-F])*\Z")


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("asm", help="assemble a program (LLVM or uBPF syntax) to bytes")
    p.add_argument("file", help="assembly source ('-' for standard input)")
    p.add_argument("-o", "--output", help="write the raw instruction bytes to this file")
    p.add_argument("--syntax", choices=("auto", "llvm", "ubpf"), default="auto")
    p.add_argument("--byteorder", choices=("little", "big"), default="little")
    p.add_argument("--hex", action="store_true", help="print hex, one instruction a line")
    p.set_defaults(func=_asm)

    d = sub.add_parser(
        "disasm",
        help="disassemble raw bytes, hex text, or an ELF object (as llvm-objdump -d)",
    )
    d.add_argument("file", help="raw bytes, hex text, or an eBPF ELF object ('-' for stdin)")
    d.add_argument("--syntax", choices=("llvm", "ubpf"), default="llvm")
    d.add_argument(
        "--style",
        choices=("pybpf", "objdump"),
        help="pybpf: lossless, helper names; objdump: llvm-objdump's text "
        "(default: objdump for ELF objects, pybpf otherwise)",
    )
    d.add_argument("--byteorder", choices=("little", "big"), default="little")
    d.add_argument("--alu32", action="store_true", help="w registers for 32-bit memory ops")
    d.add_argument("--no-labels", action="store_true", help="jump offsets instead of labels")
    d.add_argument("--pc", action="store_true", help="show each instruction's slot index")
    d.add_argument(
        "-r", "--reloc", action="store_true", help="ELF: show relocations and CO-RE records"
    )
    d.add_argument(
        "-S", "--source", action="store_true", help="ELF: show source lines (BTF line info)"
    )
    d.set_defaults(func=_disasm)


def _asm(args: argparse.Namespace) -> int:
    from pybpf.asm.assembler import assemble  # noqa: PLC0415 - `disasm` doesn't need the parser

    text = read_input(args.file).decode("utf-8", errors="replace")
    source = "<stdin>" if args.file == "-" else args.file
    insns = assemble(text, args.syntax, source=source)
    data = encode(insns, args.byteorder)
    if args.output:
        Path(args.output).write_bytes(data)
    if args.hex or not args.output:
        for i in range(0, len(data), 8):
            print(data[i : i + 8].hex(" "))
    return 0


def _disasm(args: argparse.Namespace) -> int:
    data = read_input(args.file)
    source = "<stdin>" if args.file == "-" else args.file
    if data[:4] == b"\x7fELF":
        opts = ListingOptions(
            alu32=args.alu32, relocs=args.reloc, style=args.style or "objdump", source=args.source
        )
        for line in objdump_listing(ELFFile(data, name=source), source, opts):
            print(line)
        return 0
    if data and _HEXTEXT.match(data):
        data = _unhex(data.decode(), source)
    text = disassemble(
        data,
        byteorder=args.byteorder,
        syntax=args.syntax,
        style=args.style or "pybpf",
        alu32=args.alu32,
        labels=not args.no_labels,
        show_pc=args.pc,
        source=source,
    )
    sys.stdout.write(text)
    return 0


def _unhex(text: str, source: str) -> bytes:
    digits = "".join(tok.removeprefix("0x").removeprefix("0X") for tok in text.split())
    try:
        return bytes.fromhex(digits)
    except ValueError as exc:
        raise DecodeError("odd number of hex digits", Location(source)) from exc
