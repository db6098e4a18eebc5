"""Spelling templates of the opcode table, split into literal text and placeholders.

The renderer (:mod:`pybpf.asm._render`) and the parser (:mod:`pybpf.asm._parse`) both start
from this split, so the two can never disagree about what a template says. The placeholder
vocabulary is documented in :mod:`pybpf.asm.opcodes`.
"""

from __future__ import annotations

import re

from pybpf._records import immutable

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (PEP 781's idiom)
if TYPE_CHECKING:
    from typing import Literal

    Syntax = Literal["llvm", "ubpf"]
else:
    Syntax = str  # (a Literal of str for type checkers)

__all__ = ["PLACEHOLDERS", "Slot", "Syntax", "split"]


PLACEHOLDERS = frozenset(
    {
        "dst",
        "src",
        "dst64",
        "src64",
        "dstv",
        "srcv",
        "r0v",
        "imm",
        "off",
        "moff",
        "target",
        "imm64",
        "imm_hi",
        "uimm",
        "uimm_hi",
        "ximm",
        "helper",
        "as_dst",
        "as_src",
        "xoff",
    }
)
"""Every placeholder a template may use."""

_PLACEHOLDER = re.compile(r"\{(\w+)\}")


@immutable
class Slot:
    """A placeholder in a template. ``pc`` marks ``pc{target}`` (a pc-relative target)."""

    name: str
    pc: bool = False


def split(template: str) -> tuple[str | Slot, ...]:
    """Split a template into literal strings and :class:`Slot` placeholders.

    Raises:
        ValueError: the template names a placeholder outside the vocabulary (a bug in the
            table, caught by the tests).
    """
    parts: list[str | Slot] = []
    pos = 0
    for m in _PLACEHOLDER.finditer(template):
        literal = template[pos : m.start()]
        name = m.group(1)
        if name not in PLACEHOLDERS:
            raise ValueError(f"unknown placeholder {{{name}}} in template {template!r}")
        pc = name == "target" and literal.endswith("pc")
        if pc:
            literal = literal[:-2]
        if literal:
            parts.append(literal)
        parts.append(Slot(name, pc))
        pos = m.end()
    if pos < len(template):
        parts.append(template[pos:])
    return tuple(parts)
