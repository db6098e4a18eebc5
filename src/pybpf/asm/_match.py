"""The matchers templates are compiled to: one per literal token or placeholder.

A matcher reads the tokens of a line from an index, records the fields it parses in a
:class:`State` and returns the next index, or raises :class:`Miss` saying where and why the
template does not fit. See :mod:`pybpf.asm._parse` for how templates use them.
"""

from __future__ import annotations

from pybpf._records import field, immutable, record
from pybpf._util import s16, s32
from pybpf.asm._lex import Tok
from pybpf.asm._template import Slot, Syntax
from pybpf.asm.helpers import HELPER_IDS
from pybpf.asm.opcodes import Class, Op

__all__ = [
    "LabelRef",
    "Lit",
    "Matcher",
    "Miss",
    "Reg",
    "State",
    "XOff",
    "at",
    "show",
    "slot_matcher",
]


class Miss(Exception):
    """A template did not match at token ``index``.

    ``semantic``: the shape matched but a value is wrong (a number out of range, a register
    above r10); such a miss makes the best error message. ``shape``: the miss follows from
    the line's shape alone (token kinds and words, not numbers or register numbers), so
    every line of that shape misses the same way.
    """

    def __init__(self, index: int, reason: str, semantic: bool = False, shape: bool = True) -> None:
        super().__init__(reason)
        self.index = index
        self.reason = reason
        self.semantic = semantic
        self.shape = shape and not semantic


@immutable
class LabelRef:
    """A jump or call target written as a label, to be resolved by the assembler."""

    name: str
    col: int
    field: str  # "off" or "imm"
    bits: int


@record(slots=True)
class State:
    """What a template has parsed so far: raw field values and a label reference."""

    fields: dict[str, int] = field(default_factory=dict)
    label: LabelRef | None = None


def at(toks: list[Tok], i: int) -> Tok | None:
    """The token at ``i``, or None past the end of the line."""
    return toks[i] if i < len(toks) else None


def show(tok: Tok | None) -> str:
    """A token as an error message quotes it."""
    return "end of line" if tok is None else f"`{tok.text}`"


class Lit:
    """A literal token of the template (a word, an operator, a fixed number)."""

    __slots__ = ("expect", "message", "tok")

    def __init__(self, tok: Tok, message: str | None = None) -> None:
        self.tok = tok
        self.expect = tok.value if tok.kind == "num" else tok.text
        self.message = message

    def match(self, toks: list[Tok], i: int, st: State) -> int:
        t = at(toks, i)
        if (
            t is not None
            and (t.kind == "num") == (self.tok.kind == "num")
            and (t.value if t.kind == "num" else t.text) == self.expect
        ):
            return i + 1
        by_value = t is not None and t.kind in ("reg", "num") and t.kind == self.tok.kind
        reason = self.message or f"expected `{self.tok.text}`, found {show(t)}"
        raise Miss(i, reason, shape=not by_value)


class Reg:
    """A register placeholder; ``letters`` says which spellings fit, ``fixed`` pins r0."""

    __slots__ = ("field", "fixed", "letters")

    def __init__(self, field: str | None, letters: str, fixed: int | None = None) -> None:
        self.field = field
        self.letters = letters  # "r", "w", "rw" (llvm) or "%" (ubpf)
        self.fixed = fixed

    def _want(self) -> str:
        if self.letters == "%":
            return "a register (%r0-%r10)"
        n = "0" if self.fixed is not None else "N"
        return " or ".join(f"`{c}{n}`" for c in self.letters)

    def match(self, toks: list[Tok], i: int, st: State) -> int:
        t = at(toks, i)
        if t is None or not (
            (t.kind == "ureg")
            if self.letters == "%"
            else (t.kind == "reg" and t.key in self.letters)
        ):
            raise Miss(i, f"expected {self._want()}, found {show(t)}")
        if not 0 <= t.value <= 10:
            raise Miss(i, f"register `{t.text}` does not exist (r0-r10)", True)
        if self.fixed is not None and t.value != self.fixed:
            raise Miss(i, f"expected {self._want()}, found {show(t)}", shape=False)
        if self.field is not None:
            prev = st.fields.get(self.field)
            if prev is not None and prev != t.value:
                raise Miss(i, f"`{t.text}` must be the same register as before (r{prev})", True)
            st.fields[self.field] = t.value
        return i + 1


def _signed(toks: list[Tok], i: int) -> tuple[int, bool, int] | None:
    """An optionally signed number at ``i``: (value, written in hex, next index)."""
    t = at(toks, i)
    sign = 1
    if t is not None and t.kind == "op" and t.text in "+-":
        sign = -1 if t.text == "-" else 1
        i += 1
        t = at(toks, i)
    if t is None or t.kind != "num":
        return None
    return sign * t.value, t.text[:2] in ("0x", "0X"), i + 1


def _fit(value: int, hexa: bool, bits: int) -> int | None:
    """``value`` as a signed ``bits``-bit field, or None when it does not fit.

    Decimal numbers must be in the signed range; hex may also be written unsigned (up to
    ``0xffffffff`` for 32 bits), as bpf_conformance's assembler allows.
    """
    lo, hi = -(1 << (bits - 1)), (1 << bits) if hexa else (1 << (bits - 1))
    if not lo <= value < hi:
        return None
    return value - (1 << bits) if value >= (1 << (bits - 1)) else value


_WHAT = {"imm": "immediate", "off": "offset", "imm_hi": "immediate", "imm64": "immediate"}


