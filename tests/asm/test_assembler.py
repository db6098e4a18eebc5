"""The assembler: both syntaxes, the verifier-log and llvm-objdump forms, and its errors."""

from __future__ import annotations

import pytest

from pybpf.asm.assembler import assemble, assemble_bytes, detect_syntax
from pybpf.asm.instruction import encode
from pybpf.errors import AssemblerError


def _hex(text: str, syntax: str) -> str:
    return encode(assemble(text, syntax)).hex()  # type: ignore[arg-type]


# -- LLVM syntax: llvm-mc / llvm-objdump and pybpf's lossless forms ---------------------------

LLVM = [
    ("r0 = 1", "b700000001000000"),
    ("r0 = 0x1", "b700000001000000"),
    ("w0 = -1", "b4000000ffffffff"),
    ("r2 += -0x4", "07020000fcffffff"),
    ("r1 = -0x80000000", "b701000000000080"),
    ("r1 = 0xffffffff", "b7010000ffffffff"),
    ("r1 = r2", "bf21000000000000"),
    ("r1 = -r1", "8701000000000000"),
    ("w1 s%= w2", "9c21010000000000"),
    ("r1 s>>= 3", "c701000003000000"),
    ("r1 = (s16)r2", "bf21100000000000"),
    ("r0 = be16 r0", "dc00000010000000"),
    ("r0 = le32 r0", "d400000020000000"),
    ("r0 = bswap64 r0", "d700000040000000"),
    ("r1 = addr_space_cast(r2, 0x1, 0x0)", "bf21010000000100"),
    ("*(u8 *)(r10 - 0x8) = -0x1", "720af8ffffffffff"),
    ("*(u32 *)(r10 - 0x8) = w1", "631af8ff00000000"),
    ("*(u32 *)(r10 - 0x8) = r1", "631af8ff00000000"),
    ("w0 = *(u32 *)(r1 + 0x4)", "6110040000000000"),
    ("r0 = *(u8 *)(r1 + 0x0)", "7110000000000000"),
    ("r0 = *(s32 *)(r1 - 4)", "8110fcff00000000"),
    ("lock *(u32 *)(r1 + 0x0) += w2", "c321000000000000"),
    ("w2 = atomic_fetch_and((u32 *)(r1 + 0x0), w2)", "c321000051000000"),
    ("w2 = xchg32_32(r1 + 0x0, w2)", "c3210000e1000000"),
    ("w0 = cmpxchg32_32(r1 + 0x0, w0, w2)", "c3210000f1000000"),
    ("r0 = cmpxchg_64(r1 + 0x8, r0, r2)", "db210800f1000000"),
    ("r0 = load_acquire((u64 *)(r1 + 0x0))", "db10000000010000"),
    ("store_release((u8 *)(r1 + 0x0), w2)", "d321000010010000"),
    ("if r1 s> 0x5 goto +0x3", "6501030005000000"),
    ("if w1 != w2 goto -0x3", "5e21fdff00000000"),
    ("goto +3", "0500030000000000"),
    ("goto -0x3", "0500fdff00000000"),
    ("gotol +0x3", "0600000003000000"),
    ("may_goto +0x3", "e500030000000000"),
    ("gotox r3", "0d03000000000000"),
    ("call 0x1", "8500000001000000"),
    ("call bpf_map_lookup_elem", "8500000001000000"),
    ("call bpf_trace_printk", "8500000006000000"),
    ("call pc+0x5", "8510000005000000"),
    ("call kfunc(0x1234, 0x2)", "8520020034120000"),
    ("callx r2", "8d02000000000000"),
    ("exit", "9500000000000000"),
    ("r1 = -0x1 ll", "18010000ffffffff00000000ffffffff"),
    ("r1 = 0x300000005 ll", "18010000050000000000000003000000"),
    ("r1 = map[fd:5] ll", "18110000050000000000000000000000"),
    ("r1 = map[fd:5][0]+8 ll", "18210000050000000000000008000000"),
    ("r1 = btf_id[77] ll", "183100004d0000000000000000000000"),
    ("r1 = func[pc+0x5] ll", "18410000050000000000000000000000"),
    ("r1 = map[idx:2] ll", "18510000020000000000000000000000"),
    ("r1 = map[idx:2][0]+16 ll", "18610000020000000000000010000000"),
    ("r1 = map[fd:4294967295]", "18110000ffffffff0000000000000000"),
    ("ld_pseudo\tr1, 0x1, 0x5", "18110000050000000000000000000000"),
    ("r0 = *(u32 *)skb[0x4]", "2000000004000000"),
    ("r0 = *(u16 *)skb[r1 + 0x4]", "4810000004000000"),
    ("r0 = *(u32 *)skb[r2]", "4020000000000000"),
]


