"""Template → text: the instruction printer behind :func:`pybpf.asm.disasm.format_instruction`.

Each table row's template is compiled once per (syntax, style, alu32) into a ``%``-format
string and a tuple of small field getters, on first use; printing an instruction is then one
dict lookup and one string format.

Number spellings:

========  ==========================  =====================================================
syntax    immediates                  memory offsets / jump targets
========  ==========================  =====================================================
llvm      signed hex (``-0x4``)       ``(r1 - 0x8)`` / ``+0x3`` (llvm-objdump-19)
ubpf      decimal in [-10, 10] and    ``[%r1-8]`` / ``+3`` (bpf_conformance's disassembler)
          negatives, else hex
========  ==========================  =====================================================
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

from pybpf.asm._template import Slot, Syntax, split
from pybpf.asm.helpers import HELPER_NAMES
from pybpf.asm.instruction import Instruction
from pybpf.asm.opcodes import OPS_BY_CODE, AtomicOp, Class, Kind, Op, lookup

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (PEP 781's idiom)
if TYPE_CHECKING:
    from typing import Literal

    Style = Literal["pybpf", "objdump"]
else:
    Style = str  # (a Literal of str for type checkers)

__all__ = ["UNKNOWN", "Annotate", "Printer", "Style", "op_of", "printer"]

Annotate = Callable[[int], "str | None"]
Labels = Mapping[int, str]
_Getter = Callable[[Instruction, "int | None", "Labels | None"], str]

UNKNOWN = "<unknown>"
"""What llvm-objdump prints for bytes it cannot decode; we print the same."""


# -- row lookup ---------------------------------------------------------------------------------


def op_of(insn: Instruction) -> Op | None:
    """The table row of ``insn`` (the same as ``insn.op``)."""
    return lookup(insn.opcode, insn.src, insn.off, insn.imm)


# -- numbers -----------------------------------------------------------------------------------


def _shex(v: int) -> str:
    return f"-{-v:#x}" if v < 0 else f"{v:#x}"


def _ubpf_num(v: int) -> str:
    """bpf_conformance's ``_format_imm``: small and negative numbers in decimal, else hex."""
    if -10 <= v <= 10 or (v < 0 and v != -(1 << 31)):
        return str(v)
    return f"{v & 0xFFFFFFFF:#x}"


def _s64(v: int) -> int:
    return v - (1 << 64) if v & (1 << 63) else v


# -- getters -----------------------------------------------------------------------------------


def _reg(field: str, prefix: str) -> _Getter:
    if field == "dst":
        return lambda i, pc, lb: f"{prefix}{i.dst}"
    return lambda i, pc, lb: f"{prefix}{i.src}"


def _target(op: Op, syntax: Syntax, pc_form: bool) -> _Getter:
    use_imm = op.target_field == "imm"
    pcp = "pc" if pc_form else ""

    def get(i: Instruction, pc: int | None, labels: Labels | None) -> str:
        if i.ref is not None:  # a label the builder has not resolved yet
            return i.ref
        rel = i.imm if use_imm else i.off
        if labels is not None and pc is not None:
            name = labels.get(pc + 1 + rel)
            if name is not None:
                return name
        if syntax == "ubpf":
            return f"{pcp}{rel:+d}"
        return f"{pcp}-{-rel:#x}" if rel < 0 else f"{pcp}+{rel:#x}"

    return get


def _helper(syntax: Syntax, style: Style) -> _Getter:
    if syntax == "ubpf":
        return lambda i, pc, lb: _ubpf_num(i.imm)
    if style == "objdump":
        return lambda i, pc, lb: _shex(i.imm)

    def get(i: Instruction, pc: int | None, labels: Labels | None) -> str:
        name = HELPER_NAMES.get(i.imm) if i.imm > 0 else None
        return name if name is not None else _shex(i.imm)

    return get


