"""Linking a program with the functions it calls, in libbpf's order.

As libbpf's ``bpf_object__reloc_code`` / ``bpf_object__append_subprog_code``: the program's
own code comes first; walking its instructions in order, the first reference to a function
not yet in the program (a ``call``, or an ``lddw`` of a callback) appends that function's
code at the end and walks it at once, depth first, before the walk goes on. Each function is
appended at most once per program; every ``call``/``lddw`` then gets its target relative to
its own position (``imm = target - (slot + 1)``)::

    section xdp      .text                     linked "prog"
    +--------+       +------+------+           +--------+------+------+
    | prog   |------>| subA |----->| subB |    | prog   | subA | subB |
    +--------+ call  +------+ call +------+    +--------+------+------+
                                               0        n      n+|subA|

Unlike libbpf, a function may be called in any code section (libbpf only takes callees from
``.text``), so a program may call another program's function of its own section.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, replace
from functools import partial

from pybpf.asm.instruction import ByteOrder, Instruction, iter_decode
from pybpf.asm.opcodes import PseudoSrc
from pybpf.errors import DecodeError, Location
from pybpf.spec._lazy import Deferred
from pybpf.spec._programs import Function
from pybpf.spec._relocs import Call, Changes, Relocator

__all__ = ["Linked", "LinkedCode", "link", "materialize"]

_FUNC = int(PseudoSrc.FUNC)


@dataclass(frozen=True, slots=True)
class Linked:
    """A linked program: its functions, each with the slot it starts at, in order."""

    order: tuple[tuple[Function, int], ...]
    slots: int
    relocs: Relocator

    def image(self) -> bytes:
        """The linked code, before the edits."""
        return b"".join(func.data() for func, _ in self.order)

    def changes(self) -> dict[int, Changes]:
        """The instruction edits by slot: relocations, and calls aimed at their callee."""
        pos = {id(func): base for func, base in self.order}
        changes: dict[int, Changes] = {}
        for func, base in self.order:
            found = self.relocs.of(func)
            for slot, edit in found.fields.items():
                changes[base + slot] = edit
            for slot, target, delta, lddw in found.calls:
                site = base + slot
                rel = pos[id(target)] + delta - (site + 1)
                changes[site] = {"src": _FUNC, "imm": rel} if lddw else {"imm": rel}
        return changes

    def instructions(self, byteorder: ByteOrder, source: str) -> list[Instruction]:
        """The linked program's instructions (see :func:`materialize`)."""
        return materialize(self.image(), byteorder, self.changes(), source)


_LDDW = 0x18  # BPF_LD | BPF_IMM | BPF_DW: the one instruction of two slots


class LinkedCode(Deferred[list[Instruction]]):
    """The recipe of a linked program's instructions (``ProgramSpec.instructions`` of a
    parsed object), which can also decode a single slot.

    CO-RE relocation patches a few instructions of a program; reading them through
    :meth:`at` spares decoding the whole program, and the relocated program's instructions
    stay a recipe too (see :mod:`pybpf.spec.core.relocate`).
    """

    __slots__ = ("_byteorder", "_changes", "_image", "_linked", "_source")

    def __init__(self, linked: Linked, byteorder: ByteOrder, source: str) -> None:
        super().__init__(partial(linked.instructions, byteorder, source), count=linked.slots)
        self._linked, self._byteorder, self._source = linked, byteorder, source
        self._image: bytes | None = None
        self._changes: dict[int, Changes] | None = None

    def _code(self) -> tuple[bytes, dict[int, Changes]]:
        if self._image is None or self._changes is None:
            self._image, self._changes = self._linked.image(), self._linked.changes()
        return self._image, self._changes

    def wide_slots(self) -> list[int]:
        """The slots where an ``lddw`` starts, ascending (the next slot is its second half)."""
        opcodes = self._code()[0][0::8]  # the first byte of every slot, at C speed
        found: list[int] = []
        at = opcodes.find(_LDDW)
        while at >= 0:
            found.append(at)
            at = opcodes.find(_LDDW, at + 2)
        return found

    def at(self, slot: int) -> Instruction:
        """The instruction starting at ``slot`` (the first slot of an instruction of the
        program: the caller checks it), as the whole recipe would give it.

        Raises:
            DecodeError: as the recipe would (a broken ``lddw``, an edit aimed inside one).
        """
        image, changes = self._code()
        start = slot * 8
        end = start + (16 if image[start] == _LDDW else 8)
        if end > len(image) or (end - start == 16 and image[start + 8 : end - 4].count(0) != 4):
            self()  # a broken lddw: decoding the whole program raises where it is
        _, insn = next(iter_decode(image[start:end], self._byteorder, strict=False))
        edit = changes.get(slot)
        return insn if edit is None else replace(insn, **edit)  # type: ignore[arg-type]


def link(entry: Function, relocs: Relocator, exception_cb: Function | None = None) -> Linked:
    """Lay out ``entry`` and every function it reaches, in libbpf's order; then the
    program's exception callback (and what it reaches), unless already there."""
    order = [(entry, 0)]
    seen = {id(entry)}
    total = _walk(entry, relocs, order, seen, entry.count)
    if exception_cb is not None and id(exception_cb) not in seen:
        seen.add(id(exception_cb))
        order.append((exception_cb, total))
        total = _walk(exception_cb, relocs, order, seen, total + exception_cb.count)
    return Linked(tuple(order), total, relocs)


def _walk(
    start: Function,
    relocs: Relocator,
    order: list[tuple[Function, int]],
    seen: set[int],
    total: int,
) -> int:
    """Append what ``start`` reaches, depth first in instruction order (libbpf's
    recursion, on a stack of its own); returns the new length."""
    of = relocs.of
    calls = of(start).calls
    if not calls:
        return total
    stack: list[Iterator[Call]] = [iter(calls)]
    while stack:
        for _, target, _, _ in stack[-1]:
            if id(target) not in seen:
                seen.add(id(target))
                order.append((target, total))
                total += target.count
                stack.append(iter(of(target).calls))
                break
        else:
            stack.pop()
    return total


def materialize(
    image: bytes, byteorder: ByteOrder, changes: dict[int, Changes], source: str
) -> list[Instruction]:
    """Decode a linked image and apply the edits (the recipe of ``ProgramSpec.instructions``).

    Instructions are decoded leniently (unknown forms are kept, as libbpf passes them on to
    the kernel); only an ``lddw`` cut in half is refused.

    Raises:
        DecodeError: a truncated ``lddw``, or an edit aimed inside one.
    """
    out: list[Instruction] = []
    applied = 0
    for pc, decoded in iter_decode(image, byteorder, strict=False, source=source):
        edit = changes.get(pc)
        if edit is not None:
            out.append(replace(decoded, **edit))  # type: ignore[arg-type]
            applied += 1
        else:
            out.append(decoded)
    if applied != len(changes):
        starts = set()
        pc = 0
        for insn in out:
            starts.add(pc)
            pc += insn.slots
        bad = min(slot for slot in changes if slot not in starts)
        raise DecodeError(
            "a relocation applies to the second slot of an lddw",
            Location(source, offset=bad * 8, insn=bad),
        )
    return out
