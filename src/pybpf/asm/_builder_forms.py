"""Constructors of single instruction forms, one per opcode-table row (private to the builder).

A :class:`Form` turns call arguments into an :class:`Instruction` of exactly one
:class:`~pybpf.asm.opcodes.Op` row: it sets the row's key field (``off=1`` for ``sdiv``,
``imm=16`` for ``be16``, ``src=1`` for a map-fd ``lddw`` ...) and fills the operand fields
from the arguments, checking that each value fits its field. Which arguments a row takes is
derived from the row's ``kind``, ``operands`` and ``key``; no opcode is listed here.

Arguments follow the instruction's field order ``dst, src, off, imm``; a jump target comes
last, as in the assembly text::

    ALU, ALU64      (dst, imm)            (dst, src)          dst op= imm / src
    NEG, END        (dst)                                     width of END from the row
    MOVSX           (dst, src)
    ADDR_SPACE_CAST (dst, src, dst_as, src_as)
    JMP, JMP32      (dst, imm, target)    (dst, src, target)  target: label or int offset
    JA, MAY_GOTO    (target)                                  JMP32.JA (gotol) uses imm
    CALL            (helper)  (func)  (func, module=0)  (dst) helper / local / kfunc / callx
    LD.IMM64        (dst, value)          64-bit value, signed or unsigned
    LD.IMM64.MAP_*  (dst, map[, off=0])   map: fd/index (int) or map name (ref)
    LD.ABS, LD.IND  (imm)                 (src, imm)
    LDX             (dst, src, off)       dst = *(size *)(src + off)
    ST              (dst, off, imm)       *(size *)(dst + off) = imm
    STX, ATOMIC     (dst, src, off)       *(size *)(dst + off) op= src
                                          (LOAD_ACQ: dst = load_acquire(src + off))
"""

from __future__ import annotations

import difflib
from collections.abc import Callable, Mapping

from pybpf._records import immutable, record
from pybpf._util import s32
from pybpf.asm.helpers import HELPER_IDS
from pybpf.asm.instruction import MAX_REG, Instruction
from pybpf.asm.opcodes import CallKind, Field, Kind, Op, PseudoSrc
from pybpf.errors import AssemblerError

__all__ = ["Choice", "Form", "Param", "check_reg", "form_for", "helper_id"]

S16 = (-(1 << 15), (1 << 15) - 1)
S32 = (-(1 << 31), (1 << 31) - 1)
U32 = (0, (1 << 32) - 1)
ANY32 = (-(1 << 31), (1 << 32) - 1)

# 32-bit operations take an imm spelled signed or unsigned (the same 32 bits); 64-bit ones
# sign-extend it, so 0x80000000..0xffffffff would silently mean a negative number there.
_UNSIGNED_IMM_KINDS = frozenset({Kind.ALU, Kind.MOV, Kind.JUMP, Kind.ST})


@record(slots=True)
class _Draft:
    """The fields of the instruction being built (mutable while the arguments are applied)."""

    dst: int = 0
    src: int = 0
    off: int = 0
    imm: int = 0
    imm_hi: int = 0
    ref: str | None = None


Fill = Callable[[_Draft, object, str], None]
"""Check one argument and store it in the draft; the ``str`` names it in error messages."""


@immutable
class Param:
    """One argument of a form: its name, how it is stored, its default (``None``: required)."""

    name: str
    fill: Fill
    default: int | None = None

    @property
    def spec(self) -> str:
        return self.name if self.default is None else f"{self.name}={self.default}"


# --- operand checks --------------------------------------------------------------------------


