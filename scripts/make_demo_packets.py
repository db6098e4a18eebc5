"""Write ``src/pybpf/data/demo.pcap``: the packets ``pybpf demo`` runs the firewall over.

A small, realistic mix: a web client (10.0.0.1, TCP to 443), a DNS client (10.0.0.2, UDP to
53), a host that pings (192.168.1.50, ICMP), a scanner hammering SSH (203.0.113.7, TCP SYN to
22: the demo blocks it part way), an ARP request, an IPv6 frame and a truncated IPv4 frame.
Deterministic: running it again gives the same bytes.

    python scripts/make_demo_packets.py [OUT]
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))

from pybpf.cli._demo_data import Frame, arp_frame, ipv4_frame, ipv6_frame, write_pcap  # noqa: E402

WEB, DNS, PINGER, SCANNER = "10.0.0.1", "10.0.0.2", "192.168.1.50", "203.0.113.7"
SERVER, RESOLVER, GATEWAY = "93.184.216.34", "9.9.9.9", "10.0.0.254"
TCP, UDP, ICMP = 6, 17, 1
DNS_QUERY = bytes.fromhex("1a2b01000001000000000000076578616d706c6503636f6d0000010001")


def frames() -> list[bytes]:
    """The demo's frames, in capture order."""
    return [
        ipv4_frame(WEB, SERVER, TCP, 51000, 443, "S"),
        ipv4_frame(SCANNER, WEB, TCP, 40001, 22, "S"),
        ipv4_frame(DNS, RESOLVER, UDP, 53000, 53, payload=DNS_QUERY),
        arp_frame(WEB, GATEWAY),
        ipv4_frame(PINGER, WEB, ICMP, 8, 0, payload=b"pybpf-ping"),
        ipv4_frame(SCANNER, WEB, TCP, 40002, 22, "S"),
        ipv4_frame(WEB, SERVER, TCP, 51000, 443, "A", b"GET / HTTP/1.1\r\n\r\n"),
        ipv6_frame("fe80::1", "ff02::1", 546, 547, b"dhcpv6"),
        ipv4_frame(SCANNER, WEB, TCP, 40003, 22, "S"),
        ipv4_frame(SCANNER, WEB, TCP, 40004, 22, "S"),
        ipv4_frame(DNS, RESOLVER, UDP, 53001, 53, payload=DNS_QUERY),
        ipv4_frame(WEB, SERVER, TCP, 51000, 443, "A")[:24],  # cut inside the IPv4 header
        ipv4_frame(SCANNER, WEB, ICMP, 8, 0, payload=b"probe"),
        ipv4_frame(PINGER, WEB, ICMP, 8, 0, payload=b"pybpf-ping"),
        ipv4_frame(WEB, SERVER, TCP, 51000, 443, "FA"),
        ipv4_frame(SCANNER, WEB, TCP, 40005, 22, "S"),
    ]


def main(argv: list[str]) -> int:
    out = Path(argv[0]) if argv else ROOT / "src" / "pybpf" / "data" / "demo.pcap"
    start = 1_700_000_000_000_000  # a fixed capture time, so the file is reproducible
    pcap = write_pcap([Frame(f, start + 1500 * i) for i, f in enumerate(frames())])
    out.write_bytes(pcap)
    print(f"wrote {out} ({len(frames())} frames, {len(pcap)} bytes)")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
