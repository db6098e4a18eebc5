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
from dataclasses import dataclass

from pybpf.asm._render import Annotate, Style, op_of, printer
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


@dataclass(frozen=True, slots=True)
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


_Item = tuple[int, Instruction, bytes, "int | None"]  # pc, insn, raw bytes, jump target
_TARGET_FIELD = {op.name: op.target_field for op in OPS}


def _target(insn: Instruction, pc: int) -> int | None:
    op = op_of(insn)
    field = _TARGET_FIELD.get(op.name) if op is not None else None
    if field is None:
        return None
    return pc + 1 + (insn.imm if field == "imm" else insn.off)


def _items(data: Program, byteorder: ByteOrder, strict: bool, source: str | None) -> list[_Item]:
    if isinstance(data, (bytes, bytearray, memoryview)):
        mv = memoryview(data).cast("B")
        return [
            (pc, insn, bytes(mv[pc * 8 : (pc + insn.slots) * 8]), _target(insn, pc))
            for pc, insn in iter_decode(mv, byteorder, strict=strict, source=source)
        ]
    out: list[_Item] = []
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
        out.append((pc, insn, raw, _target(insn, pc)))
        pc += insn.slots
    return out


def _check_targets(items: list[_Item], source: str | None) -> None:
    starts = {item[0] for item in items}
    total = items[-1][0] + items[-1][1].slots if items else 0
    for pc, _, _, t in items:
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
    _check_options(syntax, style)
    items = _items(data, byteorder, strict, source)
    if strict:
        _check_targets(items, source)
    names: Mapping[int, str] | None = None
    if labels is True:
        starts = {item[0] for item in items}
        names = _auto_labels((t for *_, t in items if t is not None and t in starts), syntax)
    elif labels is not False:
        names = labels
    show = printer(syntax, style, alu32)
    for pc, insn, raw, target in items:
        text = show(insn, pc, names, target_annotation)
        label = names.get(pc) if names is not None else None
        yield DisassembledInstruction(pc, pc * 8, raw, insn, text, target, label)


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
    recs = list(
        get_instructions(
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
    )
    indent = "    " if any(rec.label is not None for rec in recs) else ""
    lines: list[str] = []
    for rec in recs:
        if rec.label is not None:
            lines.append(f"{rec.label}:\n")
        lines.append(f"{rec.pc:>5}: {rec.text}\n" if show_pc else f"{indent}{rec.text}\n")
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
    if not items:
        raise DecodeError("the program is empty", Location(source, offset=0, insn=0))
    pc, last, _, _ = items[-1]
    op = op_of(last)
    if op is None or op.kind not in (Kind.EXIT, Kind.JA, Kind.GOTOX):
        where = Location(source, offset=pc * 8, insn=pc)
        raise DecodeError(
            "the program runs off its end: the last instruction is not "
            "exit or an unconditional jump",
            where,
        )