class Num:
    """A number placeholder: ``imm``, ``off``, ``imm_hi``, ``uimm``, ``uimm_hi``, ``ximm``,
    ``imm64``, ``as_dst`` or ``as_src``."""

    __slots__ = ("name",)

    def __init__(self, name: str) -> None:
        self.name = name

    def match(self, toks: list[Tok], i: int, st: State) -> int:
        got = _signed(toks, i)
        if got is None:
            raise Miss(i, f"expected a number, found {show(at(toks, i))}")
        value, hexa, nxt = got
        name, f = self.name, st.fields
        if name == "imm64":
            if not -(1 << 63) <= value < (1 << 64):
                raise Miss(i, f"immediate {_text(toks, i, nxt)} does not fit 64 bits", True)
            f["imm"], f["imm_hi"] = s32(value), s32(value >> 32)
        elif name in ("as_dst", "as_src"):
            if not 0 <= value <= 0xFFFF:
                raise Miss(i, f"address space {value} does not fit 16 bits", True)
            f[name] = value
        else:
            bits = 16 if name == "off" else 32
            fitted = _fit(value, hexa or name.startswith(("u", "x")), bits)
            if fitted is None:
                what = _WHAT.get(name, "immediate")
                raise Miss(i, f"{what} {_text(toks, i, nxt)} out of range ({_range(bits)})", True)
            f[name.lstrip("ux")] = fitted
        return nxt


def _text(toks: list[Tok], i: int, j: int) -> str:
    return "".join(t.text for t in toks[i:j])


def _range(bits: int) -> str:
    lo, hi = -(1 << (bits - 1)), (1 << (bits - 1)) - 1
    return f"{bits}-bit: {lo}..{hi}, or hex up to {(1 << bits) - 1:#x}"


class MemOff:
    """``+ 0x8`` / ``-8`` after a base register; absent means 0."""

    __slots__ = ()

    def match(self, toks: list[Tok], i: int, st: State) -> int:
        t = at(toks, i)
        if t is None or t.kind != "op" or t.text not in "+-":
            st.fields["off"] = 0
            return i
        got = _signed(toks, i)
        if got is None:
            raise Miss(i + 1, f"expected an offset, found {show(at(toks, i + 1))}")
        value, hexa, nxt = got
        # hex offsets may be written as the unsigned 16-bit field (+0xfff8), as uBPF does
        ok = -0x8000 <= value <= (0xFFFF if hexa else 0x7FFF)
        if not ok:
            raise Miss(
                i, f"offset {_text(toks, i, nxt)} out of range (16-bit: -32768..32767)", True
            )
        st.fields["off"] = s16(value)
        return nxt


class Target:
    """A jump/call target: ``+3``, ``-0x3``, ``pc+3`` or a label."""

    __slots__ = ("bits", "field")

    def __init__(self, field: str, bits: int) -> None:
        self.field = field
        self.bits = bits

    def match(self, toks: list[Tok], i: int, st: State) -> int:
        t = at(toks, i)
        pc = t is not None and t.kind == "ident" and t.text == "pc"
        got = _signed(toks, i + 1 if pc else i)
        if got is not None:
            value, _, nxt = got
            lim = 1 << (self.bits - 1)
            if not -lim <= value < lim:
                raise Miss(i, f"jump offset {value} out of range ({self.bits}-bit signed)", True)
            st.fields[self.field] = value
            return nxt
        if t is not None and t.kind == "ident" and not pc and "#" not in t.text:
            st.label = LabelRef(t.text, t.col, self.field, self.bits)
            return i + 1
        raise Miss(i, f"expected a jump target (+N, -N or a label), found {show(t)}")


class Helper:
    """A helper: its name, ``name#id`` (kernel log), or a number."""

    __slots__ = ()

    def match(self, toks: list[Tok], i: int, st: State) -> int:
        t = at(toks, i)
        if t is not None and t.kind == "ident":
            name, _, num = t.text.partition("#")
            known = HELPER_IDS.get(name)
            if num:
                value = _fit(int(num), False, 32)
                if value is None:
                    raise Miss(i, f"`{t.text}`: id out of range ({_range(32)})", True)
                if known is not None and known != value:
                    raise Miss(i, f"`{t.text}`: helper {name} has id {known}, not {value}", True)
            elif known is None:
                raise Miss(i, f"unknown helper `{name}`")
            else:
                value = known
            st.fields["imm"] = value
            return i + 1
        return Num("imm").match(toks, i, st)


class XOff:
    """uBPF kfunc offset: ``, N`` or nothing."""

    __slots__ = ()

    def match(self, toks: list[Tok], i: int, st: State) -> int:
        t = at(toks, i)
        if t is None or t.text != ",":
            return i
        return Num("off").match(toks, i + 1, st)


Matcher = Lit | Reg | Num | MemOff | Target | Helper | XOff


_REG_SLOTS = {"dst", "src", "dst64", "src64", "dstv", "srcv", "r0v"}


def _letters(slot: str, op: Op, syntax: Syntax) -> str:
    if syntax == "ubpf":
        return "%"
    if slot.endswith("v"):
        return "rw"
    if slot.endswith("64") or op.cls not in (Class.ALU, Class.JMP32):
        return "r"
    return "w"


def slot_matcher(slot: Slot, op: Op, syntax: Syntax) -> Matcher:
    name = slot.name
    if name in _REG_SLOTS:
        if name == "r0v":
            return Reg(None, _letters(name, op, syntax), 0)
        return Reg(name[:3], _letters(name, op, syntax))
    if name == "target":
        fld = op.target_field or "off"
        return Target(fld, 16 if fld == "off" else 32)
    if name == "moff":
        return MemOff()
    if name == "helper":
        return Helper()
    if name == "xoff":
        return XOff()
    return Num(name)