@pytest.mark.parametrize(("text", "want"), LLVM, ids=[t for t, _ in LLVM])
def test_llvm_syntax(text: str, want: str) -> None:
    assert _hex(text, "llvm") == want


# -- the kernel verifier log and bpftool prog dump xlated --------------------------------------

VERIFIER = [
    ("0: (b7) r0 = 0", "b700000000000000"),
    ("(7b) *(u64 *)(r10 -8) = r1", "7b1af8ff00000000"),
    ("(15) if r0 == 0x0 goto pc+2", "1500020000000000"),
    ("(85) call bpf_map_lookup_elem#1", "8500000001000000"),
    ("(85) call unknown#195896080", "850000001023ad0b"),
    ("(85) call pc+5", "8510000005000000"),
    ("(18) r1 = map[id:5]", "18110000050000000000000000000000"),
    ("(18) r1 = map[id:5][0]+8", "18210000050000000000000008000000"),
    ("(18) r2 = map[idx:3]+16", "18620000030000000000000010000000"),
    ("(18) r3 = subprog[+5]", "18430000050000000000000000000000"),
    ("(18) r1 = 0x1234", "18010000341200000000000000000000"),
    ("(18) r1 = 0xffffffff", "18010000ffffffff0000000000000000"),
    ("(db) r1 = atomic64_fetch_add((u64 *)(r0 +0), r1)", "db10000001000000"),
    ("(db) r0 = atomic64_cmpxchg((u64 *)(r1 +0), r0, r2)", "db210000f1000000"),
    ("(db) r2 = atomic64_xchg((u64 *)(r1 +8), r2)", "db210800e1000000"),
    ("(c3) r2 = atomic_fetch_or((u32 *)(r1 +0), r2)", "c321000041000000"),
    ("(c3) r0 = atomic_cmpxchg((u32 *)(r1 +0), r0, r2)", "c3210000f1000000"),
    ("(c3) lock *(u32 *)(r1 +0) += r2", "c321000000000000"),
    ("(61) r0 = *(u32 *)(r1 +4)", "6110040000000000"),
    ("(b4) w0 = 5", "b400000005000000"),
    ("(bc) w1 = (s8)w2", "bc21080000000000"),
    ("(bf) r1 = addr_space_cast(r2, 0, 1)", "bf21010001000000"),
    ("(05) goto pc-1", "0500ffff00000000"),
    ("(06) gotol pc+100", "0600000064000000"),
    ("(e5) may_goto pc+3", "e500030000000000"),
    ("(d4) r1 = le16 r1", "d401000010000000"),
    ("(40) r0 = *(u32 *)skb[r1 + 4]", "4010000004000000"),
    ("12: (95) exit", "9500000000000000"),
    ("1: (b7) r0 = 0                       ; R0_w=0", "b700000000000000"),
]


@pytest.mark.parametrize(("text", "want"), VERIFIER, ids=[t for t, _ in VERIFIER])
def test_verifier_log_lines(text: str, want: str) -> None:
    assert _hex(text, "llvm") == want


def test_verifier_opcode_tells_lddw_from_mov() -> None:
    assert _hex("r1 = 0x1234", "llvm") == "b701000034120000"
    assert _hex("(18) r1 = 0x1234", "llvm") == "18010000341200000000000000000000"


def test_verifier_opcode_must_agree_with_the_text() -> None:
    with pytest.raises(AssemblerError, match=r"opcode \(b7\)"):
        assemble("(b7) r1 += 1", "llvm")


def test_llvm_objdump_listing_lines() -> None:
    listing = """
0000000000000000 <prog>:
       0:\tb7 00 00 00 01 00 00 00\tr0 = 0x1
       1:\t18 11 00 00 05 00 00 00 00 00 00 00 00 00 00 00\tld_pseudo\tr1, 0x1, 0x5
       3:\t05 00 fc ff 00 00 00 00\tgoto -0x4 <prog>
       4:\t95 00 00 00 00 00 00 00\texit
"""
    assert _hex(listing, "llvm") == (
        "b700000001000000181100000500000000000000000000000500fcff000000009500000000000000"
    )


def test_labels_and_comments_llvm() -> None:
    text = """
    ; a comment
    start:  r0 = 0      # trailing comment
            if r0 > 0x1 goto done   // and another
            goto start
    done:
            exit
    """
    insns = assemble(text, "llvm")
    assert [str(i) for i in insns] == ["r0 = 0x0", "if r0 > 0x1 goto +0x1", "goto -0x3", "exit"]


def test_call_by_label_is_a_local_call() -> None:
    insns = assemble("call f\nexit\nf:\nr0 = 1\nexit", "llvm")
    assert (insns[0].src, insns[0].imm) == (1, 1)


# -- uBPF / bpf_conformance syntax -------------------------------------------------------------

