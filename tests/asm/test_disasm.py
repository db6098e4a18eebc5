"""The disassembler: styles against llvm-objdump-19 (golden and live), records, checks."""

from __future__ import annotations

import importlib.util
import re
import shutil
from pathlib import Path
from types import ModuleType

import pytest

from pybpf.asm.assembler import assemble
from pybpf.asm.disasm import (
    DisassembledInstruction,
    check_program,
    disassemble,
    format_instruction,
    get_instructions,
)
from pybpf.asm.instruction import Instruction, decode, encode
from pybpf.errors import DecodeError
from tests.conftest import TESTDATA

GOLDEN = TESTDATA / "asm"
LINE = re.compile(r"^\s*(\d+):\t([0-9a-f]{2}(?: [0-9a-f]{2})*)\t(.*)$")


def _insn(hexbytes: str, byteorder: str = "little") -> Instruction:
    (insn,) = decode(bytes.fromhex(hexbytes), byteorder, strict=False)  # type: ignore[arg-type]
    return insn


def _text_annotation(target: int) -> str:
    """llvm-objdump's ``<.text+0x...>`` for a jump target in a listing of ``.text``."""
    at = (target * 8) % (1 << 64)
    return f".text+{at:#x}" if at else ".text"


def _compare_listing(listing: str, byteorder: str, alu32: bool) -> int:
    """Check every instruction line of an llvm-objdump listing; return how many."""
    n = 0
    for line in listing.splitlines():
        m = LINE.match(line)
        if m is None:
            continue
        pc, raw, want = int(m.group(1)), m.group(2).replace(" ", ""), m.group(3)
        if raw.startswith("18") and len(raw) == 16:
            # an lddw llvm-objdump cannot decode: it shows 8 bytes and elides the zero slot
            raw += "00" * 8
        got = format_instruction(
            _insn(raw, byteorder),
            style="objdump",
            alu32=alu32,
            pc=pc,
            target_annotation=_text_annotation,
        )
        assert got == want, f"{pc}: {raw}"
        n += 1
    return n


VARIANTS = [
    ("objdump.bpfel.txt", "little", False),
    ("objdump.bpfel.alu32.txt", "little", True),
    ("objdump.bpfeb.txt", "big", False),
]


@pytest.mark.parametrize(("name", "byteorder", "alu32"), VARIANTS)
def test_objdump_style_matches_the_golden_listings(name: str, byteorder: str, alu32: bool) -> None:
    assert _compare_listing((GOLDEN / name).read_text(), byteorder, alu32) > 1400


