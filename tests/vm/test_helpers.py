"""Helpers: the registry, and the kernel helpers the VM implements, on every tier."""

from __future__ import annotations

import logging

import pytest

from pybpf.errors import VMError
from pybpf.vm import VM, HelperRegistry, SkbEntry, Task, XdpEntry
from pybpf.vm.helpers.net import csum_partial
from tests.vm.conftest import asm, load


def test_registry_by_id_and_name() -> None:
    reg = HelperRegistry()
    reg.register("bpf_ktime_get_ns", lambda env, *_: 1)
    reg.register(0x2000, lambda env, *_: 2, name="mine")
    assert 5 in reg and "ktime_get_ns" in reg and "mine" in reg
    assert reg.resolve("mine") == 0x2000
    assert reg.name(5) == "bpf_ktime_get_ns"
    with pytest.raises(VMError, match="unknown helper name"):
        reg.resolve("bpf_nope")
    with pytest.raises(VMError, match="unknown helper"):
        reg.function(1)


def test_user_helper_sees_memory(tier: str) -> None:
    vm = VM()

    @vm.helpers.register(0x2000)
    def sum_bytes(env, ptr, n, *_):  # type: ignore[no-untyped-def]
        return sum(env.mem.read(ptr, n))

    assert load("mov %r2, %r2\ncall 0x2000\nexit", tier, vm).run(b"\x01\x02\x03") == 6


def test_helper_errors_become_vm_errors_at_the_call(tier: str) -> None:
    vm = VM()
    vm.helpers.register(0x2000, lambda env, *_: env.mem.read(0, 1))
    with pytest.raises(VMError) as info:
        load("mov %r0, 0\ncall 0x2000\nexit", tier, vm).run()
    assert info.value.pc == 1


def test_time_cpu_task_and_random(tier: str) -> None:
    vm = VM(ncpus=4, cpu=3, clock=lambda: 123, seed=7, task=Task(pid=10, tgid=20, uid=1, gid=2))
    assert load("call 5\nexit", tier, vm).run() == 123
    assert load("call 8\nexit", tier, vm).run() == 3
    assert load("call 14\nexit", tier, vm).run() == (20 << 32) | 10
    assert load("call 15\nexit", tier, vm).run() == (2 << 32) | 1
    r1 = load("call 7\nexit", tier, VM(seed=7)).run()
    assert r1 == load("call 7\nexit", tier, VM(seed=7)).run() < 2**32


def test_get_current_comm(tier: str) -> None:
    vm = VM(task=Task(comm=b"hello"))
    text = "mov %r1, %r10\nadd %r1, -16\nmov %r2, 16\ncall 16\nldxdw %r0, [%r10-16]\nexit"
    assert load(text, tier, vm).run().to_bytes(8, "little") == b"hello\0\0\0"


def test_trace_printk_logs(tier: str, caplog: pytest.LogCaptureFixture) -> None:
    vm = VM()
    text = """
    stdw [%r10-16], 0
    stdw [%r10-8], 0
    stw [%r10-16], 0x203d2078
    stw [%r10-12], 0x000a6425
    mov %r1, %r10
    add %r1, -16
    mov %r2, 8
    mov %r3, -5
    call 6
    exit
    """
    with caplog.at_level(logging.INFO, logger="pybpf.vm.trace"):
        n = load(text, tier, vm).run()
    assert vm.trace_lines == ["x = -5"]
    assert "x = -5" in caplog.text
    assert n == len("x = -5\n")


def test_snprintf_and_strncmp(tier: str) -> None:
    text = """
    stdw [%r10-8], 0
    stw [%r10-8], 0x78257825
    stdw [%r10-16], 255
    stdw [%r10-24], 10
    mov %r1, %r10
    add %r1, -40
    mov %r2, 16
    mov %r3, %r10
    add %r3, -8
    mov %r4, %r10
    add %r4, -24
    mov %r5, 16
    call 165
    mov %r6, %r0
    mov %r1, %r10
    add %r1, -40
    mov %r2, 4
    mov %r3, %r10
    add %r3, -8
    call 182
    lsh %r0, 8
    or %r0, %r6
    exit
    """
    r0 = load(text, tier).run()
    assert r0 & 0xFF == len("aff") + 1  # "%x%x" of 10, 255 -> "aff", plus NUL
    assert r0 >> 8 != 0  # "aff" != "%x%x"


def test_probe_read(tier: str) -> None:
    text = """
    mov %r6, %r1
    mov %r1, %r10
    add %r1, -8
    mov %r2, 8
    mov %r3, %r6
    call 113
    ldxdw %r0, [%r10-8]
    exit
    """
    assert load(text, tier).run(b"ABCDEFGH") == int.from_bytes(b"ABCDEFGH", "little")
    bad = text.replace("mov %r3, %r6", "mov %r3, 0")
    assert load(bad, tier).run(b"ABCDEFGH") == 0  # dst zeroed, -EFAULT returned


