"""Safety: bad accesses, runaway programs and refused loads stop with a VMError that says where."""

from __future__ import annotations

import pytest

from pybpf.asm.instruction import Instruction
from pybpf.errors import VMError
from pybpf.vm import VM, verify
from pybpf.vm.memory import PACKET_BASE
from tests.vm.conftest import asm, load

FAULTS = [
    # (program, data, pc of the fault, address)
    ("ldxw %r0, [%r1+2]\nexit", b"abc", 0, PACKET_BASE + 2),  # past the end of the data
    ("ldxb %r0, [%r1-1]\nexit", b"abc", 0, PACKET_BASE - 1),  # before it
    ("mov %r1, 0\nldxb %r0, [%r1]\nexit", b"", 1, 0),  # null
    ("ldxdw %r0, [%r10]\nexit", b"", 0, 0x2_0000_0200),  # above the stack
    ("ldxb %r0, [%r10-513]\nexit", b"", 0, 0x2_0000_0200 - 513),  # below it
    ("lddw %r1, 0x123456789\nstb [%r1], 1\nexit", b"", 2, 0x123456789),  # wild (lddw: 2 slots)
    ("mov %r2, %r10\nadd %r2, 8\nstxb [%r2], %r1\nexit", b"", 2, 0x2_0000_0208),
]


@pytest.mark.parametrize(("text", "data", "pc", "addr"), FAULTS)
def test_bad_access_stops_with_pc_and_address(
    tier: str, text: str, data: bytes, pc: int, addr: int
) -> None:
    prog = load(text, tier)
    with pytest.raises(VMError) as info:
        prog.run(data)
    assert info.value.pc == pc
    assert info.value.address == addr  # type: ignore[attr-defined]
    assert f"pc {pc}" in str(info.value)


def test_write_to_read_only_memory(tier: str) -> None:
    from pybpf.spec import MapSpec, MapType

    vm = VM()
    ro = vm.create_map(MapSpec("ro", MapType.ARRAY, 4, 8, 1, flags=1 << 7))  # RDONLY_PROG
    text = "lddw %r1, 0\nldxdw %r0, [%r1]\nstdw [%r1], 1\nexit"
    insns = asm(text)
    insns[0] = insns[0].with_fields(src=2)  # lddw map_value(ro) + 0
    prog = vm.load(insns, tier=tier)  # type: ignore[arg-type]
    ro.memory()[:8] = (7).to_bytes(8, "little")
    with pytest.raises(VMError, match="read-only") as info:
        prog.run()
    assert info.value.pc == 3


@pytest.mark.parametrize("budget", [1, 2, 10, 1000])
def test_runaway_program_is_stopped(tier: str, budget: int) -> None:
    vm = VM(budget=budget)
    prog = load("mov %r0, 0\nloop:\nadd %r0, 1\nja loop", tier, vm)
    with pytest.raises(VMError, match="budget") as info:
        prog.run()
    # budget instructions ran: "mov" then alternately "add", "ja"
    assert info.value.pc == (0 if budget == 0 else 1 + (budget - 1) % 2)


def test_budget_is_exact(tier: str) -> None:
    """A program of exactly ``budget`` instructions completes; one more does not."""
    text = "mov %r0, 1\nmov %r0, 2\nmov %r0, 3\nexit"
    assert load(text, tier, VM(budget=4)).run() == 3
    with pytest.raises(VMError, match="budget") as info:
        load(text, tier, VM(budget=3)).run()
    assert info.value.pc == 3


def test_budget_counts_nested_calls(tier: str) -> None:
    text = """
    mov %r6, 0
    loop:
    call local f
    add %r6, 1
    jlt %r6, 100, loop
    mov %r0, %r6
    exit
    f:
    mov %r0, 1
    exit
    """
    # mov; 100 x (call, mov, exit, add, jlt); mov; exit
    assert load(text, tier, VM(budget=503)).run() == 100
    with pytest.raises(VMError, match="budget") as info:
        load(text, tier, VM(budget=502)).run()
    assert info.value.pc == 5  # the final exit


def test_call_depth_limit(tier: str) -> None:
    text = "call local f\nexit\nf:\ncall local f\nexit"
    with pytest.raises(VMError, match="deeper than 8"):
        load(text, tier).run()