def _generator() -> ModuleType:
    spec = importlib.util.spec_from_file_location("gen_golden", GOLDEN / "gen_golden.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.tool
@pytest.mark.parametrize(("name", "byteorder", "alu32"), VARIANTS)
def test_objdump_style_matches_live_llvm_objdump(
    name: str, byteorder: str, alu32: bool, tmp_path: Path
) -> None:
    for tool in ("llvm-mc-19", "llvm-objdump-19"):
        if shutil.which(tool) is None:
            pytest.skip(f"{tool} is not installed (apt-get install llvm-19)")
    listing = _generator().objdump(byteorder, alu32, tmp_path)
    assert _compare_listing(listing, byteorder, alu32) > 1400


# -- the facts the styles rest on --------------------------------------------------------------

OBJDUMP = [
    ("b700000001000000", False, "r0 = 0x1"),
    ("07020000fcffffff", False, "r2 += -0x4"),
    ("720af8ffffffffff", False, "*(u8 *)(r10 - 0x8) = -0x1"),
    ("6501030005000000", False, "if r1 s> 0x5 goto +0x3"),
    ("8500000001000000", False, "call 0x1"),
    ("8510000005000000", False, "call 0x5"),
    ("8520000034120000", False, "call 0x1234"),
    ("18010000ffffffff00000000ffffffff", False, "r1 = -0x1 ll"),
    ("0600000003000000", False, "gotol +0x3"),
    ("e500030000000000", False, "may_goto +0x3"),
    ("bf21010000000100", False, "r1 = addr_space_cast(r2, 0x1, 0x0)"),
    ("8d02000000000000", False, "callx r2"),
    ("dc00000010000000", False, "r0 = be16 r0"),
    ("d400000020000000", False, "r0 = le32 r0"),
    ("d700000010000000", False, "r0 = bswap16 r0"),
    ("18110000050000000000000003000000", False, "ld_pseudo\tr1, 0x1, 0x5"),
    ("4010000004000000", False, "r0 = *(u32 *)skb[r1]"),
    ("6110040000000000", False, "r0 = *(u32 *)(r1 + 0x4)"),
    ("631af8ff00000000", False, "*(u32 *)(r10 - 0x8) = r1"),
    ("c312000000000000", False, "lock *(u32 *)(r2 + 0x0) += r1"),
    ("c312000051000000", False, "<unknown>"),
    ("7110000000000000", True, "w0 = *(u8 *)(r1 + 0x0)"),
    ("6110040000000000", True, "w0 = *(u32 *)(r1 + 0x4)"),
    ("631af8ff00000000", True, "*(u32 *)(r10 - 0x8) = w1"),
    ("c321000000000000", True, "lock *(u32 *)(r1 + 0x0) += w2"),
    ("c321000051000000", True, "w2 = atomic_fetch_and((u32 *)(r1 + 0x0), w2)"),
    ("c3210000e1000000", True, "w2 = xchg32_32(r1 + 0x0, w2)"),
    ("c3210000f1000000", True, "w0 = cmpxchg32_32(r1 + 0x0, w0, w2)"),
    ("ff00000000000000", False, "<unknown>"),
]


@pytest.mark.parametrize(("raw", "alu32", "want"), OBJDUMP, ids=[w for _, _, w in OBJDUMP])
def test_objdump_style(raw: str, alu32: bool, want: str) -> None:
    assert format_instruction(_insn(raw), style="objdump", alu32=alu32) == want


PYBPF = [
    ("8500000001000000", "call bpf_map_lookup_elem"),
    ("8500000000000000", "call 0x0"),
    ("850000001023ad0b", "call 0xbad2310"),
    ("85000000ffffffff", "call -0x1"),
    ("8510000005000000", "call pc+0x5"),
    ("85100000ffffffff", "call pc-0x1"),
    ("8520000034120000", "call kfunc(0x1234, 0x0)"),
    ("18110000050000000000000000000000", "r1 = map[fd:5] ll"),
    ("18210000050000000000000008000000", "r1 = map[fd:5][0]+8 ll"),
    ("18410000050000000000000000000000", "r1 = func[pc+0x5] ll"),
    ("4010000004000000", "r0 = *(u32 *)skb[r1 + 0x4]"),
    ("c321000051000000", "r2 = atomic_fetch_and((u32 *)(r1 + 0x0), r2)"),
    ("c3210000f1000000", "r0 = cmpxchg32_32(r1 + 0x0, r0, r2)"),
    ("db10000000010000", "r0 = load_acquire((u64 *)(r1 + 0x0))"),
    ("0d03000000000000", "gotox r3"),
]


@pytest.mark.parametrize(("raw", "want"), PYBPF, ids=[w for _, w in PYBPF])
def test_pybpf_style(raw: str, want: str) -> None:
    insn = _insn(raw)
    assert format_instruction(insn) == want
    assert str(insn) == want
    assert assemble(want, "llvm") == [insn]


UBPF = [
    ("b700000001000000", "mov %r0, 1"),
    ("b70000000a000000", "mov %r0, 10"),
    ("b70000000b000000", "mov %r0, 0xb"),
    ("b7000000f5ffffff", "mov %r0, -11"),
    ("b700000000000080", "mov %r0, 0x80000000"),
    ("b4000000ffffffff", "mov32 %r0, -1"),
    ("6110000000000000", "ldxw %r0, [%r1]"),
    ("6110040000000000", "ldxw %r0, [%r1+4]"),
    ("7b1af8ff00000000", "stxdw [%r10-8], %r1"),
    ("db1af8ff01000000", "lock fetch add [%r10-8], %r1"),
    ("c31af8fff1000000", "lock cmpxchg32 [%r10-8], %r1"),
    ("0500feff00000000", "ja -2"),
    ("0600000003000000", "ja32 +3"),
    ("150101000b000000", "jeq %r1, 0xb, +1"),
    ("8500000005000000", "call 5"),
    ("8510000005000000", "call local +5"),
    ("8520000007000000", "call runtime 7"),
    ("8520020007000000", "call runtime 7, 2"),
    ("8d02000000000000", "call %r2"),
    ("d700000010000000", "bswap16 %r0"),
    ("dc00000010000000", "be16 %r0"),
    ("bc10080000000000", "movsx832 %r0, %r1"),
    ("18000000887766550000000044332211", "lddw %r0, 0x1122334455667788"),
    ("18110000050000000000000000000000", "lddw %r1, map[fd:5]"),
    ("2000000004000000", "ldabsw 4"),
    ("4810000004000000", "ldindh %r1, 4"),
]


@pytest.mark.parametrize(("raw", "want"), UBPF, ids=[w for _, w in UBPF])
def test_ubpf_syntax(raw: str, want: str) -> None:
    insn = _insn(raw)
    assert format_instruction(insn, syntax="ubpf") == want
    assert assemble(want, "ubpf") == [insn]


def test_bad_options_are_value_errors() -> None:
    insn = Instruction(0x95)
    with pytest.raises(ValueError, match="syntax"):
        format_instruction(insn, syntax="att")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="style"):
        format_instruction(insn, style="gnu")  # type: ignore[arg-type]