def test_csum_diff_matches_ones_complement(tier: str) -> None:
    text = """
    stdw [%r10-8], 0
    stw [%r10-8], 0x01020304
    mov %r1, 0
    mov %r2, 0
    mov %r3, %r10
    add %r3, -8
    mov %r4, 4
    mov %r5, 0
    call 28
    exit
    """
    assert load(text, tier).run() == csum_partial(bytes([4, 3, 2, 1]), 0) == 0x01020304


def test_spin_lock_detects_a_double_lock(tier: str) -> None:
    lock = "mov %r1, %r10\nadd %r1, -4\ncall 93\n"
    text = "stw [%r10-4], 0\n" + lock + lock + "exit"
    with pytest.raises(VMError, match="already held"):
        load(text, tier).run()


def test_xdp_adjust_head_and_tail(tier: str) -> None:
    text = """
    mov %r6, %r1
    mov %r2, -4
    call 44
    mov %r1, %r6
    mov %r2, -2
    call 65
    ldxw %r2, [%r6+0]
    ldxw %r3, [%r6+4]
    stw [%r2], 0x64636261
    mov %r0, %r3
    sub %r0, %r2
    exit
    """
    vm = VM()
    prog = vm.load(asm(text), tier=tier, entry=XdpEntry())  # type: ignore[arg-type]
    res = prog.test_run(bytes(range(20)))
    assert res.retval == 20 + 4 - 2
    assert res.data == b"abcd" + bytes(range(18))
    assert res.ctx is not None and int.from_bytes(res.ctx[4:8], "little") == 22


def test_skb_load_bytes_and_redirect(tier: str) -> None:
    text = """
    mov %r2, 12
    mov %r3, %r10
    add %r3, -8
    mov %r4, 2
    call 26
    ldxh %r6, [%r10-8]
    mov %r1, 3
    mov %r2, 0
    call 23
    lsh %r6, 8
    or %r0, %r6
    exit
    """
    vm = VM()
    prog = vm.load(asm(text), tier=tier, entry=SkbEntry())  # type: ignore[arg-type]
    r0 = prog.run(bytes(12) + b"\x08\x00" + bytes(20))
    assert r0 == (0x0008 << 8) | 7  # TC_ACT_REDIRECT
    assert vm.redirects == [(3, 0)]


@pytest.mark.parametrize(
    ("frame", "protocol", "pkt_type"),
    [
        (bytes(12) + b"\x08\x00" + bytes(20), 0x0800, 0),  # to the device's address
        (b"\xff" * 6 + bytes(6) + b"\x08\x06" + bytes(28), 0x0806, 2),  # broadcast: multicast
        (b"\x02" + bytes(11) + b"\x86\xdd" + bytes(40), 0x86DD, 3),  # another host
        (bytes(12) + b"\x00\x2e" + b"\xff\xff" + bytes(30), 0x0001, 0),  # raw 802.3
        (bytes(12) + b"\x00\x2e" + b"\xaa\xaa" + bytes(30), 0x0004, 0),  # 802.2 LLC
    ],
)
def test_skb_protocol_and_pkt_type_as_eth_type_trans(
    frame: bytes, protocol: int, pkt_type: int, tier: str
) -> None:
    """``__sk_buff.protocol`` (network order) and ``pkt_type``, as the kernel's test run
    sets them on its loopback device."""
    text = "ldxw %r0, [%r1+16]\nbe16 %r0\nldxw %r2, [%r1+4]\nlsh %r2, 16\nor %r0, %r2\nexit"
    prog = VM().load(asm(text), tier=tier, entry=SkbEntry())  # type: ignore[arg-type]
    assert prog.run(frame) == protocol | pkt_type << 16


def test_skb_test_run_refuses_what_the_kernel_refuses() -> None:
    prog = VM().load(asm("mov %r0, 0\nexit"), entry=SkbEntry())
    for frame in (bytes(13), bytes(12) + b"\x08\x00" + bytes(19), bytes(12) + b"\x86\xdd"):
        with pytest.raises(VMError, match="needs"):
            prog.run(frame)
    assert prog.run(bytes(12) + b"\x08\x06") == 0  # ARP: no header is pulled


def test_socket_filter_gives_back_a_zeroed_link_header() -> None:
    prog = VM().load(asm("mov %r0, 0\nexit"), entry=SkbEntry(l2=False))
    frame = b"\x01" * 12 + b"\x08\x00" + b"\x45" + bytes(19)
    assert prog.test_run(frame).data == bytes(14) + frame[14:]