UBPF = [
    ("mov %r0, 1", "b700000001000000"),
    ("mov64 %r0, 1", "b700000001000000"),
    ("mov32 %r0, -1", "b4000000ffffffff"),
    ("mov32 %r0, 0xffffffff", "b4000000ffffffff"),
    ("add32 %r1, %r2", "0c21000000000000"),
    ("neg %r1", "8701000000000000"),
    ("movsx832 %r0, %r1", "bc10080000000000"),
    ("movsx3264 %r0, %r1", "bf10200000000000"),
    ("sdiv32 %r0, 3", "3400010003000000"),
    ("be16 %r0", "dc00000010000000"),
    ("le64 %r3", "d403000040000000"),
    ("bswap16 %r0", "d700000010000000"),
    ("swap32 %r0", "d700000020000000"),
    ("ldxw %r0, [%r1+4]", "6110040000000000"),
    ("ldxb %r0, [%r1]", "7110000000000000"),
    ("ldxdw %r0, [%r10-8]", "79a0f8ff00000000"),
    ("ldxsh %r0, [%r1+2]", "8910020000000000"),
    ("ldxh %r0, [%r1+0xfffe]", "6910feff00000000"),
    ("stw [%r10-4], 0x12345678", "620afcff78563412"),
    ("stxdw [%r10-8], %r1", "7b1af8ff00000000"),
    ("lddw %r0, 0x1122334455667788", "1800000088776655000000004433221100"[:32]),
    ("lddw %r1, 0xFFFFFFFFFFFFFFFF", "18010000ffffffff00000000ffffffff"),
    ("lddw %r1, -1", "18010000ffffffff00000000ffffffff"),
    ("lddw %r0, 2147483648", "18000000000000800000000000000000"),
    ("lddw %r1, map[fd:5]", "18110000050000000000000000000000"),
    ("ldabsw 0x4", "2000000004000000"),
    ("ldindh %r1, 4", "4810000004000000"),
    ("lock add [%r10-8], %r1", "db1af8ff00000000"),
    ("lock fetch add [%r10-8], %r1", "db1af8ff01000000"),
    ("lock or32 [%r10-8], %r1", "c31af8ff40000000"),
    ("lock xchg32 [%r10-8], %r1", "c31af8ffe1000000"),
    ("lock cmpxchg [%r10-8], %r1", "db1af8fff1000000"),
    ("ja +2", "0500020000000000"),
    ("ja -0x2", "0500feff00000000"),
    ("ja32 +2", "0600000002000000"),
    ("jeq %r1, 0xb, +1", "150101000b000000"),
    ("jsge32 %r1, %r2, -1", "7e21ffff00000000"),
    ("call 5", "8500000005000000"),
    ("call helper 5", "8500000005000000"),
    ("call bpf_ktime_get_ns", "8500000005000000"),
    ("call %r2", "8d02000000000000"),
    ("call local +5", "8510000005000000"),
    ("call runtime 7", "8520000007000000"),
    ("call runtime 7, 2", "8520020007000000"),
    ("exit", "9500000000000000"),
]


@pytest.mark.parametrize(("text", "want"), UBPF, ids=[t for t, _ in UBPF])
def test_ubpf_syntax(text: str, want: str) -> None:
    assert _hex(text, "ubpf") == want


def test_ubpf_labels_comments_and_implicit_exit() -> None:
    text = """
    # %r1-r5 are passed
    mov %r0, 0          # comment after an instruction
    jeq %r0, 0, exit    # `exit` is the first exit instruction
    L1: mov %r0, 1
    ja L1
    exit
    call local f
    f:
    exit
    """
    insns = assemble(text, "ubpf")
    assert [i.off for i in insns[1:4]] == [2, 0, -2]
    assert insns[5].imm == 0  # call local f: f is the next instruction


def test_explicit_exit_label_wins_over_the_implicit_one() -> None:
    insns = assemble("ja exit\nexit\nexit:\nexit", "ubpf")
    assert insns[0].off == 1


def test_labels_count_lddw_as_two_slots() -> None:
    insns = assemble("ja end\nlddw %r0, 1\nend:\nexit", "ubpf")
    assert insns[0].off == 2


def test_call_local_and_ja32_labels_fill_imm() -> None:
    insns = assemble("call local f\nja32 f\nexit\nf:\nexit", "ubpf")
    assert (insns[0].imm, insns[1].imm, insns[0].off, insns[1].off) == (2, 1, 0, 0)


# -- syntax detection and bytes ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "syntax"),
    [("mov %r0, 1", "ubpf"), ("r0 = 1", "llvm"), ("goto +1", "llvm"), ("exit", "ubpf")],
)
def test_detect_syntax(text: str, syntax: str) -> None:
    assert detect_syntax(text) == syntax


def test_auto_syntax() -> None:
    assert assemble("mov %r0, 1\nexit") == assemble("r0 = 1\nexit")


