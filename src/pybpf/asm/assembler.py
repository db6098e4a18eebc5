"""The assembler: eBPF assembly text → :class:`~pybpf.asm.instruction.Instruction` list.

Two syntaxes, both driven by the opcode table's templates:

``llvm``
    what ``llvm-objdump -d`` and ``llvm-mc`` print and read (``r0 = 0x1``,
    ``if r1 > r2 goto +0x3``, ``*(u32 *)(r10 - 0x8) = w1``), pybpf's lossless extensions
    (``call bpf_map_lookup_elem``, ``r1 = map[fd:5] ll``, ``call pc+0x5``), and the kernel
    verifier log (``0: (b7) r0 = 0``, ``(15) if r0 == 0x0 goto pc+2``,
    ``(85) call bpf_map_lookup_elem#1``, ``(18) r1 = map[id:5]``). Lines of an
    ``llvm-objdump -d`` listing (``   3:\\tb7 00 ... \\tr0 = 0x1``) are accepted too.
``ubpf``
    the syntax of uBPF and bpf_conformance (``mov %r0, 1``, ``ldxw %r0, [%r1+4]``,
    ``lock fetch add [%r10-8], %r1``, ``call local func1``); a jump to ``exit`` reaches the
    first ``exit`` instruction unless a label ``exit`` is defined.

Both: labels (``name:``, alone or before an instruction), ``#``/``;``/``//`` comments,
numbers in decimal or hex, signed. Example::

    >>> from pybpf.asm.assembler import assemble
    >>> [str(i) for i in assemble("mov %r0, 1\\nexit")]
    ['r0 = 0x1', 'exit']
"""

from __future__ import annotations

import re

