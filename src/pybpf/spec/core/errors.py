"""The error CO-RE relocation raises when libbpf would refuse to load the object."""

from __future__ import annotations

from pybpf.errors import BTFError, Location

__all__ = ["CoreError"]


class CoreError(BTFError):
    """A CO-RE relocation that cannot be applied, where libbpf fails the whole load.

    Raised for: a malformed access string or a local type id out of range (bad
    ``.BTF.ext``); a relocation on an anonymous type; candidates that resolve to different
    offsets or values (ambiguity); an instruction that does not hold the value the
    relocation expects, or is of a kind CO-RE cannot patch (a jump, an ``ALU`` with a
    register operand, an ``lddw`` of a map); a bitfield no 64-bit load can reach.

    A relocation that merely finds no target is *not* an error: its instruction is
    poisoned (see :func:`pybpf.spec.core.relocate`), as libbpf does.

    ``program`` names the program, ``relo`` is the relocation's position in
    :attr:`~pybpf.spec.ProgramSpec.core_relos` and ``insn`` the instruction's slot index
    (each ``None`` when not known); ``reason`` is libbpf's message.
    """

    def __init__(
        self,
        reason: str,
        *,
        program: str | None = None,
        relo: int | None = None,
        insn: int | None = None,
        source: str | None = None,
    ) -> None:
        self.program = program
        self.relo = relo
        where = source
        if program is not None:
            where = f"prog '{program}'" + (f" relo #{relo}" if relo is not None else "")
        super().__init__(reason, Location(where, insn=insn))