def test_assemble_bytes_big_endian() -> None:
    assert assemble_bytes("r1 = r2", "llvm", byteorder="big").hex() == "bf12000000000000"


def test_unknown_syntax_is_a_value_error() -> None:
    with pytest.raises(ValueError, match="syntax"):
        assemble("exit", "gas")  # type: ignore[arg-type]


# -- errors: line, column and a reason ----------------------------------------------------------

ERRORS = [
    ("ubpf", "mov32 %r0, 2147483648", 1, 12, "out of range"),
    ("ubpf", "mov32 %r0, -2147483649", 1, 12, "out of range"),
    ("ubpf", "mov32 %r0, 0x100000000", 1, 12, "out of range"),
    ("ubpf", "ldxb %r0, [%r1+0x10000]", 1, 15, "offset"),
    ("ubpf", "ldxb %r0, [%r1-32769]", 1, 15, "offset"),
    ("ubpf", "ja +32768", 1, 4, "out of range"),
    ("ubpf", "ldxq %r0, %r1", 1, 1, "unknown mnemonic `ldxq`"),
    ("ubpf", "ldxb %r0, %r1", 1, 11, "memory operand"),
    ("ubpf", "lddw %r0", 1, 1, "wrong number of operands for `lddw`: expected 2, got 1"),
    ("ubpf", "lock", 1, 1, "wrong number of operands for `lock`"),
    ("ubpf", "lock or [%r10-8]", 1, 1, "wrong number of operands for `lock`"),
    ("ubpf", "or %r0, %r50", 1, 9, "register `%r50` does not exist"),
    ("ubpf", "or %r11, 1", 1, 4, "register `%r11` does not exist"),
    ("ubpf", "mov %x, 1", 1, 5, "does not exist"),
    ("ubpf", "ja NOT_A_LABEL\nexit", 1, 4, "unknown label `NOT_A_LABEL`"),
    ("ubpf", "a:\nexit\na:\nexit", 3, 1, "duplicate label `a` (first defined on line 1)"),
    ("ubpf", "exit\n  mov %r0, 5a", 2, 12, "bad number"),
    ("ubpf", "mov %r0, 1 @", 1, 12, "unexpected character"),
    ("ubpf", "mov %r0, 1, 2", 1, 1, "wrong number of operands"),
    ("llvm", "r11 = 1", 1, 1, "register `r11` does not exist"),
    ("llvm", "w1 += r2", 1, 7, "expected a number or `wN`, found `r2`"),
    ("llvm", "r1 = r2 ll", 1, 9, "unexpected `ll`"),
    ("llvm", "r1 = 0x123456789", 1, 6, "out of range"),
    ("llvm", "r1 = -r2", 1, 7, "same register"),
    ("llvm", "frob r1", 1, 1, "unknown instruction `frob`"),
    ("llvm", "r1 ?= 2", 1, 4, "unexpected character"),
    ("llvm", "goto nowhere", 1, 6, "unknown label `nowhere`"),
    ("llvm", "call bpf_not_a_helper", 1, 6, "unknown label or helper"),
    ("llvm", "call bpf_map_lookup_elem#2", 1, 6, "has id 1"),
    ("llvm", "if r1 > 2 goto", 1, 15, "jump target"),
    ("llvm", "*(u32 *)(r10 - 0x8) = ", 1, 22, "expected"),
]


@pytest.mark.parametrize(
    ("syntax", "text", "line", "col", "msg"), ERRORS, ids=[e[1] for e in ERRORS]
)
def test_errors_name_line_and_column(syntax: str, text: str, line: int, col: int, msg: str) -> None:
    with pytest.raises(AssemblerError) as info:
        assemble(text, syntax, source="prog.s")  # type: ignore[arg-type]
    err = info.value
    assert (err.location.source, err.location.line, err.location.column) == ("prog.s", line, col)
    assert msg in err.reason
    assert str(err).startswith(f"prog.s, line {line}, column {col}: ")


def test_first_line_shifts_error_lines() -> None:
    with pytest.raises(AssemblerError) as info:
        assemble("exit\nfrob", "llvm", first_line=10)
    assert info.value.location.line == 11


def test_jump_to_label_out_of_16_bit_range() -> None:
    text = "ja far\n" + "mov %r0, 0\n" * 40000 + "far:\nexit"
    with pytest.raises(AssemblerError, match="out of range"):
        assemble(text, "ubpf")


def test_directives_are_refused_by_name() -> None:
    with pytest.raises(AssemblerError, match=r"directives are not supported \(`\.text`\)"):
        assemble("\t.text\nexit", "llvm")


@pytest.mark.parametrize("text", ["mov %r0, " + "9" * 5000, "call x#" + "9" * 5000])
def test_huge_numbers_are_assembler_errors(text: str) -> None:
    with pytest.raises(AssemblerError, match="too long"):
        assemble(text)