def test_target_annotation_only_on_jumps() -> None:
    def note(target: int) -> str:
        return f"sym+{target}"

    goto = format_instruction(
        Instruction(0x05, off=2), style="objdump", pc=3, target_annotation=note
    )
    call = format_instruction(
        Instruction(0x85, src=1, imm=2), style="objdump", pc=3, target_annotation=note
    )
    assert (goto, call) == ("goto +0x2 <sym+6>", "call 0x2")


def test_labels_replace_offsets() -> None:
    insn = Instruction(0x15, dst=1, off=2)
    assert format_instruction(insn, pc=4, labels={7: "out"}) == "if r1 == 0x0 goto out"
    assert format_instruction(insn, pc=4, labels={8: "x"}) == "if r1 == 0x0 goto +0x2"


# -- get_instructions and disassemble ----------------------------------------------------------

PROGRAM = assemble(
    """
    r1 = 0x100000000 ll
    if r1 == 0x0 goto +1
    r0 = 0x1
    exit
    """,
    "llvm",
)


@pytest.mark.parametrize("byteorder", ["little", "big"])
def test_get_instructions_records(byteorder: str) -> None:
    data = encode(PROGRAM, byteorder)  # type: ignore[arg-type]
    recs = list(get_instructions(data, byteorder=byteorder, labels=True))  # type: ignore[arg-type]
    assert [(r.pc, r.offset, len(r.raw)) for r in recs] == [
        (0, 0, 16),
        (2, 16, 8),
        (3, 24, 8),
        (4, 32, 8),
    ]
    assert b"".join(r.raw for r in recs) == data
    assert [r.insn for r in recs] == PROGRAM
    assert [r.target for r in recs] == [None, 4, None, None]
    assert [r.label for r in recs] == [None, None, None, "LBB0_1"]
    assert recs[1].text == "if r1 == 0x0 goto LBB0_1"
    assert isinstance(recs[0], DisassembledInstruction)


def test_get_instructions_from_instructions_equals_from_bytes() -> None:
    assert list(get_instructions(PROGRAM)) == list(get_instructions(encode(PROGRAM)))


def test_get_instructions_with_named_labels() -> None:
    recs = list(get_instructions(PROGRAM, syntax="ubpf", labels={4: "done"}))
    assert recs[1].text == "jeq %r1, 0, done"
    assert recs[3].label == "done"


def test_disassemble_listing_forms() -> None:
    assert disassemble(PROGRAM, labels=False) == (
        "r1 = 0x100000000 ll\nif r1 == 0x0 goto +0x1\nr0 = 0x1\nexit\n"
    )
    assert disassemble(PROGRAM, syntax="ubpf") == (
        "    lddw %r1, 0x100000000\n    jeq %r1, 0, L1\n    mov %r0, 1\nL1:\n    exit\n"
    )
    assert disassemble(PROGRAM, show_pc=True, labels=False).splitlines()[1] == (
        "    2: if r1 == 0x0 goto +0x1"
    )
    assert disassemble(b"") == ""


