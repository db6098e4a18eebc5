"""Properties: bad input only ever raises pybpf's own errors; valid instructions round-trip."""

from __future__ import annotations

from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from pybpf.asm.assembler import assemble
from pybpf.asm.disasm import disassemble, format_instruction, get_instructions
from pybpf.asm.instruction import Instruction, decode, encode
from pybpf.asm.opcodes import OPS, lookup
from pybpf.errors import AssemblerError, DecodeError
from tests.asm.strategies import instructions, programs

ORDERS = st.sampled_from(["little", "big"])
SYNTAXES = st.sampled_from(["llvm", "ubpf"])

# -- random bytes ------------------------------------------------------------------------------

# Bytes that look like instructions often: real opcodes, small registers, small offsets.
_OPCODES = sorted({op.code for op in OPS} | {0x00, 0xFF})
_SLOT = st.tuples(
    st.sampled_from(_OPCODES), st.integers(0, 255), st.binary(min_size=6, max_size=6)
).map(lambda t: bytes([t[0], t[1]]) + t[2])
_CODE = st.one_of(
    st.binary(max_size=64),
    st.lists(_SLOT, max_size=8).map(b"".join),
    st.lists(_SLOT, max_size=8)
    .map(b"".join)
    .flatmap(lambda b: st.binary(max_size=7).map(lambda t: b + t)),
)


@given(_CODE, ORDERS, st.booleans())
def test_random_bytes_decode_or_raise_decode_error(
    data: bytes, byteorder: str, strict: bool
) -> None:
    try:
        insns = decode(data, byteorder, strict=strict)  # type: ignore[arg-type]
    except DecodeError as exc:
        assert exc.location.offset is not None
        return
    assert encode(insns, byteorder) == data  # type: ignore[arg-type]


_OPTIONS = st.fixed_dictionaries(
    {
        "byteorder": ORDERS,
        "syntax": SYNTAXES,
        "style": st.sampled_from(["pybpf", "objdump"]),
        "strict": st.booleans(),
        "labels": st.booleans(),
    }
)


@given(_CODE, _OPTIONS)
def test_random_bytes_disassemble_or_raise_decode_error(
    data: bytes, options: dict[str, Any]
) -> None:
    try:
        text = disassemble(data, **options)
    except DecodeError as exc:
        assert exc.location.offset is not None
        return
    assert text.count("\n") >= len(data) // 16


@given(_CODE, ORDERS, SYNTAXES)
def test_strictly_decodable_bytes_reassemble_to_themselves(
    data: bytes, byteorder: str, syntax: str
) -> None:
    try:
        listing = disassemble(data, byteorder=byteorder, syntax=syntax)  # type: ignore[arg-type]
    except DecodeError:
        return
    assert encode(assemble(listing, syntax), byteorder) == data  # type: ignore[arg-type]


# -- random text -------------------------------------------------------------------------------

# Token soup from both syntaxes, so the parser gets deep into templates before failing.
_WORDS = [
    "r0",
    "r1",
    "w2",
    "r10",
    "r11",
    "%r1",
    "%r10",
    "%r16",
    "%x",
    "+=",
    "=",
    "-",
    "+",
    "*",
    "(",
    ")",
    "[",
    "]",
    ",",
    ":",
    "u32",
    "u8",
    "s8",
    "if",
    "goto",
    "gotol",
    "pc",
    "call",
    "local",
    "runtime",
    "helper",
    "exit",
    "lock",
    "fetch",
    "add",
    "mov",
    "mov32",
    "lddw",
    "ldxw",
    "ja",
    "ll",
    "map",
    "fd",
    "idx",
    "id",
    "func",
    "0x10",
    "-1",
    "65536",
    "4294967296",
    "0xffffffffff",
    "L1",
    "L1:",
    "exit:",
    "bpf_map_lookup_elem#1",
    "skb",
    "kfunc",
    "#",
    ";",
    "\n",
    "(b7)",
    "3:",
    "atomic64_fetch_add",
    "cmpxchg_64",
    "addr_space_cast",
    "be16",
    "swap16",
    "movsx832",
    "s>>=",
]
_TEXT = st.one_of(
    st.text(max_size=60),
    st.lists(st.sampled_from(_WORDS), max_size=14).map(" ".join),
)


@given(_TEXT, st.sampled_from(["auto", "llvm", "ubpf"]))
def test_random_text_assembles_or_raises_assembler_error(text: str, syntax: str) -> None:
    try:
        insns = assemble(text, syntax)  # type: ignore[arg-type]
    except AssemblerError as exc:
        assert exc.location.line is not None
        assert exc.location.column is not None
        return
    assert all(isinstance(i, Instruction) for i in insns)


# -- valid instructions ------------------------------------------------------------------------


@given(instructions(), ORDERS)
def test_valid_instructions_encode_and_decode(insn: Instruction, byteorder: str) -> None:
    assert decode(encode([insn], byteorder), byteorder) == [insn]  # type: ignore[arg-type]


@given(instructions(), SYNTAXES, st.booleans())
def test_valid_instructions_print_and_assemble_back(
    insn: Instruction, syntax: str, alu32: bool
) -> None:
    text = format_instruction(insn, syntax=syntax, alu32=alu32)  # type: ignore[arg-type]
    assert assemble(text, syntax) == [insn]  # type: ignore[arg-type]


@given(programs(), SYNTAXES, ORDERS, st.booleans())
def test_programs_round_trip_through_labelled_listings(
    insns: list[Instruction], syntax: str, byteorder: str, show_pc: bool
) -> None:
    data = encode(insns, byteorder)  # type: ignore[arg-type]
    listing = disassemble(data, byteorder=byteorder, syntax=syntax, show_pc=show_pc)  # type: ignore[arg-type]
    assert encode(assemble(listing, syntax), byteorder) == data  # type: ignore[arg-type]


@given(programs())
def test_records_agree_with_instruction_views(insns: list[Instruction]) -> None:
    for rec in get_instructions(insns):
        assert rec.target == rec.insn.jump_target(rec.pc)
        assert rec.offset == rec.pc * 8
        assert len(rec.raw) == rec.insn.slots * 8


# -- the opcode index --------------------------------------------------------------------------


def _first_match(code: int, src: int, off: int, imm: int) -> object:
    """The table's meaning of a lookup: the first form of the opcode whose key matches."""
    values = {"src": src, "off": off, "imm": imm}
    for op in OPS:
        if op.code == code and (op.key is None or values[op.key[0]] == op.key[1]):
            return op
    return None


@given(
    st.sampled_from(_OPCODES),
    st.integers(0, 15),
    st.one_of(st.integers(-4, 70), st.integers(-(1 << 15), (1 << 15) - 1)),
    st.one_of(st.integers(-2, 0x120), st.integers(-(1 << 31), (1 << 31) - 1)),
)
def test_lookup_is_the_tables_first_match(code: int, src: int, off: int, imm: int) -> None:
    assert lookup(code, src, off, imm) is _first_match(code, src, off, imm)
