"""Reading a verifier log: the short summary a :class:`~pybpf.errors.VerifierError` prints.

The kernel's log ends with the reason the program was refused, just after the instruction it
was checking (``12: (85) call bpf_map_lookup_elem#1``). Programs loaded with BTF line info get
source lines in the log (``; return *v; @ prog.c:42``); a ``resolve`` hook maps an instruction
index to ``file:line`` for programs that carry line info in their spec instead. The summary::

    R1 type=scalar expected=map_ptr
      at insn 12: call bpf_map_lookup_elem#1 (prog.c:42: v = bpf_map_lookup_elem(&m, &k);)
"""

from __future__ import annotations

from collections.abc import Callable

__all__ = ["LineResolver", "summarize"]

LineResolver = Callable[[int], "str | None"]
"""Instruction index → ``"file.c:line"`` (or ``None``)."""

# an instruction line, or one a loader rewrote ("12: <invalid CO-RE relocation>")
# (patterns, compiled on first use: only a refused load reads a log; ``re`` caches them)
_INSN = r"^(\d+): (?:\([0-9a-f]{2}\) (.*?)|(<invalid [^>]*>))(?:\s+;.*)?$"
_SOURCE = r"^; (.*) @ (\S+:\d+)$"
_TRAILER = ("processed ", "verification time", "stack depth", "-- END PROG LOAD LOG --")


def _reason_lines(lines: list[str]) -> list[str]:
    while lines and (not lines[-1].strip() or lines[-1].startswith(_TRAILER)):
        lines.pop()
    return lines


def summarize(log: str, resolve: LineResolver | None = None) -> str:
    """The reason for the refusal and where: the failing instruction, and its source line
    when the log or ``resolve`` knows it. Empty for an empty log."""
    lines = _reason_lines(log.splitlines())
    if not lines:
        return ""
    import re  # noqa: PLC0415 - see _INSN

    reason = lines[-1].strip()
    for i in range(len(lines) - 2, -1, -1):
        found = re.match(_INSN, lines[i])
        if found:
            text = found[2] if found[2] is not None else found[3]
            return f"{reason}\n  at {_where(lines, i, int(found[1]), text, resolve)}"
    return reason


def _where(lines: list[str], at: int, insn: int, text: str, resolve: LineResolver | None) -> str:
    where = f"insn {insn}: {text.strip()}"
    source = _source_before(lines, at)
    if source is None and resolve is not None:
        source = resolve(insn)
    return f"{where} ({source})" if source else where


def _source_before(lines: list[str], at: int) -> str | None:
    import re  # noqa: PLC0415 - see _INSN

    for j in range(at - 1, -1, -1):
        found = re.match(_SOURCE, lines[j])
        if found:
            return f"{found[2]}: {found[1].strip()}"
        if not re.match(_INSN, lines[j]) and not lines[j].startswith(("R", " ", "\t", "from ")):
            return None
    return None
