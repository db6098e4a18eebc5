"""The instruction builder: every table row reachable, encodings checked against llvm-mc."""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pybpf.asm.builder import (
    ALU,
    ALU64,
    CALL,
    FP,
    JMP,
    JMP32,
    LD,
    LDX,
    NAMESPACES,
    R0,
    R1,
    R2,
    R3,
    R4,
    R10,
    ST,
    STX,
    Label,
    Node,
    Reg,
    build,
    get_builder,
    layout,
    resolve,
)
from pybpf.asm.helpers import HELPER_IDS
from pybpf.asm.instruction import ByteOrder, Instruction, decode, encode
from pybpf.asm.opcodes import OPS, OPS_BY_NAME, Kind, Op
from pybpf.errors import AssemblerError, BPFError


def tool(name: str) -> str:
    """The path of a reference tool, or skip saying it is absent."""
    # tests/conftest.py has the same helper, but `tests` is not importable as a package here
    path = shutil.which(name)
    if path is None:
        pytest.skip(f"{name} is not installed (apt-get install llvm-19)")
    return path


# --- every row of the table has a constructor ----------------------------------------------

S16 = (-(1 << 15), (1 << 15) - 1)
S32 = (-(1 << 31), (1 << 31) - 1)


def _bounds(op: Op, name: str) -> tuple[int, int]:
    """A range every row accepts for an argument of this name."""
    if name in ("dst", "src"):
        return (0, 10)
    if name == "off" and op.kind is Kind.LDDW:
        return (0, (1 << 32) - 1)  # map value offset (imm_hi, unsigned)
    if name in ("off", "module") or (name == "target" and op.target_field == "off"):
        return S16
    if name == "value":
        return (-(1 << 63), (1 << 64) - 1)
    if name in ("dst_as", "src_as"):
        return (0, 0xFFFF)
    if name in ("helper", "map", "btf_id") or (name == "func" and op.kind is Kind.CALL):
        return (0, S32[1]) if op.target_field is None else S32
    return S32  # imm, 32-bit targets


SAMPLE = {"dst": 1, "src": 2, "off": 8, "imm": -3, "target": 5, "helper": 1, "func": 2}
SAMPLE.update(dst_as=1, src_as=0)  # the kernel casts between address spaces 0 and 1 only


def sample_args(op: Op, node: Node) -> list[int]:
    return [SAMPLE.get(name, 7) for name in node.arguments]


@pytest.mark.parametrize("op", OPS, ids=lambda op: op.name)
def test_every_row_is_reachable_at_its_table_name(op: Op) -> None:
    node = get_builder(op.name)
    assert node is not None, f"no builder for {op.name}"
    assert node.op is op
    insn = node(*sample_args(op, node))
    assert isinstance(insn, Instruction)
    assert insn.op is op
    insn.check()  # a valid instruction: known form, reserved fields zero


@pytest.mark.parametrize("op", OPS, ids=lambda op: op.name)
@pytest.mark.parametrize("byteorder", ["little", "big"])
def test_every_row_encodes_and_decodes_back_equal(op: Op, byteorder: ByteOrder) -> None:
    node = get_builder(op.name)
    assert node is not None
    insn = node(*sample_args(op, node))
    data = encode([insn], byteorder)
    assert len(data) == 8 * insn.slots
    assert decode(data, byteorder) == [insn]


@st.composite
def row_and_args(draw: st.DrawFn) -> tuple[Op, list[int]]:
    op = draw(st.sampled_from(OPS))
    node = get_builder(op.name)
    assert node is not None
    args = [draw(st.integers(*_bounds(op, name))) for name in node.arguments]
    if op.kind is Kind.ADDR_SPACE_CAST:
        args[-2:] = draw(st.sampled_from([(1, 0), (0, 1)]))
    return op, args


@given(row_and_args())
def test_any_valid_operands_round_trip(case: tuple[Op, list[int]]) -> None:
    op, args = case
    node = get_builder(op.name)
    assert node is not None
    insn = node(*args)
    assert insn.op is op
    assert decode(encode([insn])) == [insn]


def test_namespaces_are_the_table_heads() -> None:
    assert set(NAMESPACES) == {op.name.split(".")[0] for op in OPS}


def _spellings(node: Node, seen: set[int]) -> list[Node]:
    if id(node) in seen:
        return []
    seen.add(id(node))
    out = [node] if node.usage else []
    for child in node.children.values():
        out += _spellings(child, seen)
    return out


