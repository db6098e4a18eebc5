"""The :class:`Instruction` value type and its byte encoding.

Decoding and encoding are sans-I/O: bytes in, instructions out, in either byte order. A wide
``lddw`` is one :class:`Instruction` spanning two slots; its ``imm_hi`` holds the second
slot's immediate.

Slot layout (see :mod:`pybpf.asm.opcodes` for the opcode byte)::

    little-endian   | op | src:4 dst:4 | off (le16) | imm (le32) |
    big-endian      | op | dst:4 src:4 | off (be16) | imm (be32) |
    lddw, 2nd slot  | 00 |     00      |   0000     | imm_hi     |
"""

from __future__ import annotations

import struct
from collections.abc import Iterable, Iterator

from pybpf._records import immutable, replace
from pybpf._util import s32
from pybpf.asm.opcodes import Class, Field, Kind, Op, lookup
from pybpf.errors import DecodeError, Location

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (PEP 781's idiom)
if TYPE_CHECKING:
    from typing import Literal

    ByteOrder = Literal["little", "big"]
else:
    ByteOrder = str  # (a Literal of str for type checkers)

__all__ = [
    "MAX_REG",
    "Instruction",
    "decode",
    "encode",
    "iter_decode",
]


MAX_REG = 10
"""The highest register number (r10, the read-only frame pointer)."""

_SLOT = {"little": struct.Struct("<BBhi"), "big": struct.Struct(">BBhi")}


@immutable
class Instruction:
    """One eBPF instruction: the raw fields, plus derived views.

    ``off`` and ``imm`` are signed (16 and 32 bits); ``imm_hi`` is the second slot's signed
    immediate of ``lddw`` and 0 otherwise. ``ref`` is a symbolic jump or call target not yet
    resolved (the builder and assembler set it; :func:`pybpf.asm.builder.resolve` clears it).
    """

    opcode: int
    dst: int = 0
    src: int = 0
    off: int = 0
    imm: int = 0
    imm_hi: int = 0
    ref: str | None = None

    # -- derived views ---------------------------------------------------------------------
    @property
    def op(self) -> Op | None:
        """The table row of this instruction, or ``None`` if the fields match no form."""
        return lookup(self.opcode, self.src, self.off, self.imm)

    @property
    def cls(self) -> Class:
        return Class(self.opcode & 0x07)

    @property
    def name(self) -> str:
        """The table name (``"ALU64.ADD.K"``), or ``"<unknown>"``."""
        op = self.op
        return op.name if op else "<unknown>"

    @property
    def is_wide(self) -> bool:
        """True for ``lddw`` (two slots)."""
        return self.opcode == 0x18

    @property
    def slots(self) -> int:
        """How many 8-byte slots the instruction takes (2 for ``lddw``)."""
        return 2 if self.is_wide else 1

    @property
    def imm64(self) -> int:
        """The 64-bit immediate of ``lddw`` as an unsigned value."""
        return ((self.imm_hi & 0xFFFFFFFF) << 32) | (self.imm & 0xFFFFFFFF)

    def jump_target(self, pc: int) -> int | None:
        """The slot index this instruction at slot ``pc`` jumps or calls to, if it does."""
        op = self.op
        if op is None or op.target_field is None:
            return None
        # Offsets count from the next slot, even for lddw of a function (the kernel's
        # add_subprog(env, i + insn->imm + 1)).
        rel = self.off if op.target_field == "off" else self.imm
        return pc + 1 + rel

    def with_fields(self, **changes: int | str | None) -> Instruction:
        """A copy with some fields changed (``insn.with_fields(imm=5)``)."""
        return replace(self, **changes)

    @classmethod
    def lddw(cls, dst: int, value: int, src: int = 0) -> Instruction:
        """``lddw dst, value``: build the wide instruction from a 64-bit value."""
        value &= 0xFFFFFFFFFFFFFFFF
        return cls(0x18, dst, src, 0, s32(value & 0xFFFFFFFF), s32(value >> 32))

    def check(self) -> None:
        """Raise :class:`DecodeError` unless the fields form a valid instruction.

        Checks the opcode and its key, registers (≤ r10) and reserved fields.
        """
        why = _problem(self)
        if why is not None:
            raise DecodeError(why, Location())

    # -- encoding ------------------------------------------------------------------------
    def encode(self, byteorder: ByteOrder = "little") -> bytes:
        """The instruction as 8 (or 16 for ``lddw``) bytes."""
        return encode([self], byteorder)

    def __str__(self) -> str:
        from pybpf.asm.disasm import format_instruction  # noqa: PLC0415 - formatter imports us

        return format_instruction(self)


def _pack_regs(dst: int, src: int, byteorder: ByteOrder) -> int:
    if byteorder == "little":
        return (src << 4) | dst
    return (dst << 4) | src


def encode(insns: Iterable[Instruction], byteorder: ByteOrder = "little") -> bytes:
    """Encode instructions to bytes.

    Raises:
        ValueError: a field does not fit its width (registers 0-15, off 16 bits, imm 32 bits,
            signed or unsigned), or an instruction still has an unresolved ``ref``.
    """
    slot = _SLOT[byteorder]
    out = bytearray()
    for i, insn in enumerate(insns):
        if insn.ref is not None:
            raise ValueError(f"insn {i}: unresolved reference {insn.ref!r}")
        off, imm, imm_hi = _fit(insn, i)
        regs = _pack_regs(insn.dst, insn.src, byteorder)
        out += slot.pack(insn.opcode, regs, off, imm)
        if insn.is_wide:
            out += slot.pack(0, 0, 0, imm_hi)
    return bytes(out)


def _fit(insn: Instruction, i: int) -> tuple[int, int, int]:
    """Check field widths; return off, imm and imm_hi as signed values."""
    if not 0 <= insn.opcode <= 0xFF:
        raise ValueError(f"insn {i}: opcode {insn.opcode:#x} does not fit 8 bits")
    for name in ("dst", "src"):
        v = getattr(insn, name)
        if not 0 <= v <= 15:
            raise ValueError(f"insn {i}: {name} register {v} does not fit 4 bits")
    if not -(1 << 15) <= insn.off < (1 << 16):
        raise ValueError(f"insn {i}: off {insn.off} does not fit 16 bits")
    for name in ("imm", "imm_hi"):
        v = getattr(insn, name)
        if not -(1 << 31) <= v < (1 << 32):
            raise ValueError(f"insn {i}: {name} {v} does not fit 32 bits")
    off = insn.off - (1 << 16) if insn.off >= (1 << 15) else insn.off
    return off, s32(insn.imm), s32(insn.imm_hi)


def iter_decode(
    data: bytes | bytearray | memoryview,
    byteorder: ByteOrder = "little",
    *,
    strict: bool = True,
    source: str | None = None,
) -> Iterator[tuple[int, Instruction]]:
    """Decode instruction bytes lazily, yielding ``(slot index, Instruction)`` pairs.

    With ``strict`` (the default) every instruction is checked: a known form, registers
    ≤ r10, reserved fields zero. Without it, any 8 bytes decode (the raw fields are kept) but
    a truncated input or a broken ``lddw`` still raise.

    Raises:
        DecodeError: with the byte offset and instruction index of the first bad instruction.
    """
    mv = memoryview(data).cast("B")
    slot = _SLOT[byteorder]
    n = len(mv)
    if n % 8:
        raise DecodeError(f"length {n} is not a multiple of 8", Location(source, offset=n - n % 8))
    raw = mv.tobytes()
    # Decoded instructions are immutable values and programs repeat slots a lot, so a
    # checked slot's Instruction is kept and shared (a bounded cache per byte order).
    cache = _DECODED[byteorder, strict]
    little = byteorder == "little"
    pc = 0
    nslots = n // 8
    while pc < nslots:
        at = pc * 8
        key = raw[at : at + 8]
        insn = cache.get(key)
        if insn is not None:
            yield pc, insn
            pc += 1
            continue
        code, regs, off, imm = slot.unpack_from(raw, at)
        dst, src = (regs & 0xF, regs >> 4) if little else (regs >> 4, regs & 0xF)
        if code == 0x18:
            imm_hi = _second_slot(mv, at, slot, source, pc)
            insn = Instruction(code, dst, src, off, imm, imm_hi)
            if strict and (why := _problem(insn)) is not None:
                raise DecodeError(why, Location(source, offset=at, insn=pc))
            yield pc, insn
            pc += 2
            continue
        insn = Instruction(code, dst, src, off, imm)
        if strict and (why := _problem(insn)) is not None:
            raise DecodeError(why, Location(source, offset=at, insn=pc))
        if len(cache) >= _CACHE_LIMIT:
            cache.clear()
        cache[key] = insn
        yield pc, insn
        pc += 1


_CACHE_LIMIT = 1 << 16
_DECODED: dict[tuple[str, bool], dict[bytes, Instruction]] = {
    (order, strict): {} for order in ("little", "big") for strict in (True, False)
}


def _second_slot(mv: memoryview, at: int, slot: struct.Struct, source: str | None, pc: int) -> int:
    if at + 16 > len(mv):
        raise DecodeError(
            "lddw is truncated: its second slot is missing", Location(source, offset=at, insn=pc)
        )
    code, regs, off, imm_hi = slot.unpack_from(mv, at + 8)
    if code or regs or off:
        raise DecodeError(
            "second slot of lddw has a non-zero opcode, register or offset",
            Location(source, offset=at + 8, insn=pc + 1),
        )
    return int(imm_hi)


def decode(
    data: bytes | bytearray | memoryview,
    byteorder: ByteOrder = "little",
    *,
    strict: bool = True,
    source: str | None = None,
) -> list[Instruction]:
    """Decode instruction bytes to a list (``lddw`` is one element). See :func:`iter_decode`."""
    return [insn for _, insn in iter_decode(data, byteorder, strict=strict, source=source)]


def _problem(insn: Instruction) -> str | None:
    """Why ``insn`` is not a valid instruction, or ``None`` when it is (decoding asks this of
    every new slot, so the valid case is kept short)."""
    op = lookup(insn.opcode, insn.src, insn.off, insn.imm)
    if op is None:
        return _why_unknown(insn)
    if insn.dst > MAX_REG:
        return f"{op.name}: dst register r{insn.dst} does not exist"
    if insn.src > MAX_REG:
        return f"{op.name}: src register r{insn.src} does not exist"
    for name in _reserved_fields(op):
        value = getattr(insn, name)
        if value:
            return f"{op.name}: reserved field {name} is {value}, must be 0"
    if insn.opcode == _LDDW and insn.imm_hi and not _uses_imm_hi(op):
        return f"{op.name}: reserved field imm of the second slot must be 0"
    if op.kind is Kind.ADDR_SPACE_CAST and insn.imm not in _ADDR_SPACE_CASTS:
        # the kernel converts between address spaces 0 and 1 only (verifier.c, check_alu_op)
        return f"{op.name}: imm is {insn.imm:#x}, must be 0x1 or 0x10000 (address spaces 0, 1)"
    return None


_LDDW = 0x18
_ADDR_SPACE_CASTS = (0x1, 0x10000)
_RESERVED: dict[str, tuple[str, ...]] = {}


def _reserved_fields(op: Op) -> tuple[str, ...]:
    """The names of ``op``'s reserved fields (cached: IntFlag arithmetic per call is slow)."""
    names = _RESERVED.get(op.name)
    if names is None:
        fields = (Field.DST, Field.SRC, Field.OFF, Field.IMM)
        names = tuple(f.name.lower() for f in fields if f in op.reserved and f.name)
        _RESERVED[op.name] = names
    return names


def _uses_imm_hi(op: Op) -> bool:
    return op.name in ("LD.IMM64", "LD.IMM64.MAP_VALUE", "LD.IMM64.MAP_IDX_VALUE")


def _why_unknown(insn: Instruction) -> str:
    from pybpf.asm.opcodes import OPS_BY_CODE  # noqa: PLC0415 - keeps the import list short

    forms = OPS_BY_CODE.get(insn.opcode)
    if not forms:
        return f"unknown opcode {insn.opcode:#04x}"
    keys = [(op.name, op.key) for op in forms if op.key is not None]
    if not keys:  # unreachable: a form without a key matches any fields
        return f"opcode {insn.opcode:#04x} has no form for these fields"
    field_name = keys[0][1][0]
    value = getattr(insn, field_name)
    if len(keys) == 1:
        name, (_, want) = keys[0]
        if want == 0:
            return f"{name}: reserved field {field_name} is {value}, must be 0"
        return f"{name}: {field_name} must be {want}, is {value}"
    allowed = ", ".join(f"{want} ({name})" for name, (_, want) in keys)
    return f"opcode {insn.opcode:#04x}: {field_name} is {value}, must be one of {allowed}"
