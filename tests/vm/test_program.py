"""Entry kinds, test_run, stepping and tracing, and whole objects from the ELF loader."""

from __future__ import annotations

import struct
from pathlib import Path

import pytest

from pybpf.errors import VMError
from pybpf.vm import (
    PACKET_BASE,
    VM,
    ContextEntry,
    FixedMbuffEntry,
    MbuffEntry,
    NoDataEntry,
    SkbEntry,
    XdpEntry,
)
from pybpf.vm.context import SKB_FIELDS
from tests.conftest import TESTDATA
from tests.vm.conftest import asm, load


def test_memory_entry(tier: str) -> None:
    assert load("mov %r0, %r2\nldxb %r3, [%r1+1]\nadd %r0, %r3\nexit", tier).run(b"\x01\x09") == 11


def test_no_data_entry(tier: str) -> None:
    prog = VM().load(asm("mov %r0, %r1\nadd %r0, %r2\nexit"), tier=tier, entry=NoDataEntry())  # type: ignore[arg-type]
    assert prog.run(b"ignored") == 0


def test_mbuff_entry(tier: str) -> None:
    ctx = struct.pack("<QQ", PACKET_BASE, PACKET_BASE + 3)
    text = (
        "ldxdw %r2, [%r1+0]\nldxdw %r3, [%r1+8]\nldxb %r0, [%r2+2]\n"
        "sub %r3, %r2\nadd %r0, %r3\nexit"
    )
    prog = VM().load(asm(text), tier=tier, entry=MbuffEntry())  # type: ignore[arg-type]
    assert prog.run(b"\x00\x00\x05", ctx=ctx) == 8


def test_fixed_mbuff_entry(tier: str) -> None:
    text = "ldxdw %r2, [%r1+8]\nldxdw %r3, [%r1+24]\nsub %r3, %r2\nmov %r0, %r3\nexit"
    entry = FixedMbuffEntry(size=32, data_offset=8, data_end_offset=24)
    prog = VM().load(asm(text), tier=tier, entry=entry)  # type: ignore[arg-type]
    assert prog.run(b"12345") == 5
    assert prog.run(b"1") == 1


def test_context_entry(tier: str) -> None:
    prog = VM().load(asm("ldxdw %r0, [%r1+8]\nexit"), tier=tier, entry=ContextEntry())  # type: ignore[arg-type]
    assert prog.run(ctx=struct.pack("<QQ", 1, 42)) == 42


def test_xdp_context_fields(tier: str) -> None:
    text = """
    ldxw %r2, [%r1+0]
    ldxw %r3, [%r1+4]
    ldxw %r4, [%r1+12]
    mov %r0, %r3
    sub %r0, %r2
    lsh %r4, 16
    or %r0, %r4
    exit
    """
    prog = VM().load(asm(text), tier=tier, entry=XdpEntry(ingress_ifindex=7))  # type: ignore[arg-type]
    assert prog.run(bytes(60)) == (7 << 16) | 60


def test_xdp_context_is_read_only(tier: str) -> None:
    prog = VM().load(asm("stw [%r1+0], 0\nexit"), tier=tier, entry=XdpEntry())  # type: ignore[arg-type]
    with pytest.raises(VMError, match="read-only"):
        prog.run(bytes(20))


def test_skb_context(tier: str) -> None:
    length, mark = SKB_FIELDS["len"], SKB_FIELDS["mark"]
    text = f"ldxw %r0, [%r1+{length}]\nldxw %r2, [%r1+{mark}]\nadd %r0, %r2\nexit"
    ctx = bytearray(192)
    struct.pack_into("<I", ctx, SKB_FIELDS["mark"], 1000)
    tc = VM().load(asm(text), tier=tier, entry=SkbEntry(l2=True))  # type: ignore[arg-type]
    assert tc.test_run(bytes(40), bytes(ctx)).retval == 1040
    sock = VM().load(asm(text), tier=tier, entry=SkbEntry(l2=False))  # type: ignore[arg-type]
    assert sock.run(bytes(40)) == 40 - 14


def test_test_run_shape(tier: str) -> None:
    prog = load("stb [%r1], 0x58\nmov %r0, 3\nexit", tier)
    result = prog.test_run(b"abc", repeat=10)
    assert result.retval == 3
    assert result.data == b"Xbc"
    assert result.ctx is None
    assert result.duration >= 0


def test_stepper() -> None:
    prog = VM().load(asm("mov %r0, 1\nadd %r0, 2\nexit"))
    step = prog.stepper()
    assert (step.pc, step.regs[0]) == (0, 0)
    step.step()
    assert (step.pc, step.regs[0]) == (1, 1)
    assert step.run() == 3
    assert step.done and step.steps == 3


def test_stepper_stays_at_a_fault() -> None:
    step = VM().load(asm("mov %r0, 1\nldxb %r0, [%r0]\nexit")).stepper()
    step.step()
    with pytest.raises(VMError) as info:
        step.step()
    assert info.value.pc == step.pc == 1


def test_trace_sees_every_instruction() -> None:
    seen: list[tuple[int, int]] = []
    prog = VM(tier="fast").load(asm("mov %r0, 1\nadd %r0, 2\nexit"))
    assert prog.run(trace=lambda pc, regs: seen.append((pc, regs[0]))) == 3
    assert seen == [(0, 0), (1, 1), (2, 3)]


FIREWALL = sorted((TESTDATA / "obj").glob("firewall.*.o"))


@pytest.mark.parametrize("path", FIREWALL, ids=lambda p: p.name)
def test_firewall_object_runs_with_its_maps(path: Path, tier: str) -> None:
    from pybpf.spec.loader import load_collection_spec

    spec = load_collection_spec(path)
    big = spec.byte_order == "big"
    if big and tier == "jit":
        pytest.skip("the JIT runs little-endian programs")
    vm = VM(tier=tier, endian=">" if big else "<")  # type: ignore[arg-type]
    objs = vm.load_collection(spec)
    prog, counters, blocklist = (
        objs.programs["firewall"],
        objs.maps["COUNTERS"],
        objs.maps["BLOCKLIST"],
    )
    ip = bytes.fromhex("450000280000400040060000") + bytes([10, 0, 0, 1]) + bytes([10, 0, 0, 2])
    frame = bytes(12) + b"\x08\x00" + ip + bytes(20)
    assert prog.test_run(frame).retval == 2  # XDP_PASS
    blocklist[bytes([10, 0, 0, 1])] = 1
    assert prog.test_run(frame).retval == 1  # XDP_DROP
    assert prog.test_run(bytes(12) + b"\x86\xdd" + bytes(40)).retval == 2  # not IPv4
    assert counters[bytes([10, 0, 0, 1])] == 2  # typed from BTF: a __u64 reads as an int
    count = counters.raw[bytes([10, 0, 0, 1])]
    assert int.from_bytes(count, "big" if big else "little") == 2