SPELLINGS = [n for root in NAMESPACES.values() for n in _spellings(root, set())]


@pytest.mark.parametrize("node", SPELLINGS, ids=lambda n: n.path)
def test_every_spelling_builds_a_valid_instruction(node: Node) -> None:
    op = node.op
    if op is None:  # a width choice: try its widths
        digits = node.usage.rsplit("with bits ", 1)[1] if node.usage else ""
        for bits in map(int, digits.split("/")):
            insn = node(*([1] * len(node.arguments)), bits)
            insn.check()
            assert insn.name == f"{node.path}{bits}"
        return
    insn = node(*sample_args(op, node))
    insn.check()
    assert insn.op is op


# --- the shapes users write ----------------------------------------------------------------

# builder call, llvm-mc text, encoding produced by `llvm-mc-19 -triple bpfel -mcpu=v4
# -show-encoding` (the live test below re-runs it).
GOLDEN: list[tuple[Instruction, str, str]] = [
    (ALU64.MOV.imm(R0, 0), "r0 = 0", "b700000000000000"),
    (ALU.MOV.imm(R1, 0xFFFFFFFF), "w1 = -1", "b4010000ffffffff"),
    (ALU64.ADD.imm(R1, 22), "r1 += 22", "0701000016000000"),
    (ALU.SDIV.reg(R1, R2), "w1 s/= w2", "3c21010000000000"),
    (ALU64.SMOD.imm(R3, -7), "r3 s%= -7", "97030100f9ffffff"),
    (ALU.RSH.K(R4, 3), "w4 >>= 3", "7404000003000000"),
    (ALU64.ARSH.X(R1, R2), "r1 s>>= r2", "cf21000000000000"),
    (ALU64.MOVSX8(R1, R2), "r1 = (s8)r2", "bf21080000000000"),
    (ALU.MOVSX(R1, R2, 16), "w1 = (s16)w2", "bc21100000000000"),
    (ALU64.MOVSX(R1, R2, bits=32), "r1 = (s32)r2", "bf21200000000000"),
    (ALU64.NEG(R1), "r1 = -r1", "8701000000000000"),
    (ALU.NEG(R1), "w1 = -w1", "8401000000000000"),
    (ALU.TO_BE(R1, 16), "r1 = be16 r1", "dc01000010000000"),
    (ALU.TO_LE32(R1), "r1 = le32 r1", "d401000020000000"),
    (ALU64.BSWAP(R1, 64), "r1 = bswap64 r1", "d701000040000000"),
    (ALU64.ADDR_SPACE_CAST(R1, R2, 1, 0), "r1 = addr_space_cast(r2, 1, 0)", "bf21010000000100"),
    (LDX.MEM.W(R0, R1, 4), "w0 = *(u32 *)(r1 + 4)", "6110040000000000"),
    (LDX.MEMSX.B(R0, R1, -1), "r0 = *(s8 *)(r1 - 1)", "9110ffff00000000"),
    (LDX.MEM.DW(R3, FP, -16), "r3 = *(u64 *)(r10 - 16)", "79a3f0ff00000000"),
    (ST.MEM.DW(R10, -8, 7), "*(u64 *)(r10 - 8) = 7", "7a0af8ff07000000"),
    (ST.MEM.B(R1, 2, 255), "*(u8 *)(r1 + 2) = 255", "72010200ff000000"),
    (STX.MEM.DW(R10, R1, -8), "*(u64 *)(r10 - 8) = r1", "7b1af8ff00000000"),
    (STX.MEM.H(dst=R2, src=R3, off=6), "*(u16 *)(r2 + 6) = w3", "6b32060000000000"),
    (STX.ATOMIC.W.ADD(R1, R2, 4), "lock *(u32 *)(r1 + 4) += w2", "c321040000000000"),
    (
        STX.ATOMIC.DW.FETCH_ADD(R10, R1, -8),
        "r1 = atomic_fetch_add((u64 *)(r10 - 8), r1)",
        "db1af8ff01000000",
    ),
    (
        STX.ATOMIC.W.FETCH_XOR(R3, R2, 0),
        "w2 = atomic_fetch_xor((u32 *)(r3 + 0), w2)",
        "c3230000a1000000",
    ),
    (STX.ATOMIC.DW.CMPXCHG(R1, R2, 8), "r0 = cmpxchg_64(r1 + 8, r0, r2)", "db210800f1000000"),
    (STX.ATOMIC.DW.XCHG(R1, R2, 0), "r2 = xchg_64(r1 + 0, r2)", "db210000e1000000"),
    (
        LD.IMM64(R1, 0x1234_5678_9ABC_DEF0),
        "r1 = 0x123456789abcdef0 ll",
        "18010000f0debc9a0000000078563412",
    ),
    (LD.ABS.W(4), "r0 = *(u32 *)skb[4]", "2000000004000000"),
    (LD.IND.H(R1, 0), "r0 = *(u16 *)skb[r1]", "4810000000000000"),
    (JMP.CALL(1), "call 1", "8500000001000000"),
    (JMP.CALL("bpf_tail_call"), "call 12", "850000000c000000"),
    (JMP.CALLX(R2), "callx r2", "8d02000000000000"),
    (JMP32.JA(5), "gotol +5", "0600000005000000"),
    (JMP.MAY_GOTO(3), "may_goto +3", "e500030000000000"),
    (JMP.JA(-1), "goto -1", "0500ffff00000000"),
    (JMP.JEQ.reg(R1, R2, 1), "if r1 == r2 goto +1", "1d21010000000000"),
    (JMP32.JSLT.imm(R1, -5, -3), "if w1 s< -5 goto -3", "c601fdfffbffffff"),
    (JMP.JSET.imm(R1, 0x10, 0), "if r1 & 0x10 goto +0", "4501000010000000"),
    (JMP.EXIT(), "exit", "9500000000000000"),
]


