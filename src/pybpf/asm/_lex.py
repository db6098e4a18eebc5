"""The tokenizer of assembly lines (both syntaxes), shared by the assembler and templates.

Templates and input lines go through the same tokenizer, so spacing never matters:
``(r10 -8)``, ``(r10 - 0x8)`` and ``(r10-8)`` are the same tokens.
"""

from __future__ import annotations

import re
from typing import NamedTuple

__all__ = ["LexError", "Tok", "strip_comment", "tokenize"]


class Tok(NamedTuple):
    """One token. ``kind`` is ``reg`` (``r1``/``w1``), ``ureg`` (``%r1``), ``num``, ``ident``
    or ``op``; ``value`` is the number of a ``num`` or register (-1 for a malformed uBPF
    register); ``col`` is 1-based; ``key`` is what templates are indexed by."""

    kind: str
    text: str
    col: int
    value: int
    key: str


class LexError(Exception):
    """A character or number that cannot start a token (the assembler adds the line)."""

    def __init__(self, col: int, reason: str) -> None:
        super().__init__(reason)
        self.col = col
        self.reason = reason


_TOKEN = re.compile(
    r"""
    \s*(?:
     (?P<op><<=|>>=|[-+*/|&^=!<>]=|<<|>>|[-+*/|&^<>=!()\[\],:~]|%(?![A-Za-z_])=?)
    |(?P<reg>[rw](?P<regno>\d+))(?![\w.$])
    |(?P<ident>[A-Za-z_.$][\w.$]*(?:\#-?\d{1,40})?)
    |(?P<num>\d\w*)
    |(?P<ureg>%[A-Za-z_]\w*)
    |(?P<bad>\S)
    )""",
    re.VERBOSE | re.ASCII,
)
_UREG = re.compile(r"%r(\d+)\Z", re.ASCII)
_DEC = re.compile(r"\d+\Z", re.ASCII)
_HEX = re.compile(r"0[xX][0-9a-fA-F]+\Z")
# '#' starts a comment unless it joins a name to a number (``bpf_map_lookup_elem#1``).
_COMMENT = re.compile(r"(?<![\w.$])#|#(?![\d-])|;|//", re.ASCII)


def strip_comment(line: str) -> str:
    """``line`` without its comment (``#``, ``;`` or ``//`` to the end of the line)."""
    if "#" not in line and ";" not in line and "/" not in line:
        return line
    m = _COMMENT.search(line)
    return line if m is None else line[: m.start()]


def _number(text: str, col: int) -> int:
    if len(text) > 40:  # no field is that wide; int() would refuse 4300+ digits anyway
        raise LexError(col, f"number too long ({len(text)} characters)")
    if _DEC.match(text):
        return int(text)
    if _HEX.match(text):
        return int(text, 16)
    raise LexError(col, f"bad number {text!r}")


def tokenize(line: str, start: int = 0) -> list[Tok]:
    """The tokens of ``line`` from index ``start`` (comments already stripped).

    Raises:
        LexError: a character that starts no token, or a malformed number.
    """
    toks: list[Tok] = []
    append = toks.append
    new = tuple.__new__
    for m in _TOKEN.finditer(line, start):
        kind = m.lastgroup
        if kind in ("op", "ident"):
            text = m.group(kind)
            append(new(Tok, (kind, text, m.start(kind) + 1, 0, text)))
        elif kind == "reg":
            text = m.group(kind)
            append(new(Tok, ("reg", text, m.start(kind) + 1, int(m.group("regno")), text[0])))
        elif kind == "num":
            text, col = m.group(kind), m.start(kind) + 1
            append(new(Tok, ("num", text, col, _number(text, col), "#")))
        elif kind == "ureg":
            text = m.group(kind)
            r = _UREG.match(text)
            value = int(r.group(1)) if r else -1
            append(new(Tok, ("ureg", text, m.start(kind) + 1, value, "%r")))
        else:
            col = m.start("bad") + 1
            raise LexError(col, f"unexpected character {m.group('bad')!r}")
    return toks
