"""The disassembler, shaped like CPython's :mod:`dis`.

:func:`get_instructions` is a generator of :class:`DisassembledInstruction` records (slot
index, byte offset, raw bytes, the :class:`~pybpf.asm.instruction.Instruction`, its text,
its jump target and label); :func:`format_instruction` prints one instruction;
:func:`disassemble` prints a listing that :func:`pybpf.asm.assembler.assemble` reads back;
:func:`check_program` checks the control flow of a whole program.

Syntaxes and styles:

``syntax="llvm", style="pybpf"`` (default)
    llvm-objdump's text, except where llvm-objdump loses information: helper calls by name
    (``call bpf_map_lookup_elem``), local calls ``call pc+0x5``, kfuncs
    ``call kfunc(0x1234, 0x0)``, ``r1 = map[fd:5] ll``, ``r0 = *(u32 *)skb[r1 + 0x4]``.
    Lossless: assembling the text gives the same instruction back.
``syntax="llvm", style="objdump"``
    exactly what ``llvm-objdump-19 -d`` prints (``--mattr=+alu32`` when ``alu32=True``),
    ``<unknown>`` included.
``syntax="ubpf"``
    what bpf_conformance's disassembler prints (``mov %r0, 0x1``, ``ldxw %r0, [%r1+4]``).

``alu32=True`` writes the value register of 8/16/32-bit loads, stores and atomics as
``w1`` (LLVM's alu32 mode); it changes nothing in uBPF syntax.

Example::

    >>> from pybpf.asm.disasm import disassemble
    >>> print(disassemble(bytes.fromhex("b700000001000000" "9500000000000000")), end="")
    r0 = 0x1
    exit
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping

from pybpf._records import immutable
from pybpf.asm._render import Annotate, Printer, Style, op_of, printer
from pybpf.asm._template import Syntax
from pybpf.asm.instruction import ByteOrder, Instruction, encode, iter_decode
from pybpf.asm.opcodes import OPS, Kind
from pybpf.errors import DecodeError, Location

__all__ = [
    "DisassembledInstruction",
    "check_program",
    "disassemble",
    "format_instruction",
    "get_instructions",
]

Program = bytes | bytearray | memoryview | Iterable[Instruction]
LabelOption = bool | Mapping[int, str]

_SYNTAXES = ("llvm", "ubpf")
_STYLES = ("pybpf", "objdump")


@immutable
class DisassembledInstruction:
    """One instruction of a listing, with its raw and resolved views.

    ``pc`` is the slot index (the unit of jump offsets), ``offset`` the byte offset, ``raw``
    the 8 or 16 bytes; ``target`` the slot a jump or call goes to (None for other
    instructions); ``label`` the label of this instruction when something jumps here and
    labels were asked for.
    """

    pc: int
    offset: int
    raw: bytes
    insn: Instruction
    text: str
    target: int | None
    label: str | None


def _check_options(syntax: str, style: str) -> None:
    if syntax not in _SYNTAXES:
        raise ValueError(f"unknown syntax {syntax!r} (expected 'llvm' or 'ubpf')")
    if style not in _STYLES:
        raise ValueError(f"unknown style {style!r} (expected 'pybpf' or 'objdump')")


def format_instruction(
    insn: Instruction,
    *,
    syntax: Syntax = "llvm",
    style: Style = "pybpf",
    alu32: bool = False,
    pc: int | None = None,
    labels: Mapping[int, str] | None = None,
    target_annotation: Annotate | None = None,
) -> str:
    """The text of one instruction (``<unknown>`` when its fields match no table row).

    Args:
        syntax, style, alu32: see the module docstring.
        pc: the instruction's slot index; needed to print labels and annotations.
        labels: slot index → label name; jump targets with a label print as the label.
        target_annotation: called with the target slot of a jump (``goto``, ``gotol``,
            ``may_goto``, conditional jumps); a string it returns is appended as
            `` <...>``, the way llvm-objdump appends `` <.text+0x50>``.
    """
    _check_options(syntax, style)
    return printer(syntax, style, alu32)(insn, pc, labels, target_annotation)


_TARGET_FIELD = {op.name: op.target_field for op in OPS}
# the opcodes of which some form has a pc-relative target (jumps, calls, lddw): the others
# need no row lookup to know they have none
_TARGET_CODES = frozenset(op.code for op in OPS if op.target_field is not None)


def _target(insn: Instruction, pc: int) -> int | None:
    if insn.opcode not in _TARGET_CODES:
        return None
    op = op_of(insn)
    field = _TARGET_FIELD.get(op.name) if op is not None else None
    if field is None:
        return None
    return pc + 1 + (insn.imm if field == "imm" else insn.off)


class _Items:
    """A decoded program as columns: slot index, instruction, raw bytes and jump target of
    each instruction (columns rather than a tuple per instruction: a listing of 100,000
    instructions would otherwise hand the garbage collector 100,000 more objects to scan).
    """

    __slots__ = ("insns", "pcs", "raws", "targets")

    def __init__(self) -> None:
        self.pcs: list[int] = []
        self.insns: list[Instruction] = []
        self.raws: list[bytes] = []
        self.targets: list[int | None] = []

    def add(self, pc: int, insn: Instruction, raw: bytes) -> None:
        self.pcs.append(pc)
        self.insns.append(insn)
        self.raws.append(raw)
        self.targets.append(_target(insn, pc))

    def total(self) -> int:
        """The number of slots."""
        return self.pcs[-1] + self.insns[-1].slots if self.pcs else 0


def _items(data: Program, byteorder: ByteOrder, strict: bool, source: str | None) -> _Items:
    out = _Items()
    if isinstance(data, (bytes, bytearray, memoryview)):
        whole = memoryview(data).cast("B").tobytes()
        pcs, insns, raws, targets = out.pcs, out.insns, out.raws, out.targets
        for pc, insn in iter_decode(whole, byteorder, strict=strict, source=source):
            at = pc * 8
            pcs.append(pc)  # out.add(), inlined: this loop runs once per instruction
            insns.append(insn)
            raws.append(whole[at : at + 16 if insn.opcode == _LDDW else at + 8])
            targets.append(_target(insn, pc) if insn.opcode in _TARGET_CODES else None)
        return out
    pc = 0
    for insn in data:
        where = Location(source, offset=pc * 8, insn=pc)
        if strict:
            try:
                insn.check()
            except DecodeError as exc:
                raise DecodeError(exc.reason, where) from None
        try:
            raw = encode([insn], byteorder)
        except ValueError as exc:
            raise DecodeError(str(exc).removeprefix("insn 0: "), where) from None
        out.add(pc, insn, raw)
        pc += insn.slots
    return out


_LDDW = 0x18


def _check_targets(items: _Items, source: str | None) -> None:
    starts = set(items.pcs)
    total = items.total()
    for pc, t in zip(items.pcs, items.targets, strict=True):
        if t is None or t in starts:
            continue
        where = Location(source, offset=pc * 8, insn=pc)
        if 0 <= t < total:
            raise DecodeError(f"jump to slot {t}, the second slot of the lddw at {t - 1}", where)
        raise DecodeError(f"jump to slot {t}, out of the program (slots 0-{total - 1})", where)


def _auto_labels(targets: Iterable[int], syntax: Syntax) -> dict[int, str]:
    fmt = "LBB0_{}" if syntax == "llvm" else "L{}"
    return {t: fmt.format(n) for n, t in enumerate(sorted(set(targets)), 1)}


def get_instructions(
    data: Program,
    *,
    byteorder: ByteOrder = "little",
    syntax: Syntax = "llvm",
    style: Style = "pybpf",
    alu32: bool = False,
    labels: LabelOption = False,
    strict: bool = True,
    target_annotation: Annotate | None = None,
    source: str | None = None,
) -> Iterator[DisassembledInstruction]:
    """Decode and print a program, one record per instruction.

    Args:
        data: instruction bytes, or instructions.
        labels: ``True`` names every jump target (``LBB0_1`` in LLVM syntax, ``L1`` in
            uBPF syntax) and prints jumps to it by name; a mapping slot → name uses those
            names; ``False`` prints relative offsets.
        strict: refuse bad instructions (unknown opcode, reserved field set, register
            above r10) and jumps out of the program or into the second slot of an
            ``lddw``. Without it every 8 bytes print (``<unknown>`` if need be) and a bad
            jump prints as an offset.

    Raises:
        DecodeError: truncated input, or (with ``strict``) a bad instruction or jump; with
            the byte offset and slot index.
    """
    _, _, records = _records(
        data,
        byteorder=byteorder,
        syntax=syntax,
        style=style,
        alu32=alu32,
        labels=labels,
        strict=strict,
        target_annotation=target_annotation,
        source=source,
    )
    for pc, insn, raw, text, target, label in records:
        yield DisassembledInstruction(pc, pc * 8, raw, insn, text, target, label)


_Record = tuple[int, Instruction, bytes, str, "int | None", "str | None"]


def _records(
    data: Program,
    *,
    byteorder: ByteOrder,
    syntax: Syntax,
    style: Style,
    alu32: bool,
    labels: LabelOption,
    strict: bool,
    target_annotation: Annotate | None,
    source: str | None,
) -> tuple[_Items, Mapping[int, str] | None, Iterator[_Record]]:
    """The decoded program, its labels, and :func:`get_instructions` as plain tuples
    (``pc, insn, raw, text, target, label``)."""
    _check_options(syntax, style)
    items = _items(data, byteorder, strict, source)
    if strict:
        _check_targets(items, source)
    names: Mapping[int, str] | None = None
    if labels is True:
        starts = set(items.pcs)
        names = _auto_labels((t for t in items.targets if t is not None and t in starts), syntax)
    elif labels is not False:
        names = labels
    return items, names, _texts(items, names, printer(syntax, style, alu32), target_annotation)


def _texts(
    items: _Items, names: Mapping[int, str] | None, show: Printer, annotate: Annotate | None
) -> Iterator[_Record]:
    render = show.render
    # Programs repeat instructions: the text of one that is not a jump (so the same
    # wherever it is) is kept by its bytes and reused.
    texts: dict[bytes, str] = {}
    columns = zip(items.pcs, items.insns, items.raws, items.targets, strict=True)
    for pc, insn, raw, target in columns:
        text = texts.get(raw)
        if text is None:
            text, pc_free = render(insn, pc, names, annotate)
            if pc_free:
                texts[raw] = text
        label = names.get(pc) if names is not None else None
        yield pc, insn, raw, text, target, label


def disassemble(
    data: Program,
    *,
    byteorder: ByteOrder = "little",
    syntax: Syntax = "llvm",
    style: Style = "pybpf",
    alu32: bool = False,
    labels: LabelOption = True,
    show_pc: bool = False,
    strict: bool = True,
    target_annotation: Annotate | None = None,
    source: str | None = None,
) -> str:
    """A listing of a program, one instruction per line.

    With ``labels`` (the default) jump targets get a ``name:`` line, and then instructions
    are indented by four spaces; ``show_pc`` starts each instruction line with its slot index
    (``  12: r0 = 0x1``, a form the assembler reads back). Options as in
    :func:`get_instructions`.
    """
    items, names, records = _records(
        data,
        byteorder=byteorder,
        syntax=syntax,
        style=style,
        alu32=alu32,
        labels=labels,
        strict=strict,
        target_annotation=target_annotation,
        source=source,
    )
    labelled = names is not None and any(pc in names for pc in items.pcs)
    indent = "    " if labelled else ""
    lines: list[str] = []
    for pc, _, _, text, _, label in records:
        if label is not None:
            lines.append(f"{label}:\n")
        lines.append(f"{pc:>5}: {text}\n" if show_pc else f"{indent}{text}\n")
    return "".join(lines)


def check_program(
    program: Program,
    *,
    byteorder: ByteOrder = "little",
    allow_fall_through: bool = False,
    source: str | None = None,
) -> None:
    """Check a whole program's instructions and control flow, as the kernel does at load.

    Every instruction must be valid; every jump, ``gotol``, local call and ``lddw`` of a
    function must land on an instruction of the program (not past its end, not on the
    second slot of an ``lddw``); and, unless ``allow_fall_through``, the program must not
    be empty nor run off its end (its last instruction is ``exit`` or an unconditional
    jump), as the verifier's "last insn is not an exit or jmp" check requires.

    Raises:
        DecodeError: the first problem, with its byte offset and slot index.
    """
    items = _items(program, byteorder, True, source)
    _check_targets(items, source)
    if allow_fall_through:
        return
    if not items.pcs:
        raise DecodeError("the program is empty", Location(source, offset=0, insn=0))
    pc, last = items.pcs[-1], items.insns[-1]
    op = op_of(last)
    if op is None or op.kind not in (Kind.EXIT, Kind.JA, Kind.GOTOX):
        where = Location(source, offset=pc * 8, insn=pc)
        raise DecodeError(
            "the program runs off its end: the last instruction is not "
            "exit or an unconditional jump",
            where,
        )