from pybpf._records import immutable
from pybpf._util import s32
from pybpf.asm._lex import LexError, Tok, strip_comment, tokenize
from pybpf.asm._parse import Failure, LabelRef, Parsed, parse
from pybpf.asm._template import Syntax
from pybpf.asm.instruction import ByteOrder, Instruction, encode
from pybpf.asm.opcodes import Kind
from pybpf.errors import AssemblerError, Location

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (PEP 781's idiom)
if TYPE_CHECKING:
    from typing import Literal

    SyntaxChoice = Literal["auto", "llvm", "ubpf"]
else:
    SyntaxChoice = str  # (a Literal of str for type checkers)

__all__ = ["assemble", "assemble_bytes", "detect_syntax"]


# ``N:`` then a verifier ``(xx)`` opcode or llvm-objdump's raw bytes; or a bare ``(xx)``.
_HEXB = r"[0-9a-fA-F]{2}"
_PREFIX = re.compile(
    rf"\s*(?:\d+:\s*(?:\((?P<code>{_HEXB})\)|(?P<bytes>{_HEXB})(?: {_HEXB}){{7}}"
    rf"(?:(?: {_HEXB}){{8}})?(?=\s))?|\((?P<code2>{_HEXB})\))",
    re.ASCII,
)
_OBJDUMP_SYMBOL = re.compile(r"[0-9a-fA-F]{16} <([^<>\s]+)>:\s*\Z")
_ANNOTATION = re.compile(r"\s<[^<>\s]+>\s*\Z")
_UBPF_HINT = re.compile(r"%r\d")
_LLVM_HINT = re.compile(r"\b[rw]\d+\b|\bgotol?\b")


def detect_syntax(text: str) -> Syntax:
    """Guess the syntax of ``text``: ``%r`` registers mean uBPF, ``r1``/``w1``/``goto``
    mean LLVM; text with neither (``exit``, ``ja +1``) is read as uBPF."""
    if _UBPF_HINT.search(text):
        return "ubpf"
    if _LLVM_HINT.search(text):
        return "llvm"
    return "ubpf"


@immutable
class _Pending:
    """A label reference waiting for its label: instruction ``index`` at slot ``pc``."""

    index: int
    pc: int
    ref: LabelRef
    line: int
    is_call: bool


class _Assembler:
    def __init__(self, syntax: Syntax, source: str | None, first_line: int) -> None:
        self.syntax = syntax
        self.source = source
        self.first_line = first_line
        self.insns: list[Instruction] = []
        self.pc = 0
        self.labels: dict[str, tuple[int, int]] = {}  # name -> (pc, line)
        self.pending: list[_Pending] = []
        self.first_exit: int | None = None

    def error(self, line: int, col: int, reason: str) -> AssemblerError:
        return AssemblerError(reason, Location(self.source, line=line, column=col or None))

    def run(self, text: str) -> list[Instruction]:
        for n, raw in enumerate(text.splitlines()):
            self.line(raw, self.first_line + n)
        self.resolve()
        return self.insns

    def line(self, raw: str, lineno: int) -> None:
        body = strip_comment(raw)
        if not body or body.isspace():
            return
        sym = _OBJDUMP_SYMBOL.match(body.strip())
        if sym is not None:
            self.define(sym.group(1), lineno, body.index("<") + 2)
            return
        m = _PREFIX.match(body)
        code = None
        start = 0
        if m is not None and m.end() > 0:
            hexcode = m.group("code") or m.group("code2") or m.group("bytes")
            code = int(hexcode, 16) if hexcode else None
            start = m.end()
        if body.endswith(">"):
            body = _ANNOTATION.sub("", body)
        try:
            toks = tokenize(body, start)
        except LexError as exc:
            raise self.error(lineno, exc.col, exc.reason) from None
        toks = self.take_labels(toks, lineno)
        if toks:
            self.instruction(toks, lineno, code)

    def take_labels(self, toks: list[Tok], lineno: int) -> list[Tok]:
        while len(toks) >= 2 and toks[0].kind == "ident" and toks[1].text == ":":
            self.define(toks[0].text, lineno, toks[0].col)
            toks = toks[2:]
        return toks

    def define(self, name: str, lineno: int, col: int) -> None:
        if name in self.labels:
            first = self.labels[name][1]
            raise self.error(
                lineno, col, f"duplicate label `{name}` (first defined on line {first})"
            )
        self.labels[name] = (self.pc, lineno)

    def instruction(self, toks: list[Tok], lineno: int, code: int | None) -> None:
        if toks[0].text.startswith(".") and toks[0].kind == "ident":
            reason = f"assembler directives are not supported (`{toks[0].text}`)"
            raise self.error(lineno, toks[0].col, reason)
        try:
            parsed = parse(toks, self.syntax, code)
        except Failure as exc:
            raise self.error(lineno, exc.col, exc.reason) from None
        insn = _build(parsed)
        if parsed.label is not None:
            is_call = parsed.op.kind is Kind.CALL
            self.pending.append(_Pending(len(self.insns), self.pc, parsed.label, lineno, is_call))
        if parsed.op.kind is Kind.EXIT and self.first_exit is None:
            self.first_exit = self.pc
        self.insns.append(insn)
        self.pc += insn.slots

    def resolve(self) -> None:
        labels = {name: pc for name, (pc, _) in self.labels.items()}
        if self.syntax == "ubpf" and "exit" not in labels and self.first_exit is not None:
            labels["exit"] = self.first_exit  # bpf_conformance's implicit label
        for p in self.pending:
            target = labels.get(p.ref.name)
            if target is None:
                what = "label or helper" if p.is_call and self.syntax == "llvm" else "label"
                raise self.error(p.line, p.ref.col, f"unknown {what} `{p.ref.name}`")
            rel = target - (p.pc + 1)
            lim = 1 << (p.ref.bits - 1)
            if not -lim <= rel < lim:
                reason = f"`{p.ref.name}` is {rel} slots away: too far for {p.ref.bits} bits"
                raise self.error(p.line, p.ref.col, f"jump out of range: {reason}")
            self.insns[p.index] = self.insns[p.index].with_fields(**{p.ref.field: rel})


def _build(parsed: Parsed) -> Instruction:
    f = parsed.fields
    values = {"dst": 0, "src": 0, "off": 0, "imm": 0, "imm_hi": 0}
    for name in values:
        if name in f:
            values[name] = f[name]
    if "as_dst" in f:
        values["imm"] = s32((f["as_dst"] << 16) | f["as_src"])
    key = parsed.op.key
    if key is not None:
        values[key[0]] = key[1]
    return Instruction(
        parsed.op.code, values["dst"], values["src"], values["off"], values["imm"], values["imm_hi"]
    )


def assemble(
    text: str,
    syntax: SyntaxChoice = "auto",
    *,
    source: str | None = None,
    first_line: int = 1,
) -> list[Instruction]:
    """Assemble ``text`` into instructions, labels resolved.

    Args:
        text: the program, one instruction per line.
        syntax: ``"llvm"``, ``"ubpf"``, or ``"auto"`` (see :func:`detect_syntax`).
        source: a file or section name, for error locations.
        first_line: the line number of the first line of ``text`` (when it comes from inside
            a larger file).

    Raises:
        AssemblerError: with the line and column of the first problem: an unknown
            mnemonic, a wrong operand, a number out of range, a register above r10, an
            unknown or duplicate label.
    """
    chosen: Syntax = detect_syntax(text) if syntax == "auto" else syntax
    if chosen not in ("llvm", "ubpf"):
        raise ValueError(f"unknown syntax {syntax!r} (expected 'auto', 'llvm' or 'ubpf')")
    return _Assembler(chosen, source, first_line).run(text)


def assemble_bytes(
    text: str,
    syntax: SyntaxChoice = "auto",
    *,
    byteorder: ByteOrder = "little",
    source: str | None = None,
) -> bytes:
    """Assemble ``text`` straight to instruction bytes. See :func:`assemble`."""
    return encode(assemble(text, syntax, source=source), byteorder)