def test_non_strict_prints_what_it_cannot_decode() -> None:
    data = bytes.fromhex("ff0000000000000005000500000000009501000000000000")
    assert disassemble(data, strict=False, labels=True) == "<unknown>\ngoto +0x5\nexit\n"


# -- bad input: DecodeError with the byte offset and slot -------------------------------------

BAD = [
    ("b700000001000000b7", 8, "multiple of 8"),
    ("1800000001000000", 0, "truncated"),
    ("9500000000000000ff00000000000000", 8, "unknown opcode 0xff"),
    ("0700010001000000", 0, "reserved field off is 1, must be 0"),
    ("bf0b000000000000", 0, "dst register r11 does not exist"),
    ("180100000000000001000000000000009500000000000000", 8, "second slot"),
    (
        "0500010000000000180000000000000000000000000000009500000000000000",
        0,
        "second slot of the lddw",
    ),
    ("05000a00000000009500000000000000", 0, "out of the program"),
    ("8510000005000000", 0, "out of the program"),
]


@pytest.mark.parametrize(("raw", "offset", "msg"), BAD, ids=[m for _, _, m in BAD])
def test_bad_bytes_raise_decode_error(raw: str, offset: int, msg: str) -> None:
    with pytest.raises(DecodeError) as info:
        disassemble(bytes.fromhex(raw), source="prog")
    assert msg in info.value.reason
    assert (info.value.location.source, info.value.location.offset) == ("prog", offset)
    assert info.value.location.insn in (offset // 8, None)


def test_bad_instruction_objects_raise_decode_error() -> None:
    with pytest.raises(DecodeError, match="does not fit 16 bits"):
        list(get_instructions([Instruction(0x05, off=1 << 16)], strict=False))
    with pytest.raises(DecodeError, match="reserved field"):
        list(get_instructions([Instruction(0x95, imm=1)]))


def test_check_program() -> None:
    check_program(PROGRAM)
    check_program(encode(PROGRAM))
    straight = assemble("r0 = 0\nr0 += 1", "llvm")
    with pytest.raises(DecodeError, match="runs off its end") as info:
        check_program(straight, source="prog")
    assert (info.value.location.offset, info.value.location.insn) == (8, 1)
    check_program([*straight, Instruction(0x05, off=-3)])
    check_program(straight, allow_fall_through=True)
    with pytest.raises(DecodeError, match="empty"):
        check_program([])
    with pytest.raises(DecodeError, match="out of the program"):
        check_program([Instruction(0x05, off=-2), Instruction(0x95)])
    with pytest.raises(DecodeError, match="second slot"):
        check_program(assemble("goto +1\nr1 = 0 ll\nexit", "llvm"))


# -- the listing's shortcuts give what the long way gives --------------------------------------


def test_repeated_jumps_print_each_their_own_target() -> None:
    """A listing reuses the text of repeated bytes only where the text cannot depend on the
    position: the same jump (and the same may_goto llvm-objdump decodes whatever its src)
    at two places gets two annotations and two labels."""
    goto = Instruction(0x05, off=1)
    may_goto = Instruction(0xE5, src=3, off=1)  # no row: objdump's loose may_goto
    exit_ = Instruction(0x95)
    prog = [goto, exit_, goto, exit_, may_goto, exit_, may_goto, exit_, exit_]
    data = encode(prog)
    listing = disassemble(
        data, style="objdump", labels=False, strict=False, target_annotation=lambda t: f"@{t}"
    )
    assert listing.splitlines()[::2] == [
        "goto +0x1 <@2>",
        "goto +0x1 <@4>",
        "may_goto +0x1 <@6>",
        "may_goto +0x1 <@8>",
        "exit",
    ]
    recs = list(get_instructions(data, labels=True, strict=False))
    assert [r.text for r in recs[:3:2]] == ["goto LBB0_1", "goto LBB0_2"]
    one_by_one = [format_instruction(i, pc=r.pc) for i, r in zip(prog, recs, strict=True)]
    assert [r.text for r in get_instructions(data, strict=False)] == one_by_one
