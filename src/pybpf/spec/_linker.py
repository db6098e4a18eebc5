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

from pybpf.asm.instruction import ByteOrder, Instruction, iter_decode
from pybpf.asm.opcodes import PseudoSrc
from pybpf.errors import DecodeError, Location
from pybpf.spec._programs import Function
from pybpf.spec._relocs import Call, Changes, Relocator

__all__ = ["Linked", "link", "materialize"]

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
    stack: list[Iterator[Call]] = [iter(of(start).calls)]
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