REFUSED = [
    ([], "empty"),
    (asm("mov %r0, 1"), "falls off the end"),
    (asm("mov %r0, 1\nja +5\nexit"), "out of range"),
    ([Instruction(0x05, off=1), Instruction.lddw(0, 1), Instruction(0x95)], "second slot"),
    ([Instruction(0xB7, 10, imm=1), Instruction(0x95)], "read-only"),
    ([Instruction(0x07, 11), Instruction(0x95)], "r11"),
    ([Instruction(0xFF), Instruction(0x95)], "unknown opcode"),
    ([Instruction(0x07, 0, 1, 0, 1), Instruction(0x95)], "reserved"),
    ([Instruction(0x85, src=2, imm=5), Instruction(0x95)], "kfunc"),
]


@pytest.mark.parametrize(("insns", "why"), REFUSED, ids=[w for _, w in REFUSED])
def test_verifier_refuses(insns: list[Instruction], why: str) -> None:
    with pytest.raises(VMError, match=why):
        verify(insns)
    with pytest.raises(VMError, match=why):
        VM().load(insns)


def test_unknown_helper_is_refused_at_load() -> None:
    with pytest.raises(VMError, match="unknown helper") as info:
        VM().load(asm("mov %r0, 0\ncall 0x7fff\nexit"))
    assert info.value.pc == 1


def test_jump_out_of_its_function_is_refused() -> None:
    with pytest.raises(VMError, match="leaves its function"):
        VM().load(asm("call local f\nja g\nexit\nf:\ng:\nmov %r0, 1\nexit"))


def test_custom_verifier_extends_the_default() -> None:
    def no_backward_jumps(insns: list[Instruction]) -> None:
        verify(insns)
        pc = 0
        for insn in insns:
            target = insn.jump_target(pc)
            if target is not None and target <= pc:
                raise VMError("backward jump", pc=pc)
            pc += insn.slots

    vm = VM()
    assert vm.load(asm("mov %r0, 1\nexit"), verifier=no_backward_jumps).run() == 1
    with pytest.raises(VMError, match="backward"):
        vm.load(asm("l:\nja l"), verifier=no_backward_jumps)


def test_helper_fault_is_located_at_the_call(tier: str) -> None:
    # map_lookup_elem with r1 that is no map
    prog = load("mov %r1, 7\nmov %r2, %r10\ncall 1\nexit", tier)
    with pytest.raises(VMError, match="not a map") as info:
        prog.run()
    assert info.value.pc == 2


@pytest.mark.parametrize("budget", range(1, 12))
def test_budget_with_an_early_exit_is_exact(tier: str, budget: int) -> None:
    """A branch out of a straight run of code: a run that takes it needs fewer instructions
    than the run is long, and every tier must count exactly that."""
    text = """
    mov %r0, %r2
    jeq %r0, 3, out
    mov %r0, 1
    mov %r0, 2
    mov %r0, 3
    mov %r0, 4
    mov %r0, 5
    mov %r0, 6
    out:
    exit
    """
    vm = VM(budget=budget)
    prog = load(text, tier, vm)
    if budget >= 3:
        assert prog.run(b"abc") == 3  # mov, jeq (taken), exit
    else:
        with pytest.raises(VMError, match="budget") as info:
            prog.run(b"abc")
        assert info.value.pc == (budget if budget < 2 else 8)  # 8: the exit
    if budget >= 9:
        assert prog.run(b"ab") == 6
    else:
        with pytest.raises(VMError, match="budget") as info:
            prog.run(b"ab")
        assert info.value.pc == budget


def test_budget_runs_out_in_a_callee(tier: str) -> None:
    text = "mov %r6, 7\ncall local f\nadd %r0, %r6\nexit\nf:\nmov %r0, 1\nmov %r0, 2\nexit"
    assert load(text, tier, VM(budget=7)).run() == 9
    with pytest.raises(VMError, match="budget") as info:
        load(text, tier, VM(budget=6)).run()
    assert info.value.pc == 3
    with pytest.raises(VMError, match="budget") as info:
        load(text, tier, VM(budget=3)).run()
    assert info.value.pc == 5  # "mov %r0, 2" in f
