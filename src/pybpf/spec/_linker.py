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

import struct
from collections.abc import Iterator
from functools import partial

from pybpf._records import immutable, replace
from pybpf._util import s32
from pybpf.asm.instruction import ByteOrder, Instruction, iter_decode
from pybpf.asm.opcodes import PseudoSrc
from pybpf.errors import DecodeError, Location
from pybpf.spec._lazy import Deferred
from pybpf.spec._programs import Function
from pybpf.spec._relocs import Call, Changes, Relocator

__all__ = ["Image", "Linked", "LinkedCode", "link", "materialize"]

_FUNC = int(PseudoSrc.FUNC)


@immutable
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

Image = tuple[bytearray, dict[int, str]]
"""A program's code as bytes, and the symbolic references (``Instruction.ref``: map,
global-data section or extern names) of the instructions at their slots."""


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

    @property
    def byteorder(self) -> ByteOrder:
        return self._byteorder

    def image(self) -> Image | None:
        """The program's bytes, edits applied (what encoding :meth:`__call__`'s
        instructions gives, ``ref`` left out), and its references by slot, without decoding
        the program; ``None`` where decoding would raise (a broken ``lddw``, an edit aimed
        inside one): decode it to have the error.

        The loader builds the code it hands the kernel from this (see
        :func:`pybpf.objects._load.load`).
        """
        image, changes = self._code()
        wide = self.wide_slots()
        if not _intact(image, wide, changes):
            return None
        return _edited(image, changes, self._byteorder)

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
        return insn if edit is None else replace(insn, **edit)


_FIELDS = {"little": struct.Struct("<BBhi"), "big": struct.Struct(">BBhi")}


def _intact(image: bytes, wide: list[int], changes: dict[int, Changes]) -> bool:
    """Whether :func:`materialize` would decode ``image`` and apply ``changes`` without
    an error: whole slots, every ``lddw`` complete, no edit in an ``lddw``'s second slot."""
    if len(image) % 8:
        return False
    second = {slot + 1 for slot in wide}
    for slot in wide:
        at = slot * 8 + 8
        if at + 8 > len(image) or image[at : at + 4] != b"\0\0\0\0":
            return False
    return not second.intersection(changes)


def _edited(image: bytes, changes: dict[int, Changes], byteorder: ByteOrder) -> Image | None:
    """``image`` with ``changes`` applied slot by slot, as ``Instruction`` fields; ``None``
    when a value does not fit its field (encoding the instructions raises the error)."""
    out = bytearray(image)
    refs: dict[int, str] = {}
    fields = _FIELDS[byteorder]
    little = byteorder == "little"
    try:
        for slot, edit in changes.items():
            at = slot * 8
            code, regs, off, imm = fields.unpack_from(out, at)
            dst, src = (regs & 0xF, regs >> 4) if little else (regs >> 4, regs & 0xF)
            dst, src = int(edit.get("dst", dst) or 0), int(edit.get("src", src) or 0)
            off, imm = int(edit.get("off", off) or 0), int(edit.get("imm", imm) or 0)
            if not (0 <= dst <= 15 and 0 <= src <= 15 and -(1 << 31) <= imm < (1 << 32)):
                return None
            off, imm = off - (1 << 16) if off >= (1 << 15) else off, s32(imm)
            regs = (src << 4 | dst) if little else (dst << 4 | src)
            fields.pack_into(out, at, code, regs, off, imm)
            if "imm_hi" in edit and code == _LDDW:
                fields.pack_into(out, at + 8, 0, 0, 0, s32(int(edit["imm_hi"] or 0)))
            ref = edit.get("ref")
            if isinstance(ref, str):
                refs[slot] = ref
    except struct.error:
        return None
    return out, refs


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
            out.append(replace(decoded, **edit))
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