def _number(name: str, syntax: Syntax) -> _Getter:
    num = _ubpf_num if syntax == "ubpf" else _shex
    getters: dict[str, _Getter] = {
        "imm": lambda i, pc, lb: num(i.imm),
        "imm_hi": lambda i, pc, lb: num(i.imm_hi),
        "uimm": lambda i, pc, lb: str(i.imm & 0xFFFFFFFF),
        "uimm_hi": lambda i, pc, lb: str(i.imm_hi & 0xFFFFFFFF),
        "ximm": lambda i, pc, lb: f"{i.imm & 0xFFFFFFFF:#x}",
        "as_dst": lambda i, pc, lb: num((i.imm >> 16) & 0xFFFF),
        "as_src": lambda i, pc, lb: num(i.imm & 0xFFFF),
    }
    if syntax == "ubpf":
        getters["off"] = lambda i, pc, lb: str(i.off)
        getters["imm64"] = lambda i, pc, lb: f"{i.imm64:#x}"
        getters["moff"] = lambda i, pc, lb: f"{i.off:+d}" if i.off else ""
        getters["xoff"] = lambda i, pc, lb: f", {i.off}" if i.off else ""
    else:
        getters["off"] = lambda i, pc, lb: _shex(i.off)
        getters["imm64"] = lambda i, pc, lb: _shex(_s64(i.imm64))
        getters["moff"] = lambda i, pc, lb: f"- {-i.off:#x}" if i.off < 0 else f"+ {i.off:#x}"
        getters["xoff"] = lambda i, pc, lb: f", {_shex(i.off)}" if i.off else ""
    return getters[name]


def _getter(slot: Slot, op: Op, syntax: Syntax, style: Style, alu32: bool) -> _Getter:
    name = slot.name
    if name == "target":
        return _target(op, syntax, slot.pc)
    if name == "helper":
        return _helper(syntax, style)
    if name in ("dst", "src", "dst64", "src64", "dstv", "srcv"):
        field = name[:3]
        if syntax == "ubpf":
            return _reg(field, "%r")
        if name.endswith("v"):
            return _reg(field, "w" if alu32 else "r")
        narrow = not name.endswith("64") and op.cls in (Class.ALU, Class.JMP32)
        return _reg(field, "w" if narrow else "r")
    if name == "r0v":
        r0 = "%r0" if syntax == "ubpf" else "w0" if alu32 else "r0"
        return lambda i, pc, lb: r0
    return _number(name, syntax)


# -- compiled templates ------------------------------------------------------------------------


class _Compiled:
    """A template ready to print: ``fmt % (getter(insn), ...)``.

    ``pc_free``: the text depends on the instruction's fields only, not on where it is
    (no jump target, hence no label or annotation), so a listing may reuse it for every
    instruction with the same bytes.
    """

    __slots__ = ("fmt", "getters", "jump", "pc_free")

    def __init__(self, template: str, op: Op, syntax: Syntax, style: Style, alu32: bool) -> None:
        self.jump = op.target_field if op.is_jump and template != UNKNOWN else None
        fmt: list[str] = []
        getters: list[_Getter] = []
        targets = False
        for part in split(template):
            if isinstance(part, str):
                fmt.append(part.replace("%", "%%"))
            else:
                fmt.append("%s")
                getters.append(_getter(part, op, syntax, style, alu32))
                targets = targets or part.name == "target"
        self.fmt = "".join(fmt)
        self.getters = tuple(getters)
        self.pc_free = not targets and self.jump is None

    def __call__(self, insn: Instruction, pc: int | None, labels: Labels | None) -> str:
        if not self.getters:
            return self.fmt
        return self.fmt % tuple([g(insn, pc, labels) for g in self.getters])


def _template_of(op: Op, syntax: Syntax, style: Style) -> str:
    if syntax == "ubpf":
        return op.ubpf
    if style == "objdump" and op.objdump is not None:
        return op.objdump
    return op.llvm


# -- what llvm-objdump-19 decodes --------------------------------------------------------------
#
# LLVM's decoder matches fewer bits than the kernel checks: it ignores most reserved fields
# (not the imm of exit, nor the off of lddw), decodes a call or may_goto whatever its src,
# and reads an atomic's operation from the low byte of imm only. Measured over every row with
# each reserved field set (the golden listings in tests/testdata/asm/ keep the evidence).

_ATOMIC_FETCH = {
    int(a)
    for a in (
        AtomicOp.FETCH_ADD,
        AtomicOp.FETCH_OR,
        AtomicOp.FETCH_AND,
        AtomicOp.FETCH_XOR,
        AtomicOp.XCHG,
        AtomicOp.CMPXCHG,
    )
}
_ATOMIC_PLAIN = {int(a) for a in (AtomicOp.ADD, AtomicOp.OR, AtomicOp.AND, AtomicOp.XOR)}


