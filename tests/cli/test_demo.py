"""``pybpf demo``: the firewall over the bundled packets, VM beside kernel."""

from __future__ import annotations

import errno
import re
from pathlib import Path

import pytest

from pybpf.cli import _demo, main
from pybpf.cli._demo_data import (
    Frame,
    arp_frame,
    bundled,
    describe,
    ipv4_frame,
    ipv4_source,
    read_pcap,
    write_pcap,
)
from pybpf.errors import BPFError, SyscallError
from tests.conftest import OBJ
from tests.vm.kernel_oracle import kernel_reason

ROOT = Path(__file__).resolve().parent.parent.parent


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str]:
    status = main(["demo", *argv])
    out, err = capsys.readouterr()
    assert not err
    return status, out


def rows(out: str) -> dict[int, list[str]]:
    """Frame number -> the verdict columns of its row."""
    found = {}
    for line in out.splitlines():
        m = re.match(r"\s*(\d+)  .*?((?:\s+(?:PASS|DROP|ABORTED|TX|REDIRECT))+)$", line)
        if m:
            found[int(m.group(1))] = m.group(2).split()
    return found


def test_bundled_data_is_the_fixture_and_the_script_output() -> None:
    assert bundled("firewall.o") == (OBJ / "firewall.el.v3.o").read_bytes()
    import importlib.util

    spec = importlib.util.spec_from_file_location("mk", ROOT / "scripts" / "make_demo_packets.py")
    assert spec is not None and spec.loader is not None
    mk = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mk)
    assert [f.data for f in read_pcap(bundled("demo.pcap"))] == mk.frames()


def test_vm_verdicts_and_counters(capsys: pytest.CaptureFixture[str]) -> None:
    status, out = run(capsys, "--no-kernel", "--tier", "fast")
    assert status == 0
    verdicts = rows(out)
    assert len(verdicts) == 16
    drops = sorted(n for n, v in verdicts.items() if v[0] == "DROP")
    assert drops == [10, 13, 16]  # the scanner's frames after it is blocked
    assert "BLOCKLIST[203.0.113.7] = 1" in out
    assert re.search(r"203\.0\.113\.7\s+6\s", out)  # counted, dropped or not
    assert re.search(r"10\.0\.0\.1\s+3\s", out)  # the truncated frame is not counted
    assert "all agree" in out
    assert "kernel column absent: --no-kernel" in out
    assert len(out.splitlines()) < 60


def test_without_privileges_the_kernel_column_is_explained(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    def refuse(*_: object) -> None:
        raise SyscallError("BPF_MAP_CREATE", errno.EPERM)

    monkeypatch.setattr(_demo, "_kernel", refuse)
    status, out = run(capsys, "--tier", "interp")
    assert status == 0
    assert "kernel column absent: needs root" in out
    assert all(len(v) == 1 for v in rows(out).values())


def test_vm_equals_kernel(capsys: pytest.CaptureFixture[str]) -> None:
    reason = kernel_reason()
    if reason:
        pytest.skip(reason)
    status, out = run(capsys)
    assert status == 0, out
    verdicts = rows(out)
    assert all(len(v) == 2 and v[0] == v[1] for v in verdicts.values())
    assert "VM == kernel: same verdicts and counters" in out
    assert len(out.splitlines()) < 60


def test_other_inputs(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    frames = [ipv4_frame("10.1.1.1", "10.1.1.2", 17, 1, 2), arp_frame("10.1.1.1", "10.1.1.9")]
    pcap = tmp_path / "x.pcap"
    pcap.write_bytes(write_pcap([Frame(f) for f in frames]))
    status, out = run(capsys, "--pcap", str(pcap), "--block", "10.1.1.1", "--after", "0",
                      "--no-kernel", "--tier", "interp")  # fmt: skip
    assert status == 0
    assert rows(out) == {1: ["DROP"], 2: ["PASS"]}


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--block", "nope"], "--block"),
        (["--pcap", "/nonexistent.pcap"], "cannot read"),
        (["--object", str(OBJ / "isa_alu.el.v3.o")], "no BLOCKLIST map"),
    ],
)
def test_bad_inputs(capsys: pytest.CaptureFixture[str], argv: list[str], message: str) -> None:
    assert main(["demo", "--no-kernel", *argv]) == 1
    assert message in capsys.readouterr().err


def test_pcap_reader_refuses_garbage() -> None:
    with pytest.raises(BPFError, match="not a"):
        read_pcap(b"\0" * 30)
    good = write_pcap([Frame(b"\x01" * 20)])
    with pytest.raises(BPFError, match="cut short"):
        read_pcap(good[:-3])
    big = bytearray(good)
    big[:4] = bytes.fromhex("a1b2c3d4")  # big-endian magic, fields then read big-endian
    with pytest.raises(BPFError):
        read_pcap(bytes(big))


@pytest.mark.parametrize(
    ("frame", "text", "source"),
    [
        (
            ipv4_frame("1.2.3.4", "5.6.7.8", 6, 1, 2, "SA"),
            "IPv4 1.2.3.4:1 > 5.6.7.8:2 TCP [SA]",
            "1.2.3.4",
        ),
        (ipv4_frame("1.2.3.4", "5.6.7.8", 1, 0, 0), "ICMP echo reply", "1.2.3.4"),
        (ipv4_frame("1.2.3.4", "5.6.7.8", 47), "IPv4 1.2.3.4 > 5.6.7.8 proto 47", "1.2.3.4"),
        (ipv4_frame("1.2.3.4", "5.6.7.8", 6)[:20], "truncated", None),
        (b"\0" * 10, "runt frame", None),
        (b"\0" * 12 + b"\x12\x34", "ethertype 0x1234", None),
    ],
)
def test_describe(frame: bytes, text: str, source: str | None) -> None:
    assert text in describe(frame)
    assert ipv4_source(frame) == source
