"""Bounds checks a tier may leave out or merge (the JIT does, where the program's own
branches show an access is inside the packet) must never change what a program does:
every tier gives the interpreter's r0, packet and error, at any budget."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pybpf.errors import VMError
from pybpf.spec import MapSpec, MapType
from pybpf.vm import VM, XdpEntry
from tests.vm.conftest import HAS_LLVMLITE, asm, load
from tests.vm.gen import packet_program

Outcome = tuple[object, ...]


def _outcome(text: str, tier: str, data: bytes, budget: int = 10**6) -> Outcome:
    prog = VM(budget=budget).load(asm(text), tier=tier)  # type: ignore[arg-type]
    try:
        result = prog.test_run(data)
    except VMError as exc:
        return ("error", exc.pc, getattr(exc, "address", None), "budget" in str(exc))
    return ("ok", result.retval, result.data)


def _agree(text: str, data: bytes, budget: int = 10**6) -> Outcome:
    want = _outcome(text, "interp", data, budget)
    assert _outcome(text, "fast", data, budget) == want
    if HAS_LLVMLITE:
        assert _outcome(text, "jit", data, budget) == want
    return want


SHORT_CHECK = """
add %r2, %r1
mov %r3, %r1
add %r3, 2
jgt %r3, %r2, out
ldxw %r0, [%r1]
out:
exit
"""


def test_a_check_too_short_for_the_access_still_faults(tier: str) -> None:
    """The program checks 2 bytes and reads 4: past the end of a 3-byte packet."""
    prog = load(SHORT_CHECK, tier)
    assert prog.run(b"\x01\x00\x00\x00") == 1
    try:
        prog.run(b"\x01\x02\x03")
    except VMError as exc:
        assert exc.pc == 4
    else:
        raise AssertionError("no fault")


STORE_THEN_FAULT = """
add %r2, %r1
stb [%r1+0], 7
stb [%r1+1], 8
ldxb %r0, [%r1+5]
exit
"""


def test_stores_before_a_fault_in_the_same_block_happen(tier: str) -> None:
    """The JIT checks a block's accesses at its start; when that fails the block runs in
    the interpreter, so the stores before the faulting load still land."""
    vm = VM()
    prog = vm.load(asm(STORE_THEN_FAULT), tier=tier)  # type: ignore[arg-type]
    try:
        prog.test_run(b"\x00\x00\x00")
    except VMError as exc:
        assert (exc.pc, exc.address) == (3, 0x1000_0005)  # type: ignore[attr-defined]
    else:
        raise AssertionError("no fault")
    assert prog.entry.result()[0] == b"\x07\x08\x00"


def test_window_moved_by_a_helper_is_checked_again(tier: str) -> None:
    """After xdp_adjust_tail cuts the packet to 24 bytes, a pointer checked before is out."""
    text = """
    ldxw %r6, [%r1+0]
    ldxw %r7, [%r1+4]
    mov %r3, %r6
    add %r3, 40
    jgt %r3, %r7, out
    ldxb %r0, [%r6+30]
    mov %r2, -40
    call 65
    ldxb %r0, [%r6+30]
    out:
    exit
    """
    prog = VM().load(asm(text), tier=tier, entry=XdpEntry())  # type: ignore[arg-type]
    try:
        prog.run(bytes(range(64)))
    except VMError as exc:
        assert exc.pc == 8
    else:
        raise AssertionError("no fault")


def test_map_value_pointers_beside_packet_pointers(tier: str) -> None:
    """A map value is not in the packet: its accesses take the other way."""
    vm = VM()
    vm.create_map(MapSpec("a", MapType.ARRAY, 4, 8, 1))
    text = """
    add %r2, %r1
    stw [%r10-4], 0
    lddw %r1, 0
    mov %r2, %r10
    add %r2, -4
    call 1
    jeq %r0, 0, out
    ldxdw %r3, [%r0]
    add %r3, 5
    stxdw [%r0], %r3
    mov %r0, %r3
    out:
    exit
    """
    insns = asm(text)
    insns[2] = insns[2].with_fields(src=1, imm=0, ref="a")
    prog = vm.load(insns, tier=tier)  # type: ignore[arg-type]
    assert prog.test_run(b"xy", repeat=3).retval == 15


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(packet_program(), st.binary(max_size=40))
def test_tiers_agree_on_packet_programs(text: str, data: bytes) -> None:
    _agree(text, data)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(packet_program(), st.binary(max_size=40), st.integers(1, 200))
def test_tiers_agree_on_packet_programs_on_a_small_budget(
    text: str, data: bytes, budget: int
) -> None:
    _agree(text, data, budget)
