"""The data of ``pybpf demo``: the bundled XDP firewall and packets, and a few frame tools.

``pybpf/data/firewall.o`` is ``tests/testdata/obj/firewall.el.v3.o`` (built from
``tests/testdata/src/firewall.bpf.c`` by clang-19); ``pybpf/data/demo.pcap`` is written by
``scripts/make_demo_packets.py`` with the builders below. Both ship in the wheel, so the demo
runs from an installed package.

A pcap file (https://www.tcpdump.org/manpages/pcap-savefile.5.txt), little-endian, Ethernet::

    global header (24 bytes): magic a1b2c3d4, version 2.4, thiszone, sigfigs, snaplen, linktype
    per frame (16 bytes):      ts_sec, ts_usec, incl_len, orig_len, then incl_len bytes
"""

from __future__ import annotations

import ipaddress
import struct
from importlib import resources

from pybpf._records import immutable
from pybpf.errors import BPFError

__all__ = [
    "Frame",
    "arp_frame",
    "bundled",
    "describe",
    "ipv4_frame",
    "ipv6_frame",
    "read_pcap",
    "write_pcap",
]

_PCAP_HEADER = struct.Struct("<IHHiIII")
_PCAP_RECORD = struct.Struct("<IIII")
_PCAP_MAGIC = 0xA1B2C3D4
_LINKTYPE_ETHERNET = 1
_PROTOS = {1: "ICMP", 6: "TCP", 17: "UDP"}
_TCP_FLAGS = "FSRPAU"
ETH_P_IP, ETH_P_ARP, ETH_P_IPV6 = 0x0800, 0x0806, 0x86DD


@immutable
class Frame:
    """One captured frame: its bytes and its capture time in microseconds."""

    data: bytes
    time_us: int = 0


def bundled(name: str) -> bytes:
    """The bytes of the bundled data file ``name`` (``firewall.o``, ``demo.pcap``)."""
    return resources.files("pybpf").joinpath("data").joinpath(name).read_bytes()


# -- pcap ----------------------------------------------------------------------------------------


def read_pcap(data: bytes) -> list[Frame]:
    """The frames of a little- or big-endian microsecond pcap file of Ethernet frames.

    Raises:
        BPFError: not such a pcap file, or it is cut short.
    """
    if len(data) < _PCAP_HEADER.size:
        raise BPFError("not a pcap file: shorter than its header")
    magic = int.from_bytes(data[:4], "little")
    order = "<" if magic == _PCAP_MAGIC else ">" if magic == 0xD4C3B2A1 else ""
    if not order:
        raise BPFError(f"not a microsecond pcap file (magic {magic:#010x})")
    linktype = struct.unpack_from(order + "I", data, 20)[0]
    if linktype != _LINKTYPE_ETHERNET:
        raise BPFError(f"pcap link type {linktype}: only Ethernet (1) frames are read")
    record = struct.Struct(order + "IIII")
    frames, at = [], _PCAP_HEADER.size
    while at < len(data):
        if at + record.size > len(data):
            raise BPFError(f"pcap file cut short at byte {at}")
        sec, usec, incl, _ = record.unpack_from(data, at)
        at += record.size
        if at + incl > len(data):
            raise BPFError(f"pcap file cut short in the frame at byte {at}")
        frames.append(Frame(bytes(data[at : at + incl]), sec * 1_000_000 + usec))
        at += incl
    return frames


def write_pcap(frames: list[Frame]) -> bytes:
    """A little-endian microsecond pcap file of Ethernet ``frames``."""
    out = [_PCAP_HEADER.pack(_PCAP_MAGIC, 2, 4, 0, 0, 65535, _LINKTYPE_ETHERNET)]
    for f in frames:
        sec, usec = divmod(f.time_us, 1_000_000)
        out.append(_PCAP_RECORD.pack(sec, usec, len(f.data), len(f.data)) + f.data)
    return b"".join(out)


# -- building frames -----------------------------------------------------------------------------

_SRC_MAC = bytes.fromhex("020000000001")
_DST_MAC = bytes.fromhex("020000000002")


def _ether(proto: int, payload: bytes, dst: bytes = _DST_MAC) -> bytes:
    return dst + _SRC_MAC + proto.to_bytes(2, "big") + payload


def _checksum(data: bytes) -> int:
    if len(data) % 2:
        data += b"\0"
    total: int = sum(struct.unpack(f"!{len(data) // 2}H", data))
    while total >> 16:
        total = (total & 0xFFFF) + (total >> 16)
    return ~total & 0xFFFF