def _llvm19_atomic(insn: Instruction, alu32: bool) -> Op | None:
    """The row LLVM 19 decodes a 32/64-bit atomic as (None: ``<unknown>``).

    Without alu32 the only 32-bit atomic it knows is XADDW (``lock ... +=``), which also
    swallows the fetch bit.
    """
    v = insn.imm & 0xFF
    wide = insn.opcode == 0xDB or alu32
    if not (wide and v in _ATOMIC_FETCH):
        v &= 0xF0
        if v not in _ATOMIC_PLAIN or (not wide and v != AtomicOp.ADD):
            return None
    return lookup(insn.opcode, insn.src, insn.off, v)


def _objdump_row(insn: Instruction, op: Op | None, alu32: bool) -> Op | None:
    """The row whose objdump text llvm-objdump-19 prints for ``insn`` (None: unknown)."""
    code = insn.opcode
    if code in (0xC3, 0xDB):
        return _llvm19_atomic(insn, alu32)
    if op is None:
        return _LOOSE.get(code)
    if (op.kind is Kind.EXIT and insn.imm) or (op.kind is Kind.LDDW and insn.off):
        return None
    return op


_LOOSE = {
    0x85: next(op for op in OPS_BY_CODE[0x85] if op.key == ("src", 1)),  # ``call {imm}``
    0xE5: OPS_BY_CODE[0xE5][0],  # may_goto, whatever src
}


class Printer:
    """Prints instructions in one syntax, style and alu32 mode.

    The compiled template of each row is made on first use and kept, so printing is a row
    lookup (:func:`op_of`), a dict lookup and a string format.
    """

    __slots__ = ("alu32", "objdump", "style", "syntax", "table")

    def __init__(self, syntax: Syntax, style: Style, alu32: bool) -> None:
        self.syntax = syntax
        self.style = style
        self.alu32 = alu32
        self.objdump = style == "objdump" and syntax == "llvm"
        self.table: dict[str, _Compiled] = {}

    def _compile(self, op: Op) -> _Compiled:
        text = _template_of(op, self.syntax, self.style)
        done = self.table[op.name] = _Compiled(text, op, self.syntax, self.style, self.alu32)
        return done

    def __call__(
        self,
        insn: Instruction,
        pc: int | None = None,
        labels: Labels | None = None,
        annotate: Annotate | None = None,
    ) -> str:
        return self.render(insn, pc, labels, annotate)[0]

    def render(
        self,
        insn: Instruction,
        pc: int | None = None,
        labels: Labels | None = None,
        annotate: Annotate | None = None,
    ) -> tuple[str, bool]:
        """The text, and whether it holds for the same fields anywhere (see ``pc_free``)."""
        op = lookup(insn.opcode, insn.src, insn.off, insn.imm)
        if self.objdump:
            if op is None and insn.opcode == 0x18:  # lddw with an src no row has
                return f"ld_pseudo\tr{insn.dst}, {insn.src:#x}, {insn.imm & 0xFFFFFFFF:#x}", True
            op = _objdump_row(insn, op, self.alu32)
        if op is None:
            return UNKNOWN, True
        compiled = self.table.get(op.name) or self._compile(op)
        text = compiled(insn, pc, labels)
        if insn.ref is not None and op.target_field is None:
            text = f"{text}  # {insn.ref}"  # a map or kernel symbol the loader fills in
        if annotate is not None and pc is not None and compiled.jump is not None:
            note = annotate(pc + 1 + (insn.imm if compiled.jump == "imm" else insn.off))
            if note is not None:
                text = f"{text} <{note}>"
        return text, compiled.pc_free and insn.ref is None


_PRINTERS: dict[tuple[str, str, bool], Printer] = {}


def printer(syntax: Syntax, style: Style, alu32: bool) -> Printer:
    """The (shared) :class:`Printer` of these options."""
    key = (syntax, style, alu32)
    found = _PRINTERS.get(key)
    if found is None:
        found = _PRINTERS[key] = Printer(syntax, style, alu32)
    return found
