"""Local calls, callx, bpf_loop callbacks, tail calls, may_goto, legacy packet loads."""

from __future__ import annotations

import pytest

from pybpf.asm.instruction import Instruction
from pybpf.errors import VMError
from pybpf.spec import MapSpec, MapType
from pybpf.vm import VM, SkbEntry
from tests.vm.conftest import asm, load


def test_local_call_preserves_callee_saved_and_has_its_own_stack(tier: str) -> None:
    text = """
    mov %r6, 6
    mov %r9, 9
    stdw [%r10-8], 100
    mov %r1, 5
    call local f
    ldxdw %r2, [%r10-8]
    add %r0, %r2
    add %r0, %r6
    add %r0, %r9
    exit
    f:
    stdw [%r10-8], 7
    mov %r6, 1000
    mov %r9, 1000
    mov %r0, %r1
    mul %r0, 2
    exit
    """
    assert load(text, tier).run() == 10 + 100 + 6 + 9


def test_callee_reads_callers_stack_through_a_pointer(tier: str) -> None:
    text = """
    stdw [%r10-8], 41
    mov %r1, %r10
    add %r1, -8
    call local f
    exit
    f:
    ldxdw %r0, [%r1]
    add %r0, 1
    exit
    """
    assert load(text, tier).run() == 42


def test_callx_calls_a_function_by_address(tier: str) -> None:
    insns = asm("lddw %r3, 0\ncall %r3\nexit\nf:\nmov %r0, 77\nexit")
    insns[0] = Instruction.lddw(3, 0, src=4).with_fields(imm=3)  # func at 0 + 1 + 3
    assert VM().load(insns, tier=tier).run() == 77  # type: ignore[arg-type]


def test_callx_calls_a_helper_by_id(tier: str) -> None:
    vm = VM()
    vm.helpers.register(0x1000, lambda env, a, b, *_: a * b)
    assert load("mov %r1, 6\nmov %r2, 7\nlddw %r3, 0x1000\ncall %r3\nexit", tier, vm).run() == 42


def test_callx_of_a_bad_address_faults(tier: str) -> None:
    prog = load("lddw %r3, 0xa00000063\ncall %r3\nexit", tier)
    with pytest.raises(VMError, match="not the address of a function"):
        prog.run()


def _loop_program() -> list[Instruction]:
    # r0 = bpf_loop(10, cb, &ctx, 0); cb adds its index to *ctx, stops at 5
    text = """
    stdw [%r10-8], 0
    mov %r1, 10
    lddw %r2, 0
    mov %r3, %r10
    add %r3, -8
    mov %r4, 0
    call 181
    ldxdw %r1, [%r10-8]
    lsh %r0, 32
    or %r0, %r1
    exit
    cb:
    ldxdw %r3, [%r2]
    add %r3, %r1
    stxdw [%r2], %r3
    mov %r0, 0
    jne %r1, 5, +1
    mov %r0, 1
    exit
    """
    insns = asm(text)
    insns[2] = Instruction.lddw(2, 0, src=4).with_fields(imm=9)  # func at 2 + 1 + 9 = 12
    return insns


def test_bpf_loop_calls_back(tier: str) -> None:
    r0 = VM().load(_loop_program(), tier=tier).run()  # type: ignore[arg-type]
    assert r0 >> 32 == 6  # iterations: 0..5
    assert r0 & 0xFFFFFFFF == sum(range(6))


def test_tail_call_runs_the_target_with_the_context(tier: str) -> None:
    vm = VM()
    jumps = vm.create_map(MapSpec("jumps", MapType.PROG_ARRAY, 4, 4, 4))
    target = load("ldxb %r0, [%r1+1]\nadd %r0, 1000\nexit", tier, vm)
    caller_text = """
    mov %r6, %r1
    lddw %r2, 0
    mov %r3, 2
    call 12
    mov %r0, 1
    exit
    """
    insns = asm(caller_text)
    insns[1] = insns[1].with_fields(src=1, imm=0, ref="jumps")
    caller = vm.load(insns, tier=tier)  # type: ignore[arg-type]
    assert caller.run(b"\x05\x09") == 1  # empty slot: the call fails, execution goes on
    jumps[2] = target
    assert caller.run(b"\x05\x09") == 1009
    assert jumps[2] is target


def test_tail_calls_stop_after_33(tier: str) -> None:
    vm = VM()
    jumps = vm.create_map(MapSpec("jumps", MapType.PROG_ARRAY, 4, 4, 1))
    # count the calls in a stack slot of the first frame... via r1's packet byte instead:
    text = """
    ldxb %r2, [%r1]
    add %r2, 1
    stxb [%r1], %r2
    lddw %r2, 0
    mov %r3, 0
    call 12
    ldxb %r0, [%r1]
    exit
    """
    insns = asm(text)
    insns[3] = insns[3].with_fields(src=1, imm=0, ref="jumps")
    prog = vm.load(insns, tier=tier)  # type: ignore[arg-type]
    jumps[0] = prog
    assert prog.run(b"\x00") == 34  # the first run and 33 tail calls
    # each run of a batch has its 33 (not 33 for the whole batch); the packet is shared
    result = prog.test_run(b"\x00", repeat=5)
    assert (result.retval, result.data) == (5 * 34, bytes([5 * 34]))


def test_may_goto_gives_up_after_its_budget(tier: str) -> None:
    text = """
    mov %r0, 0
    loop:
    may_goto out
    add %r0, 1
    ja loop
    out:
    exit
    """
    vm = VM(budget=100_000_000)
    assert load(text, tier, vm).run() == 8 * 1024 * 1024


def test_legacy_packet_loads(tier: str) -> None:
    text = "ldabsh 12\nmov %r6, %r0\nmov %r7, 2\nldindb %r7, 0\nlsh %r6, 8\nor %r0, %r6\nexit"
    pkt = bytes(12) + b"\x08\x00\xab\xcd" + bytes(18)  # an IPv4 frame: a whole header
    prog = VM().load(asm(text), tier=tier, entry=SkbEntry())  # type: ignore[arg-type]
    assert prog.run(pkt) == (0x0800 << 8) | 0x00
    oob = VM().load(asm("ldabsw 100\nmov %r0, 5\nexit"), tier=tier, entry=SkbEntry())  # type: ignore[arg-type]
    assert oob.run(pkt) == 0  # out of the packet: the program exits with 0