@pytest.mark.parametrize(("insn", "text", "hexbytes"), GOLDEN, ids=[g[1] for g in GOLDEN])
def test_builder_matches_llvm_mc_golden(insn: Instruction, text: str, hexbytes: str) -> None:
    assert encode([insn]).hex() == hexbytes


@pytest.mark.tool
def test_golden_is_what_llvm_mc_assembles_now(tmp_path: Path) -> None:
    mc = tool("llvm-mc-19")
    src = tmp_path / "g.s"
    src.write_text("".join(f"{text}\n" for _, text, _ in GOLDEN))
    out = subprocess.run(
        [mc, "-triple", "bpfel", "-mcpu=v4", "-show-encoding", str(src)],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    got = [
        bytes(int(b, 16) for b in line.split("encoding: [")[1].rstrip("]").split(",")).hex()
        for line in out.splitlines()
        if "encoding:" in line
    ]
    assert got == [hexbytes for _, _, hexbytes in GOLDEN]
    assert [encode([insn]).hex() for insn, _, _ in GOLDEN] == got


def test_the_shapes_of_the_design_brief() -> None:
    fd, off, btf_id = 3, 16, 1234
    prog = build(
        [
            ALU64.MOV.imm(R0, 0),
            JMP.JEQ.reg(R1, R2, "out"),
            ALU64.ADD.imm(R1, 22),
            ALU.SDIV.reg(R1, R2),
            ALU64.MOVSX8(R1, R2),
            ALU64.NEG(R1),
            ALU.TO_BE(R1, 16),
            ALU64.BSWAP(R1, 32),
            LDX.MEM.W(R0, R1, 4),
            LDX.MEMSX.B(R0, R1, -1),
            ST.MEM.DW(R10, -8, 7),
            STX.MEM.DW(R10, R1, -8),
            STX.ATOMIC.DW.FETCH_ADD(R10, R1, -8),
            LD.IMM64(R1, 0x1234_5678_9ABC_DEF0),
            LD.MAP_FD(R1, fd),
            LD.MAP_VALUE(R1, fd, off),
            LD.ABS.W(4),
            LD.IND.W(R1, 4),
            JMP.CALL(1),
            JMP.CALL("bpf_map_lookup_elem"),
            JMP.CALL_LOCAL("func"),
            JMP.CALL_KFUNC(btf_id),
            JMP.CALLX(R2),
            Label("loop"),
            JMP.JA("loop"),
            JMP32.JA("far"),
            JMP.MAY_GOTO("out"),
            Label("out"),
            Label("far"),
            JMP.EXIT(),
            Label("func"),
            JMP.EXIT(),
        ]
    )
    assert all(i.ref is None for i in prog)
    assert prog[1].off == 29 - 2  # three lddw add three slots: "out" is slot 29
    assert (prog[-5].off, prog[-4].imm, prog[-3].off) == (-1, 1, 0)  # JA, gotol, may_goto
    assert prog[20].imm == 30 - 24  # CALL_LOCAL at slot 23 -> "func" at slot 30
    assert decode(encode(prog)) == prog


def test_the_module_example_builds() -> None:
    prog = build(
        [
            ALU64.MOV.imm(R0, 0),
            STX.MEM.DW(R10, R0, -8),
            LD.MAP_FD(R1, "counts"),
            ALU64.MOV.reg(R2, R10),
            ALU64.ADD.imm(R2, -8),
            JMP.CALL("bpf_map_lookup_elem"),
            JMP.JEQ.imm(R0, 0, "out"),
            ALU64.MOV.imm(R1, 1),
            STX.ATOMIC.DW.ADD(R0, R1, 0),
            Label("out"),
            ALU64.MOV.imm(R0, 0),
            JMP.EXIT(),
        ]
    )
    assert prog[2].ref == "counts" and prog[6].off == 2
    assert [i.ref for i in prog].count(None) == len(prog) - 1


def test_instructions_are_the_rows_meant() -> None:
    cases = {
        "ALU64.MOV.K": ALU64.MOV.imm(R0, 0),
        "ALU.SDIV.X": ALU.SDIV.reg(R1, R2),
        "ALU.TO_BE16": ALU.TO_BE(R1, 16),
        "ALU64.BSWAP32": ALU64.BSWAP(R1, 32),
        "LD.IMM64.MAP_FD": LD.MAP_FD(R1, 3),
        "LD.IMM64.MAP_VALUE": LD.MAP_VALUE(R1, 3, 16),
        "LD.IMM64.MAP_IDX": LD.MAP_IDX(R1, 0),
        "LD.IMM64.BTF_ID": LD.BTF_ID(R1, 42),
        "LD.IMM64.FUNC": LD.FUNC(R1, "f"),
        "CALL.HELPER": JMP.CALL("bpf_map_lookup_elem"),
        "CALL.LOCAL": JMP.CALL_LOCAL("func"),
        "CALL.KFUNC": JMP.CALL_KFUNC(1234),
        "CALL.X": JMP.CALLX(R2),
        "JMP.GOTOX": JMP.GOTOX(R3),
        "JMP32.JA": JMP32.JA("far"),
        "JMP.MAY_GOTO": JMP.MAY_GOTO("out"),
        "STX.ATOMIC.DW.LOAD_ACQ": STX.ATOMIC.DW.LOAD_ACQ(R0, R1, 0),
    }
    assert {name: insn.name for name, insn in cases.items()} == {n: n for n in cases}


def test_fields_of_pseudo_lddw_forms() -> None:
    assert LD.MAP_VALUE(R1, 5, 16) == Instruction(0x18, 1, 2, 0, 5, 16)
    assert LD.MAP_IDX_VALUE(R2, 1, 8).imm_hi == 8
    assert LD.MAP_VALUE(R1, 5).imm_hi == 0  # off defaults to 0
    assert LD.IMM64(R1, -1).imm64 == (1 << 64) - 1
    assert LD.IMM64(R1, (1 << 64) - 1) == LD.IMM64(R1, -1)
    assert JMP.CALL_KFUNC(99, module=2) == Instruction(0x85, 0, 2, 2, 99)


def test_atomic_argument_order_follows_the_fields() -> None:
    # STX.ATOMIC(dst=base, src=value, off); LOAD_ACQ loads into dst from src + off
    insn = STX.ATOMIC.DW.FETCH_ADD(R10, R1, -8)
    assert (insn.dst, insn.src, insn.off) == (10, 1, -8)
    acq = STX.ATOMIC.W.LOAD_ACQ(R0, R1, 4)
    assert (acq.dst, acq.src, acq.off, acq.imm) == (0, 1, 4, 0x100)


def test_aliases_are_the_same_constructors() -> None:
    assert ALU64.ADD.imm is ALU64.ADD.K
    assert JMP32.JGT.reg is JMP32.JGT.X
    assert LD.MAP_FD is LD.IMM64.MAP_FD
    assert JMP.CALL is CALL
    assert JMP.CALL_LOCAL is CALL.LOCAL
    assert JMP.CALL_KFUNC is CALL.KFUNC
    assert JMP.CALLX is CALL.X
    assert CALL(7) == CALL.HELPER(7) == JMP.CALL(7)
    assert ALU64.BSWAP(R1, 16) == ALU64.BSWAP16(R1)
    assert ALU.TO_LE(R1, bits=64) == ALU.TO_LE64(R1)


def test_keywords_name_the_fields() -> None:
    assert STX.MEM.W(dst=R1, src=R2, off=4) == STX.MEM.W(R1, R2, 4)
    assert ST.MEM.W(R1, imm=9, off=-4) == ST.MEM.W(R1, -4, 9)
    assert JMP.JNE.imm(R1, 0, target=3).off == 3


def test_helpers_by_name() -> None:
    lookup = HELPER_IDS["bpf_map_lookup_elem"]
    assert JMP.CALL("bpf_map_lookup_elem").imm == lookup
    assert JMP.CALL("map_lookup_elem").imm == lookup
    with pytest.raises(AssemblerError, match="bpf_map_lookup_elem"):
        JMP.CALL("bpf_map_lookup_elm")


def test_registers() -> None:
    assert FP is R10 and int(Reg.FP) == 10
    assert str(R3) == "r3"
    assert ALU64.MOV.reg(3, 4) == ALU64.MOV.reg(R3, R4)  # plain ints work too


def test_introspection() -> None:
    assert ALU64.ADD.K.usage == "ALU64.ADD.K(dst, imm)"
    assert ALU64.ADD.K.arguments == ("dst", "imm")
    assert ST.MEM.DW.arguments == ("dst", "off", "imm")
    assert STX.MEM.DW.arguments == ("dst", "src", "off")
    assert ALU64.ADD.usage is None and ALU64.ADD.op is None
    assert "ADD" in dir(ALU64) and "imm" in ALU64.ADD.children
    assert "ALU64.ADD.K(dst, imm)" in repr(ALU64.ADD.imm)
    assert get_builder("ALU64.NOPE") is None
    assert get_builder("NOPE.ADD") is None


# --- labels ----------------------------------------------------------------------------------


def test_forward_and_backward_labels() -> None:
    prog = build(
        [
            Label("top"),
            ALU64.MOV.imm(R0, 0),
            JMP.JEQ.imm(R1, 0, "out"),
            ALU64.ADD.imm(R0, 1),
            JMP.JA("top"),
            Label("out"),
            JMP.EXIT(),
        ]
    )
    assert [i.ref for i in prog] == [None] * 5
    assert prog[1].off == 2  # slot 1 -> slot 4
    assert prog[3].off == -4  # slot 3 -> slot 0


def test_lddw_counts_two_slots() -> None:
    prog = build(
        [
            JMP.JA("end"),
            LD.IMM64(R0, 1 << 40),
            Label("end"),
            JMP.EXIT(),
            LD.IMM64(R1, 1),
            JMP.JA("end"),
        ]
    )
    assert prog[0].off == 2  # over both slots of the lddw
    assert prog[4].off == -4  # from slot 6 back to slot 3, across another lddw (slots 4-5)


def test_consecutive_labels_name_the_same_slot() -> None:
    insns, labels = layout([Label("a"), Label("b"), JMP.EXIT(), Label("end")])
    assert labels == {"a": 0, "b": 0, "end": 1}
    assert len(insns) == 1


def test_imm_targets_resolve_relative_to_the_next_slot() -> None:
    prog = build(
        [
            JMP32.JA("f"),  # gotol: imm
            LD.FUNC(R2, "f"),  # lddw of a function: imm, counted from slot + 1 like the kernel
            JMP.CALL_LOCAL("f"),  # bpf-to-bpf call: imm
            JMP.EXIT(),
            Label("f"),
            JMP.EXIT(),
        ]
    )
    assert (prog[0].imm, prog[0].off) == (4, 0)
    assert prog[1].imm == 3  # at slot 1, target slot 5
    assert prog[2].imm == 1  # at slot 3


def test_labels_match_llvm_mc_layout() -> None:
    # the program of test_labels_match_llvm_mc_live, bytes of llvm-mc-19's .text
    assert encode(_LABEL_PROG).hex() == _LABEL_GOLDEN


_LABEL_TEXT = """top:
  if r1 == 0 goto out
  r2 = 0x100000000 ll
  r0 = 1
  goto top
  gotol out
  call fn
out:
  exit
fn:
  r0 = 0
  exit
"""
_LABEL_PROG = build(
    [
        Label("top"),
        JMP.JEQ.imm(R1, 0, "out"),
        LD.IMM64(R2, 0x1_0000_0000),
        ALU64.MOV.imm(R0, 1),
        JMP.JA("top"),
        JMP32.JA("out"),
        JMP.CALL_LOCAL("fn"),
        Label("out"),
        JMP.EXIT(),
        Label("fn"),
        ALU64.MOV.imm(R0, 0),
        JMP.EXIT(),
    ]
)
_LABEL_GOLDEN = (
    "1501060000000000"  # if r1 == 0 goto +6 (over the lddw's two slots)
    "18020000000000000000000001000000"  # r2 = 0x100000000 ll
    "b700000001000000"
    "0500fbff00000000"  # goto -5
    "0600000001000000"  # gotol +1
    "8510000001000000"  # call +1 (local)
    "9500000000000000"
    "b700000000000000"
    "9500000000000000"
)


@pytest.mark.tool
def test_labels_match_llvm_mc_live(tmp_path: Path) -> None:
    mc = tool("llvm-mc-19")
    objcopy = tool("llvm-objcopy-19")
    (tmp_path / "l.s").write_text(_LABEL_TEXT)
    obj, text = tmp_path / "l.o", tmp_path / "l.bin"
    mc_args = ["-triple", "bpfel", "-mcpu=v4", "-filetype=obj", "-o", str(obj)]
    subprocess.run([mc, *mc_args, str(tmp_path / "l.s")], check=True, capture_output=True)
    copy_args = ["-O", "binary", "--only-section=.text", str(obj), str(text)]
    subprocess.run([objcopy, *copy_args], check=True, capture_output=True)
    assert text.read_bytes().hex() == encode(_LABEL_PROG).hex()


# --- refs left for the loader and the linker -------------------------------------------------


def test_map_and_kernel_refs_are_left_even_when_a_label_has_the_name() -> None:
    prog = build(
        [
            LD.MAP_FD(R1, "events"),
            LD.MAP_VALUE(R2, ".data", 8),
            LD.BTF_ID(R3, "bpf_prog_active"),
            JMP.CALL_KFUNC("bpf_rcu_read_lock"),
            Label("events"),
            JMP.EXIT(),
        ]
    )
    assert [i.ref for i in prog[:4]] == ["events", ".data", "bpf_prog_active", "bpf_rcu_read_lock"]
    assert (prog[0].imm, prog[1].imm, prog[1].imm_hi) == (0, 0, 8)


def test_function_refs_outside_the_list_are_left_for_the_linker() -> None:
    prog = build([JMP.CALL_LOCAL("helper_fn"), LD.FUNC(R1, "cb"), JMP.EXIT()])
    assert [i.ref for i in prog] == ["helper_fn", "cb", None]
    with pytest.raises(ValueError, match="unresolved reference"):
        encode(prog)


def test_resolve_takes_labels_from_elsewhere() -> None:
    # e.g. the assembler, which knows its labels from the text
    insns = [JMP.JA("x"), JMP.EXIT()]
    assert resolve(insns, {"x": 2})[0].off == 1
    assert resolve([JMP32.JA("far")], {"far": 40_000})[0].imm == 39_999


# --- errors ----------------------------------------------------------------------------------


def test_unknown_label() -> None:
    with pytest.raises(AssemblerError, match=r"insn 1: JMP.JNE.K: unknown label 'otu'.*'out'"):
        build([ALU64.MOV.imm(R0, 0), JMP.JNE.imm(R1, 0, "otu"), Label("out"), JMP.EXIT()])


def test_duplicate_label() -> None:
    with pytest.raises(AssemblerError, match=r"duplicate label 'a' \(first at slot 0"):
        build([Label("a"), JMP.EXIT(), Label("a"), JMP.EXIT()])


def test_jump_too_far_suggests_gotol() -> None:
    with pytest.raises(AssemblerError, match=r"\+39999 slots away.*JMP32.JA \(gotol"):
        resolve([JMP.JA("far")], {"far": 40_000})
    with pytest.raises(AssemblerError, match="16-bit"):
        resolve([JMP.JA(0), JMP32.JEQ.imm(R1, 0, "back")], {"back": -40_000})


def test_jump_too_far_in_a_real_program() -> None:
    body = [ALU64.MOV.imm(R0, 0)] * 32_768
    with pytest.raises(AssemblerError, match="beyond a 16-bit jump offset"):
        build([JMP.JA("end"), *body, Label("end"), JMP.EXIT()])
    prog = build([JMP32.JA("end"), *body, Label("end"), JMP.EXIT()])
    assert prog[0].imm == 32_768


@pytest.mark.parametrize(
    ("make", "match"),
    [
        (lambda: ALU64.MOV.imm(R1, 1 << 32), "does not fit.*LD.IMM64"),
        (lambda: ALU64.MOV.imm(R1, 0xFFFF_FFFF), "sign-extended .* mean -1; use LD.IMM64"),
        (lambda: JMP.JEQ.imm(R1, 0x8000_0000, 0), "mean -2147483648"),
        (lambda: ALU.ADD.imm(R1, -(1 << 31) - 1), "does not fit"),
        (lambda: ALU64.MOV.reg(R1, 11), "11 is not a register"),
        (lambda: ALU64.MOV.reg(-1, R1), "-1 is not a register"),
        (lambda: ALU64.MOV.reg("r1", R1), "'r1' is not a register"),
        (lambda: ALU64.MOV.reg(True, R1), "True is not a register"),
        (lambda: LDX.MEM.W(R0, R1, 1 << 15), "off: 32768 does not fit"),
        (lambda: ST.MEM.DW(R10, -8, "x"), "expected an integer"),
        (lambda: JMP.JA(1 << 15), "target: 32768 does not fit"),
        (lambda: JMP.JA(""), "empty label"),
        (lambda: LD.IMM64(R1, 1 << 64), "does not fit"),
        (lambda: LD.MAP_FD(R1, -1), "does not fit"),
        (lambda: JMP.CALL(-1), "helper: -1 does not fit"),
        (lambda: LD.MAP_VALUE(R1, 3, -1), "does not fit"),
        (lambda: ALU.TO_BE(R1, 8), "bits 8 is not one of them"),
        (lambda: ALU64.ADDR_SPACE_CAST(R1, R2, 1 << 16, 0), "dst_as: 65536"),
        (lambda: Label(""), "non-empty string"),
        (lambda: build([JMP.EXIT]), "JMP.EXIT is a constructor, not an instruction"),
        (lambda: build([1]), "expected an Instruction or a Label, got int"),
    ],
)
def test_bad_values_raise_at_call_time(make: Callable[[], object], match: str) -> None:
    with pytest.raises(AssemblerError, match=match):
        make()


def test_unsigned_imm_where_32_bits_are_all_there_is() -> None:
    assert ALU.MOV.imm(R1, 0xFFFF_FFFF).imm == -1
    assert JMP32.JEQ.imm(R1, 0x8000_0000, 0).imm == -(1 << 31)
    assert ST.MEM.W(R10, -4, 0xFFFF_FFFF).imm == -1


@pytest.mark.parametrize(
    ("make", "match"),
    [
        (lambda: ALU64.ADD.imm(R1), "ALU64.ADD.K\\(dst, imm\\): missing argument 'imm'"),
        (lambda: JMP.EXIT(1), "takes 0 arguments, 1 given"),
        (lambda: STX.MEM.W(R1, R2, 0, src=R3), "given twice 'src'"),
        (lambda: ALU64.MOV.imm(R1, value=3), "unknown argument 'value'"),
        (lambda: ALU64.ADD(R1, 2), "ALU64.ADD is a group.*ALU64.ADD.K\\(dst, imm\\)"),
        (lambda: ALU.TO_BE(R1), "missing argument 'bits'"),
    ],
)
def test_wrong_calls_are_type_errors(make: Callable[[], object], match: str) -> None:
    with pytest.raises(TypeError, match=match):
        make()


def test_unknown_name_suggests() -> None:
    with pytest.raises(AttributeError, match="did you mean"):
        _ = ALU64.ADDD


def test_assembler_error_is_a_value_error() -> None:
    with pytest.raises(ValueError):
        ALU64.MOV.reg(R1, 12)
    assert issubclass(AssemblerError, BPFError)


def test_resolved_lists_are_plain_values() -> None:
    # build() leaves nothing to mutate: the same input gives equal output
    items = [Label("l"), JMP.JA("l")]
    assert build(items) == build(items) == [Instruction(0x05, off=-1)]
    assert OPS_BY_NAME["JMP.JA"] is build(items)[0].op
