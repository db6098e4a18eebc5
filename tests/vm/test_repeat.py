"""``test_run(repeat=N)`` is N runs, each a new run: budget, ``may_goto`` count and tail
calls start over, frames start zeroed, the packet stays as the last run left it. Every
tier has a batch path of its own for it (no per-run Python call in the fast tier, one
native call in the JIT), so each is checked against plain runs."""

from __future__ import annotations

import pytest

from pybpf.errors import VMError
from pybpf.spec import MapSpec, MapType
from pybpf.vm import VM, NoDataEntry
from pybpf.vm.memory import STACK_REGION, region_base
from tests.vm.conftest import TIER_PARAMS, asm, load

COUNTER = "ldxb %r0, [%r1]\nadd %r0, 1\nstxb [%r1], %r0\nexit"


def test_repeat_keeps_the_packet_between_runs(tier: str) -> None:
    result = load(COUNTER, tier).test_run(b"\x00", repeat=300)
    assert (result.retval, result.data) == (300 % 256, bytes([300 % 256]))


def test_repeat_stops_at_the_first_failing_run(tier: str) -> None:
    text = "ldxb %r0, [%r1]\nadd %r0, 1\nstxb [%r1], %r0\njne %r0, 5, +1\nldxb %r0, [%r1+9]\nexit"
    prog = load(text, tier)
    with pytest.raises(VMError) as info:
        prog.test_run(b"\x00", repeat=100)
    assert info.value.pc == 4
    assert prog.entry.result()[0] == b"\x05"  # the fifth run failed; no run after it


def test_each_run_has_the_whole_budget(tier: str) -> None:
    """A loop of 9 instructions a run: 1000 runs pass on a budget of 10 each."""
    text = "mov %r0, 0\nloop:\nadd %r0, 1\njlt %r0, 4, loop\nexit"
    assert load(text, tier, VM(budget=10)).test_run(repeat=1000).retval == 4
    with pytest.raises(VMError, match="budget"):
        load(text, tier, VM(budget=8)).test_run(repeat=1000)


def test_each_run_has_its_may_goto_count(tier: str) -> None:
    text = "mov %r0, 0\nloop:\nmay_goto out\nadd %r0, 1\nja loop\nout:\nexit"
    vm = VM(budget=100_000_000)
    assert load(text, tier, vm).test_run(repeat=3).retval == 8 * 1024 * 1024


WRITE = "stdw [%r10-8], 0x55\nmov %r0, 0\nexit"
READ = "ldxdw %r0, [%r10-8]\nexit"
FORGED_READ = f"lddw %r1, {region_base(STACK_REGION) + 512 - 8:#x}\nldxdw %r0, [%r1]\nexit"


@pytest.mark.parametrize("reader", [READ, FORGED_READ], ids=["r10", "forged"])
@pytest.mark.parametrize("second", TIER_PARAMS)
@pytest.mark.parametrize("first", TIER_PARAMS)
def test_frames_start_zeroed_whoever_wrote_them(first: str, second: str, reader: str) -> None:
    """Frames are zeroed lazily (a frame nobody wrote is left alone): a write by any tier,
    through r10 or an address made up from a constant, is gone at the next run."""
    vm = VM()
    writer = vm.load(asm(WRITE), tier=first, entry=NoDataEntry())  # type: ignore[arg-type]
    read = vm.load(asm(reader), tier=second, entry=NoDataEntry())  # type: ignore[arg-type]
    for _ in range(2):
        writer.run()
        assert read.run() == 0
        assert read.test_run(repeat=3).retval == 0


def test_a_helper_writing_a_zeroed_frame(tier: str) -> None:
    """bpf_get_current_comm writes the frame through the address space, not a store."""
    text = "mov %r1, %r10\nadd %r1, -16\nmov %r2, 16\ncall 16\nldxb %r0, [%r10-16]\nexit"
    prog = load(text, tier)
    assert prog.test_run(repeat=3).retval == ord("p")  # "pybpf-vm"
    assert load(READ.replace("-8", "-16"), "interp", prog.vm).run() == 0


EARLY_EXIT = "mov %r0, %r2\njeq %r0, 1, out\nmov %r0, 7\nmov %r0, 8\nmov %r0, 9\nout:\nexit"


def test_runs_a_tier_hands_to_the_interpreter_go_on(tier: str) -> None:
    """With a budget of 3, a 1-byte packet takes the early exit (3 instructions) though the
    straight run is 6 long: the fast tier and the JIT give such runs to the interpreter,
    and the batch goes on after them."""
    prog = load(EARLY_EXIT, tier, VM(budget=3))
    assert prog.test_run(b"x", repeat=5).retval == 1
    with pytest.raises(VMError, match="budget") as info:
        prog.test_run(b"xy", repeat=5)
    assert info.value.pc == 3


def test_tail_call_into_a_program_that_calls_helpers(tier: str) -> None:
    """The target runs its own helpers (natively: with its own trampoline), and the caller
    goes on with its own afterwards."""
    vm = VM()
    vm.helpers.register(0x2000, lambda env, a, *_: a + 1)
    jumps = vm.create_map(MapSpec("jumps", MapType.PROG_ARRAY, 4, 4, 1))
    from pybpf.vm import XdpEntry

    target = vm.load(
        asm("mov %r1, 41\nlddw %r2, 0x2000\ncall %r2\nexit"), tier=tier, entry=XdpEntry()
    )  # type: ignore[arg-type]
    text = "mov %r6, %r1\nlddw %r2, 0\nmov %r3, 0\ncall 12\nmov %r1, 1\ncall 7\nmov %r0, 5\nexit"
    insns = asm(text)
    insns[1] = insns[1].with_fields(src=1, imm=0, ref="jumps")
    caller = vm.load(insns, tier=tier, entry=XdpEntry())  # type: ignore[arg-type]
    assert caller.run(bytes(64)) == 5  # empty slot: prandom (helper 7), then r0 = 5
    jumps[0] = target
    assert caller.test_run(bytes(64), repeat=3).retval == 42