def _int(value: object, where: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise AssemblerError(f"{where}: expected an integer, got {value!r}")
    return int(value)


def _fit(value: object, bounds: tuple[int, int], where: str, hint: str = "") -> int:
    v = _int(value, where)
    lo, hi = bounds
    if not lo <= v <= hi:
        raise AssemblerError(f"{where}: {v} does not fit ({lo}..{hi}){hint}")
    return v


def check_reg(value: object, where: str) -> int:
    """``value`` as a register number 0..10, or raise :class:`AssemblerError`."""
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= MAX_REG:
        raise AssemblerError(f"{where}: {value!r} is not a register (R0..R{MAX_REG})")
    return int(value)


def _name(value: str, where: str, what: str) -> str:
    if not value:
        raise AssemblerError(f"{where}: empty {what} name")
    return value


def helper_id(value: object, where: str) -> int:
    """A helper id from an id or a name (``"bpf_map_lookup_elem"`` or ``"map_lookup_elem"``)."""
    if not isinstance(value, str):
        return _fit(value, (0, S32[1]), where)
    for name in (value, f"bpf_{value}"):
        if name in HELPER_IDS:
            return HELPER_IDS[name]
    close = difflib.get_close_matches(value, list(HELPER_IDS), n=3)
    hint = f"; did you mean {', '.join(close)}?" if close else ""
    raise AssemblerError(f"{where}: unknown helper {value!r}{hint}")


# --- fills: how an argument lands in the fields ------------------------------------------------


def _reg(field: str) -> Fill:
    def fill(d: _Draft, v: object, where: str) -> None:
        setattr(d, field, check_reg(v, where))

    return fill


def _num(field: str, bounds: tuple[int, int], hint: str = "") -> Fill:
    def fill(d: _Draft, v: object, where: str) -> None:
        setattr(d, field, s32(_fit(v, bounds, where, hint)))

    return fill


def _target(field: str) -> Fill:
    """A pc-relative target: a label (kept as ``ref``) or an offset in slots."""
    bounds = S16 if field == "off" else S32

    def fill(d: _Draft, v: object, where: str) -> None:
        if isinstance(v, str):
            d.ref = _name(v, where, "label")
        else:
            setattr(d, field, _fit(v, bounds, where))

    return fill


def _symbol(field: str, bounds: tuple[int, int], what: str) -> Fill:
    """A number, or a name the loader resolves later (kept as ``ref``)."""

    def fill(d: _Draft, v: object, where: str) -> None:
        if isinstance(v, str):
            d.ref = _name(v, where, what)
        else:
            setattr(d, field, s32(_fit(v, bounds, where)))

    return fill


def _helper(d: _Draft, v: object, where: str) -> None:
    d.imm = helper_id(v, where)


def _imm64(d: _Draft, v: object, where: str) -> None:
    value = _fit(v, (-(1 << 63), (1 << 64) - 1), where) & ((1 << 64) - 1)
    d.imm, d.imm_hi = s32(value), s32(value >> 32)


def _dst_as(d: _Draft, v: object, where: str) -> None:
    d.imm = s32((_fit(v, (0, 0xFFFF), where) << 16) | (d.imm & 0xFFFF))


def _src_as(d: _Draft, v: object, where: str) -> None:
    d.imm = s32((d.imm & 0xFFFF0000) | _fit(v, (0, 0xFFFF), where))


DST = Param("dst", _reg("dst"))
SRC = Param("src", _reg("src"))
OFF = Param("off", _num("off", S16))
TARGET = Param("target", _target("off"))


def _imm(op: Op) -> Param:
    """The ``imm`` operand; see ``_UNSIGNED_IMM_KINDS`` for its range."""
    if op.width <= 32 and op.kind in _UNSIGNED_IMM_KINDS:
        return Param("imm", _num("imm", ANY32))
    tail = "; use LD.IMM64 for a 64-bit constant" if op.kind is Kind.MOV else ""

    def fill(d: _Draft, v: object, where: str) -> None:
        value = _int(v, where)
        hint = tail
        if S32[1] < value <= U32[1]:
            hint = f"; imm is sign-extended to 64 bits, so these 32 bits mean {s32(value)}{tail}"
        d.imm = _fit(value, S32, where, hint)

    return Param("imm", fill)


# --- parameters of each kind of row ----------------------------------------------------------


def _alu(op: Op) -> tuple[Param, ...]:
    return (DST, _imm(op)) if Field.IMM in op.operands else (DST, SRC)


def _jump(op: Op) -> tuple[Param, ...]:
    return (DST, _imm(op), TARGET) if Field.IMM in op.operands else (DST, SRC, TARGET)


def _ja(op: Op) -> tuple[Param, ...]:
    return (Param("target", _target(op.target_field or "off")),)


def _call(op: Op) -> tuple[Param, ...]:
    kind = CallKind(op.key[1]) if op.key else CallKind.HELPER
    if kind is CallKind.LOCAL:
        return (Param("func", _target("imm")),)
    if kind is CallKind.KFUNC:
        return (
            Param("func", _symbol("imm", (0, S32[1]), "kernel function")),
            Param("module", _num("off", S16), default=0),
        )
    return (Param("helper", _helper),)


def _lddw(op: Op) -> tuple[Param, ...]:
    src = PseudoSrc(op.key[1]) if op.key else PseudoSrc.IMM64
    if src is PseudoSrc.IMM64:
        return (DST, Param("value", _imm64))
    if src is PseudoSrc.FUNC:
        return (DST, Param("func", _target("imm")))
    if src is PseudoSrc.BTF_ID:
        return (DST, Param("btf_id", _symbol("imm", (0, S32[1]), "kernel symbol")))
    mapref = Param("map", _symbol("imm", (0, S32[1]), "map"))
    if src in (PseudoSrc.MAP_VALUE, PseudoSrc.MAP_IDX_VALUE):
        return (DST, mapref, Param("off", _num("imm_hi", U32), default=0))
    return (DST, mapref)


_PARAMS: Mapping[Kind, Callable[[Op], tuple[Param, ...]]] = {
    Kind.ALU: _alu,
    Kind.MOV: _alu,
    Kind.MOVSX: lambda op: (DST, SRC),
    Kind.NEG: lambda op: (DST,),
    Kind.END: lambda op: (DST,),
    Kind.ADDR_SPACE_CAST: lambda op: (DST, SRC, Param("dst_as", _dst_as), Param("src_as", _src_as)),
    Kind.JUMP: _jump,
    Kind.JA: _ja,
    Kind.JCOND: _ja,
    Kind.GOTOX: lambda op: (DST,),
    Kind.CALL: _call,
    Kind.CALLX: lambda op: (DST,),
    Kind.EXIT: lambda op: (),
    Kind.LDDW: _lddw,
    Kind.LDABS: lambda op: (_imm(op),),
    Kind.LDIND: lambda op: (SRC, _imm(op)),
    Kind.LDX: lambda op: (DST, SRC, OFF),
    Kind.ST: lambda op: (DST, OFF, _imm(op)),
    Kind.STX: lambda op: (DST, SRC, OFF),
    Kind.ATOMIC: lambda op: (DST, SRC, OFF),
}


# --- forms -----------------------------------------------------------------------------------


def _bind(
    usage: str, params: tuple[Param, ...], args: tuple[object, ...], kwargs: dict[str, object]
) -> list[object]:
    """Match call arguments to parameters the way Python would, with messages that show usage.

    Raises:
        TypeError: too many or too few arguments, or an unknown or repeated keyword.
    """
    if len(args) > len(params):
        raise TypeError(f"{usage} takes {len(params)} arguments, {len(args)} given")
    given = {p.name for p in params[: len(args)]}
    for name in kwargs:
        if name in given or all(p.name != name for p in params):
            why = "given twice" if name in given else "unknown argument"
            raise TypeError(f"{usage}: {why} {name!r}")
    values = list(args)
    for p in params[len(args) :]:
        if p.name in kwargs:
            values.append(kwargs[p.name])
        elif p.default is not None:
            values.append(p.default)
        else:
            raise TypeError(f"{usage}: missing argument {p.name!r}")
    return values


@immutable
class Form:
    """The constructor of one table row: call it with the row's operands."""

    op: Op
    params: tuple[Param, ...]

    @property
    def usage(self) -> str:
        return f"{self.op.name}({', '.join(p.spec for p in self.params)})"

    def __call__(self, *args: object, **kwargs: object) -> Instruction:
        values = _bind(self.usage, self.params, args, kwargs)
        d = _Draft()
        if self.op.key is not None:
            setattr(d, self.op.key[0], int(self.op.key[1]))
        for p, v in zip(self.params, values, strict=True):
            p.fill(d, v, f"{self.op.name} {p.name}")
        return Instruction(self.op.code, d.dst, d.src, d.off, d.imm, d.imm_hi, d.ref)


def form_for(op: Op) -> Form:
    """The constructor of ``op``.

    Raises:
        LookupError: the builder does not know the row's kind (a table row added without
            teaching the builder its operands; the builder tests catch this).
    """
    shape = _PARAMS.get(op.kind)
    if shape is None:
        raise LookupError(f"pybpf.asm.builder has no operand shape for {op.name} ({op.kind})")
    return Form(op, shape(op))


@immutable
class Choice:
    """Rows that differ only in a bit width (``TO_BE16/32/64``): pick one by a ``bits`` argument.

    Called with the rows' arguments plus ``bits`` (last, or as a keyword).
    """

    name: str
    forms: Mapping[int, Form]

    @property
    def params(self) -> tuple[Param, ...]:
        return next(iter(self.forms.values())).params

    @property
    def usage(self) -> str:
        names = ", ".join([*(p.spec for p in self.params), "bits"])
        widths = "/".join(str(b) for b in sorted(self.forms))
        return f"{self.name}({names}) with bits {widths}"

    def __call__(self, *args: object, **kwargs: object) -> Instruction:
        rest = dict(kwargs)
        if "bits" in rest:
            bits = rest.pop("bits")
        elif len(args) == len(self.params) + 1:
            *lead, bits = args
            args = tuple(lead)
        else:
            raise TypeError(f"{self.usage}: missing argument 'bits'")
        form = self.forms.get(bits) if isinstance(bits, int) else None
        if form is None:
            raise AssemblerError(f"{self.usage}: bits {bits!r} is not one of them")
        return form(*args, **rest)
