"""What only the JIT has: batch entry points, the native fallbacks, compiling once."""

from __future__ import annotations

import pytest

from pybpf.errors import VMError
from pybpf.vm import VM, XdpEntry
from tests.vm.conftest import HAS_LLVMLITE, asm, load

pytestmark = pytest.mark.skipif(not HAS_LLVMLITE, reason="llvmlite is not installed (pybpf[jit])")

COUNTER = "ldxb %r0, [%r1]\nadd %r0, 1\nstxb [%r1], %r0\nexit"


def test_repeat_runs_in_one_call() -> None:
    prog = load(COUNTER, "jit")
    result = prog.test_run(b"\x00", repeat=1000)
    assert result.retval == 1000 % 256  # the packet is kept between runs, as the kernel does
    assert result.data == bytes([1000 % 256])


def test_repeat_stops_at_the_first_failure() -> None:
    prog = load(
        "ldxb %r0, [%r1]\nadd %r0, 1\nstxb [%r1], %r0\njne %r0, 5, +1\nldxb %r0, [%r1+9]\nexit",
        "jit",
    )
    with pytest.raises(VMError) as info:
        prog.test_run(b"\x00", repeat=100)
    assert info.value.pc == 4


@pytest.mark.parametrize("tier", ["interp", "fast", "jit"])
def test_batch_over_packets(tier: str) -> None:
    prog = load("mov %r0, %r2\nldxb %r3, [%r1]\nadd %r0, %r3\nstb [%r1], 0x7a\nexit", tier)
    packets = [b"\x01ab", b"\x02", b"\x03cdef"]
    results, datas = prog.run_batch(packets, data=True)
    assert results == [4, 3, 8]
    assert datas == [b"zab", b"z", b"zcdef"]
    with pytest.raises(VMError) as info:
        prog.run_batch([b"\x01", b"", b"\x02"])
    assert info.value.index == 1  # type: ignore[attr-defined]


def test_batch_falls_back_for_other_entries() -> None:
    prog = VM().load(
        asm("ldxw %r0, [%r1+4]\nldxw %r1, [%r1]\nsub %r0, %r1\nexit"), tier="jit", entry=XdpEntry()
    )
    assert prog.run_batch([bytes(20), bytes(30)])[0] == [20, 30]


def test_deep_fault_reports_its_pc() -> None:
    text = "call local f\nexit\nf:\ncall local g\nexit\ng:\nmov %r1, 0\nldxb %r0, [%r1]\nexit"
    with pytest.raises(VMError) as info:
        load(text, "jit").run()
    assert info.value.pc == 5  # the load in g


def test_function_zero_called_back_runs_in_the_fast_tier() -> None:
    """A memory-entry program's entry is compiled only for top-level runs; a call of it with
    other arguments (here through callx) still works."""
    insns = asm("lddw %r3, 0\njne %r2, 0, +1\nexit\nmov %r2, 0\ncall %r3\nadd %r0, 1\nexit")
    from pybpf.asm.instruction import Instruction

    insns[0] = Instruction.lddw(3, 0, src=4).with_fields(imm=-1)  # the function at 0
    prog = VM().load(insns, tier="jit")
    assert prog.run(b"ab") == 1 + 0  # callx(0) with r2 = 0 returns r0 = 0 at once


def test_a_hundred_instructions_compile_once_from_ir(monkeypatch: pytest.MonkeyPatch) -> None:
    """The benchmark's 100-instruction program (its compile time is measured there, not
    here) compiles from IR, agrees with the interpreter and is compiled once per program."""
    from benchmarks.vm import program_100_branchy

    monkeypatch.setenv("PYBPF_JIT_CACHE", "0")  # the compile itself, not the code cache
    prog = VM().load(program_100_branchy(), tier="jit")
    runner = prog.runner()
    assert not runner.stats.cached  # type: ignore[attr-defined]
    for packet in (bytes(range(16)), bytes(range(5)), b""):
        assert prog.run(packet) == prog.run(packet, tier="interp")
    assert runner is prog.runner()


EARLY_EXIT = """
mov %r0, %r2
jeq %r0, 1, out
mov %r0, 7
mov %r0, 8
mov %r0, 9
out:
exit
"""


def test_batch_and_repeat_finish_short_runs_in_the_interpreter() -> None:
    """With a budget of 3, a 1-byte packet takes the early exit (3 instructions, fine) though
    the straight run is 6 long: native code hands those runs to the interpreter."""
    prog = load(EARLY_EXIT, "jit", VM(budget=3))
    assert prog.run_batch([b"x", b"y", b"z"], data=True) == ([1, 1, 1], [b"x", b"y", b"z"])
    assert prog.test_run(b"x", repeat=5).retval == 1
    with pytest.raises(VMError, match="budget") as info:
        prog.run_batch([b"x", b"yy"])
    assert info.value.pc == 3  # mov, jeq (not taken), then no budget for "mov %r0, 7"
    assert info.value.index == 1  # type: ignore[attr-defined]


# -- the persistent code cache --------------------------------------------------------------------


def test_code_cache_is_used_and_survives_damage(
    tmp_path: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    from pathlib import Path

    monkeypatch.setenv("PYBPF_JIT_CACHE", str(tmp_path))
    first = load(COUNTER, "jit")
    runner = first.runner()
    assert not runner.stats.cached  # type: ignore[attr-defined]
    files = [p for p in Path(str(tmp_path)).rglob("*") if p.is_file()]
    assert len(files) == 1 and not files[0].name.startswith(".tmp")
    again = load(COUNTER, "jit")
    assert again.runner().stats.cached  # type: ignore[attr-defined]
    assert again.test_run(b"\x05").retval == 6
    files[0].write_bytes(files[0].read_bytes()[:-7] + b"garbage")  # a damaged entry
    third = load(COUNTER, "jit")
    assert not third.runner().stats.cached  # type: ignore[attr-defined]
    assert third.test_run(b"\x05").retval == 6
    assert load(COUNTER, "jit").runner().stats.cached  # type: ignore[attr-defined]


def test_code_cache_can_be_turned_off(monkeypatch: pytest.MonkeyPatch) -> None:
    from pybpf.vm import _jit_cache

    monkeypatch.setenv("PYBPF_JIT_CACHE", "0")
    assert _jit_cache.cache_dir() is None
    assert _jit_cache.load("00" * 32) is None
    _jit_cache.store("00" * 32, b"x")  # nothing happens
    prog = load(COUNTER, "jit")
    assert not prog.runner().stats.cached  # type: ignore[attr-defined]


def test_unwritable_cache_is_not_an_error(
    monkeypatch: pytest.MonkeyPatch, tmp_path: object
) -> None:
    from pathlib import Path

    blocker = Path(str(tmp_path)) / "file"
    blocker.write_bytes(b"")
    monkeypatch.setenv("PYBPF_JIT_CACHE", str(blocker / "sub"))  # a path under a file
    assert load(COUNTER, "jit").test_run(b"\x01").retval == 2