def _l4(proto: int, sport: int, dport: int, flags: str, payload: bytes) -> bytes:
    if proto == 6:  # TCP: 20-byte header, no options
        bits = sum(1 << _TCP_FLAGS.index(f) for f in flags)
        return struct.pack("!HHIIBBHHH", sport, dport, 1, 0, 5 << 4, bits, 64240, 0, 0) + payload
    if proto == 17:
        return struct.pack("!HHHH", sport, dport, 8 + len(payload), 0) + payload
    body = struct.pack("!BBHHH", sport, dport, 0, 1, 1) + payload  # ICMP type, code
    return body[:2] + _checksum(body).to_bytes(2, "big") + body[4:]


def ipv4_frame(  # noqa: PLR0917 - a packet's fields, in header order
    src: str,
    dst: str,
    proto: int,
    sport: int = 0,
    dport: int = 0,
    flags: str = "",
    payload: bytes = b"",
) -> bytes:
    """An Ethernet/IPv4 frame; ``proto`` 6 (TCP, ``flags`` from ``FSRPAU``), 17 (UDP) or 1
    (ICMP: ``sport`` is the type, ``dport`` the code)."""
    l4 = _l4(proto, sport, dport, flags, payload)
    saddr, daddr = ipaddress.IPv4Address(src).packed, ipaddress.IPv4Address(dst).packed
    head = struct.pack(
        "!BBHHHBBH4s4s", 0x45, 0, 20 + len(l4), 1, 0x4000, 64, proto, 0, saddr, daddr
    )
    head = head[:10] + _checksum(head).to_bytes(2, "big") + head[12:]
    return _ether(ETH_P_IP, head + l4)


def ipv6_frame(src: str, dst: str, sport: int, dport: int, payload: bytes = b"") -> bytes:
    """An Ethernet/IPv6/UDP frame."""
    udp = struct.pack("!HHHH", sport, dport, 8 + len(payload), 0) + payload
    saddr, daddr = ipaddress.IPv6Address(src).packed, ipaddress.IPv6Address(dst).packed
    head = struct.pack("!IHBB16s16s", 6 << 28, len(udp), 17, 64, saddr, daddr)
    return _ether(ETH_P_IPV6, head + udp)


def arp_frame(sender: str, target: str) -> bytes:
    """An Ethernet ARP request: who has ``target``, tell ``sender``."""
    body = struct.pack("!HHBBH", 1, ETH_P_IP, 6, 4, 1)
    body += _SRC_MAC + ipaddress.IPv4Address(sender).packed
    body += bytes(6) + ipaddress.IPv4Address(target).packed
    return _ether(ETH_P_ARP, body, dst=b"\xff" * 6)


# -- describing frames ---------------------------------------------------------------------------


def ipv4_source(frame: bytes) -> str | None:
    """The IPv4 source address of an Ethernet/IPv4 frame long enough to hold it, else None."""
    if len(frame) >= 34 and int.from_bytes(frame[12:14], "big") == ETH_P_IP:
        return str(ipaddress.IPv4Address(frame[26:30]))
    return None


def describe(frame: bytes) -> str:
    """A one-line summary of an Ethernet frame (like tcpdump's, shorter)."""
    if len(frame) < 14:
        return f"runt frame, {len(frame)} bytes"
    proto = int.from_bytes(frame[12:14], "big")
    if proto == ETH_P_IP:
        return _describe_ipv4(frame)
    if proto == ETH_P_ARP and len(frame) >= 42:
        sender, target = (ipaddress.IPv4Address(frame[i : i + 4]) for i in (28, 38))
        return f"ARP who-has {target} tell {sender}"
    if proto == ETH_P_IPV6 and len(frame) >= 54:
        src, dst = (ipaddress.IPv6Address(frame[i : i + 16]) for i in (22, 38))
        return f"IPv6 {src} > {dst} {_PROTOS.get(frame[20], str(frame[20]))}"
    return f"ethertype {proto:#06x}, {len(frame)} bytes"


def _describe_ipv4(frame: bytes) -> str:
    if len(frame) < 34:
        return f"IPv4, truncated: {len(frame)} bytes"
    src, dst = (ipaddress.IPv4Address(frame[i : i + 4]) for i in (26, 30))
    proto = frame[23]
    l4 = frame[14 + (frame[14] & 0xF) * 4 :]
    name = _PROTOS.get(proto, f"proto {proto}")
    if proto in (6, 17) and len(l4) >= 4:
        sport, dport = struct.unpack_from("!HH", l4)
        text = f"IPv4 {src}:{sport} > {dst}:{dport} {name}"
        if proto == 6 and len(l4) >= 14:
            text += " [" + "".join(f for i, f in enumerate(_TCP_FLAGS) if l4[13] >> i & 1) + "]"
        return text
    if proto == 1 and l4:
        kind = {8: "echo request", 0: "echo reply"}.get(l4[0], f"type {l4[0]}")
        return f"IPv4 {src} > {dst} ICMP {kind}"
    return f"IPv4 {src} > {dst} {name}"
