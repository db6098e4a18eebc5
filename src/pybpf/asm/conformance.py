"""A parser of bpf_conformance's ``.data`` test files (sans-I/O: text in, record out).

A test file is a sequence of sections, each opened by a ``-- name`` line::

    # comment
    -- asm                  the program, in uBPF syntax
    mov %r0, 1
    exit
    -- mem                  hex bytes; the VM passes their address in r1, length in r2
    00 01 02 03
    -- result               expected r0 (hex with 0x, else decimal)
    0x1
    -- error                instead of result: the expected failure message
    -- raw                  the program as bytes ("b7 00 ...") or 64-bit slot words
                            ("0x00000001000000b7", one little-endian slot each)
    -- c                    the C source the program came from (kept verbatim)
    -- no register offset   a note (the runner must not add an offset to r1)

See https://github.com/Alan-Jowett/bpf_conformance (``lib/src/bpf_test_parser.cc``).
"""

from __future__ import annotations

import re
import struct

from pybpf._records import immutable
from pybpf.asm.assembler import assemble
from pybpf.asm.instruction import Instruction, decode
from pybpf.errors import AssemblerError, Location

__all__ = ["ConformanceTest", "parse_test"]

_SECTIONS = ("asm", "mem", "result", "error", "raw", "c", "no register offset")
_HEXBYTE = re.compile(r"(?:0[xX])?[0-9a-fA-F]{1,2}\Z")
_SLOT = struct.Struct("<Q")


@immutable
class ConformanceTest:
    """One parsed ``.data`` file. Absent sections are ``None`` (``mem`` is ``b""``).

    ``asm_line`` is the line number of the first line of ``asm`` in the file, so assembler
    errors point into the file. :meth:`instructions` gives the program.
    """

    source: str | None
    asm: str | None
    asm_line: int
    raw: bytes | None
    mem: bytes
    result: int | None
    error: str | None
    c: str | None
    no_register_offset: str | None

    @property
    def has_program(self) -> bool:
        """True when the test has an ``-- asm`` or ``-- raw`` program."""
        return self.raw is not None or self.asm is not None

    def instructions(self) -> list[Instruction]:
        """The program: ``raw`` decoded when present (it is authoritative, as in
        bpf_conformance), else ``asm`` assembled; ``[]`` when the test has neither.

        Raises:
            AssemblerError: the ``asm`` text does not assemble (line numbers of the file).
            DecodeError: the ``raw`` bytes do not decode (e.g. a reserved field is set).
        """
        if self.raw is not None:
            return decode(self.raw, source=self.source)
        if self.asm is None:
            return []
        return assemble(self.asm, "ubpf", source=self.source, first_line=self.asm_line)


def _strip(line: str) -> str:
    return line.split("#", 1)[0].strip()


class _Reader:
    def __init__(self, source: str | None) -> None:
        self.source = source
        self.sections: dict[str, list[tuple[int, str]]] = {}

    def error(self, line: int, col: int, reason: str) -> AssemblerError:
        return AssemblerError(reason, Location(self.source, line=line, column=col))

    def read(self, text: str) -> None:
        current: list[tuple[int, str]] | None = None
        for n, line in enumerate(text.splitlines(), 1):
            if line.lstrip().startswith("--"):
                current = self.open(line, n)
            elif current is not None:
                current.append((n, line))

    def open(self, line: str, n: int) -> list[tuple[int, str]]:
        name = " ".join(_strip(line).removeprefix("--").split())
        col = len(line) - len(line.lstrip()) + 1
        if name not in _SECTIONS:
            raise self.error(n, col, f"unknown section `-- {name}`")
        if name in self.sections:
            raise self.error(n, col, f"duplicate section `-- {name}`")
        self.sections[name] = []
        return self.sections[name]

    def text(self, name: str) -> tuple[str | None, int]:
        lines = self.sections.get(name)
        if lines is None:
            return None, 0
        return "".join(line + "\n" for _, line in lines), lines[0][0] if lines else 0

    def values(self, name: str) -> list[tuple[int, int, str]]:
        """(line, column, token) of every token of a section, comments stripped."""
        out: list[tuple[int, int, str]] = []
        for n, line in self.sections.get(name, []):
            body = line.split("#", 1)[0]
            out += [(n, m.start() + 1, m.group()) for m in re.finditer(r"\S+", body)]
        return out

    def mem(self) -> bytes:
        out = bytearray()
        for n, col, tok in self.values("mem"):
            if not _HEXBYTE.match(tok):
                raise self.error(n, col, f"bad memory byte {tok!r} (expected two hex digits)")
            out.append(int(tok, 16))
        return bytes(out)

    def raw(self) -> bytes | None:
        if "raw" not in self.sections:
            return None
        toks = self.values("raw")
        if all(re.fullmatch(r"[0-9a-fA-F]{2}", t) for _, _, t in toks):
            return bytes(int(t, 16) for _, _, t in toks)
        out = bytearray()
        for n, col, tok in toks:
            value = _int(tok)
            if value is None or not 0 <= value < 1 << 64:
                raise self.error(n, col, f"bad raw slot {tok!r} (expected a 64-bit number)")
            out += _SLOT.pack(value)
        return bytes(out)

    def result(self) -> int | None:
        if "result" not in self.sections:
            return None
        lines = [(n, _strip(line)) for n, line in self.sections["result"] if _strip(line)]
        if not lines:
            return None
        n, last = lines[-1]
        value = _int(last)
        if value is None:
            raise self.error(n, 1, f"bad result {last!r} (expected a number)")
        return value & 0xFFFFFFFFFFFFFFFF

    def note(self, name: str) -> str | None:
        if name not in self.sections:
            return None
        return "\n".join(s for s in (_strip(line) for _, line in self.sections[name]) if s)


def _int(text: str) -> int | None:
    try:
        return int(text, 16) if text.lower().startswith(("0x", "-0x")) else int(text, 10)
    except ValueError:
        return None


def parse_test(text: str, *, source: str | None = None) -> ConformanceTest:
    """Parse the text of a bpf_conformance ``.data`` file.

    Raises:
        AssemblerError: an unknown or duplicate ``--`` section, or a malformed ``mem``,
            ``raw`` or ``result`` value; with the line and column.
    """
    reader = _Reader(source)
    reader.read(text)
    asm, asm_line = reader.text("asm")
    c, _ = reader.text("c")
    return ConformanceTest(
        source=source,
        asm=asm,
        asm_line=asm_line or 1,
        raw=reader.raw(),
        mem=reader.mem(),
        result=reader.result(),
        error=reader.note("error"),
        c=c,
        no_register_offset=reader.note("no register offset"),
    )
