"""Entry kinds: how a run starts (what r1 and r2 hold) and what ``test_run`` gives back.

Like rbpf's VM flavours, plus the kernel's contexts so kernel programs run unmodified:

============================  ================================================================
:class:`MemoryEntry`          r1 = the data, r2 = its length (uBPF, bpf_conformance)
:class:`MbuffEntry`           r1 = a metadata buffer the caller gives, r2 = its length;
                              the data is addressable too (:data:`PACKET_BASE` + offset)
:class:`FixedMbuffEntry`      r1 = a VM-owned metadata buffer where data/data_end pointers
                              are written at given offsets before each run
:class:`NoDataEntry`          r1 = r2 = 0
:class:`XdpEntry`             r1 = ``struct xdp_md`` over a packet with XDP headroom
:class:`SkbEntry`             r1 = ``struct __sk_buff`` (tc and socket filter programs)
:class:`ContextEntry`         r1 = the ``ctx`` bytes given (tracepoint, kprobe, raw args)
============================  ================================================================

An entry maps the packet (region 0) and context (region 1) before a run and reads them back
after it; helpers that change the packet (``xdp_adjust_head``, ``skb_store_bytes``) ask it.
"""

from __future__ import annotations

import struct
from collections.abc import Callable
from dataclasses import dataclass, field

from pybpf._uapi import ProgType
from pybpf.errors import VMError
from pybpf.vm.memory import CONTEXT_REGION, PACKET_BASE, PACKET_REGION, AddressSpace, Region

__all__ = [
    "ContextEntry",
    "Entry",
    "FixedMbuffEntry",
    "MbuffEntry",
    "MemoryEntry",
    "NoDataEntry",
    "SkbEntry",
    "XdpEntry",
    "entry_for",
]

XDP_PACKET_HEADROOM = 256
XDP_FRAME_SIZE = 40  # sizeof(struct xdp_frame): the kernel keeps it at the buffer start
SKB_SHARED_INFO = 320  # tailroom of an XDP buffer: SKB_DATA_ALIGN(sizeof(skb_shared_info))
ETH_HLEN = 14
XDP_META_MAX = 32


@dataclass
class Entry:
    """The base entry: a packet (maybe empty) and no context; r1 = r2 = 0."""

    writable_packet: bool = True
    packet: Region | None = field(default=None, init=False, repr=False)
    context: Region | None = field(default=None, init=False, repr=False)

    def setup(self, mem: AddressSpace, data: bytes, ctx: bytes | None) -> tuple[int, int]:
        """Map the regions of one run; returns the entry values of r1 and r2."""
        self._map_packet(mem, data, 0)
        return 0, 0

    def result(self) -> tuple[bytes, bytes | None]:
        """The packet and context after a run (``test_run``'s data out and ctx out)."""
        return self.packet_bytes(), None

    def packet_bytes(self) -> bytes:
        """The accessible packet bytes."""
        pkt = self.packet
        if pkt is None:
            return b""
        return bytes(pkt.buf[pkt.lo - pkt.org : pkt.hi - pkt.org])

    def _map_packet(self, mem: AddressSpace, buf: bytes | bytearray, start: int) -> Region:
        """Map ``buf`` (copied) as the packet, with the data starting at ``start`` in it.

        The last run's packet region is reused when it has the same shape: a region
        mapped anew costs more than a short run (the JIT pins each buffer natively)."""
        lo, hi, pkt = PACKET_BASE + start, PACKET_BASE + len(buf), self.packet
        if (
            pkt is not None
            and mem.regions[PACKET_REGION] is pkt
            and isinstance(pkt.buf, bytearray)
            and len(pkt.buf) == len(buf)
            and (pkt.org, pkt.lo, pkt.hi) == (PACKET_BASE, lo, hi)
            and pkt.writable == self.writable_packet
            and pkt.whi == (hi if pkt.writable else lo)
        ):
            pkt.buf[:] = buf
            return pkt
        self.packet = mem.map(
            bytearray(buf),
            "packet",
            index=PACKET_REGION,
            origin=PACKET_BASE,
            lo=lo,
            hi=hi,
            writable=self.writable_packet,
        )
        return self.packet

    def _map_context(self, mem: AddressSpace, buf: bytearray, writable: bool = True) -> Region:
        self.context = mem.map(buf, "context", index=CONTEXT_REGION, writable=writable)
        return self.context

    @property
    def data(self) -> int:
        """The address of the first packet byte."""
        return self.packet.start if self.packet is not None else 0

    @property
    def data_end(self) -> int:
        """The address one past the last packet byte."""
        return self.packet.end if self.packet is not None else 0

    def redirect(self, ifindex: int, flags: int) -> int:
        """What ``bpf_redirect`` returns for this kind of program."""
        return 0

    def load_abs(self, off: int, size: int) -> int | None:
        """A big-endian load of ``size`` bytes ``off`` bytes after the data start (legacy
        ``ld_abs``/``ld_ind``), or ``None`` when out of the packet."""
        pkt = self.packet
        start = self.data
        if pkt is None or off < 0 or start + off + size > self.data_end:
            return None
        i = start + off - pkt.org
        return int.from_bytes(pkt.buf[i : i + size], "big")


class MemoryEntry(Entry):
    """r1 = the data, r2 = its length (the uBPF / bpf_conformance convention)."""

    def setup(self, mem: AddressSpace, data: bytes, ctx: bytes | None) -> tuple[int, int]:
        pkt = self._map_packet(mem, data, 0)
        return pkt.start, len(data)


class NoDataEntry(Entry):
    """No data: r1 = r2 = 0 (rbpf's ``EbpfVmNoData``)."""


class MbuffEntry(Entry):
    """r1 = the metadata buffer the caller passes as ``ctx``, r2 = its length.

    The data is mapped at ``PACKET_BASE``: a caller that wants pointers in the buffer writes
    ``PACKET_BASE`` and ``PACKET_BASE + len(data)`` itself (rbpf's ``EbpfVmMbuff``).
    """

    def setup(self, mem: AddressSpace, data: bytes, ctx: bytes | None) -> tuple[int, int]:
        self._map_packet(mem, data, 0)
        region = self._map_context(mem, bytearray(ctx or b""))
        return region.start, len(region.buf)

    def result(self) -> tuple[bytes, bytes | None]:
        return self.packet_bytes(), bytes(self.context.buf) if self.context else None


@dataclass
class FixedMbuffEntry(Entry):
    """r1 = a ``size``-byte metadata buffer where the data and data_end pointers are written
    (64-bit) at ``data_offset`` and ``data_end_offset`` before each run (rbpf's
    ``EbpfVmFixedMbuff``); r2 = ``size``."""

    size: int = 16
    data_offset: int = 0
    data_end_offset: int = 8

    def setup(self, mem: AddressSpace, data: bytes, ctx: bytes | None) -> tuple[int, int]:
        for off in (self.data_offset, self.data_end_offset):
            if not 0 <= off <= self.size - 8:
                raise VMError(f"metadata offset {off} does not fit a {self.size}-byte buffer")
        pkt = self._map_packet(mem, data, 0)
        buf = bytearray(self.size)
        struct.pack_into(mem.endian + "Q", buf, self.data_offset, pkt.start)
        struct.pack_into(mem.endian + "Q", buf, self.data_end_offset, pkt.end)
        region = self._map_context(mem, buf)
        return region.start, self.size


class ContextEntry(Entry):
    """r1 = the ``ctx`` bytes (a tracepoint record, ``pt_regs``, raw tracepoint args)."""

    def setup(self, mem: AddressSpace, data: bytes, ctx: bytes | None) -> tuple[int, int]:
        self._map_packet(mem, data, 0)
        region = self._map_context(mem, bytearray(ctx if ctx is not None else data))
        return region.start, 0

    def result(self) -> tuple[bytes, bytes | None]:
        return self.packet_bytes(), bytes(self.context.buf) if self.context else None


_XDP_MD = {"<": struct.Struct("<6I"), ">": struct.Struct(">6I")}


@dataclass
class XdpEntry(Entry):
    """r1 = ``struct xdp_md`` for an XDP program, over the packet with 256 bytes of headroom.

    ``struct xdp_md`` (include/uapi/linux/bpf.h), read-only to the program::

        0 data  4 data_end  8 data_meta  12 ingress_ifindex  16 rx_queue_index
        20 egress_ifindex

    ``ctx`` passed to a run may set ``ingress_ifindex``, ``rx_queue_index`` and, in
    ``data``, how many leading bytes of the data are metadata (as ``BPF_PROG_TEST_RUN``).
    """

    ingress_ifindex: int = 1
    rx_queue_index: int = 0

    def setup(self, mem: AddressSpace, data: bytes, ctx: bytes | None) -> tuple[int, int]:
        metalen, ifindex, queue = 0, self.ingress_ifindex, self.rx_queue_index
        if ctx:
            md = _XDP_MD[mem.endian]
            fields = md.unpack(bytes(ctx).ljust(md.size, b"\0")[: md.size])
            metalen, _, _, ifindex, queue, egress = fields
            if egress or metalen > min(len(data), XDP_META_MAX) or metalen % 4:
                raise VMError("xdp_md ctx: bad data (metadata length) or egress_ifindex")
        size = max(4096, XDP_PACKET_HEADROOM + len(data) + SKB_SHARED_INFO)
        buf = bytearray(size)
        buf[XDP_PACKET_HEADROOM : XDP_PACKET_HEADROOM + len(data)] = data
        self.hard_end = PACKET_BASE + size - SKB_SHARED_INFO
        self.frame_end = PACKET_BASE + XDP_FRAME_SIZE
        pkt = self._map_packet(mem, buf, XDP_PACKET_HEADROOM)
        mem.set_window(pkt, pkt.lo, pkt.lo + len(data))
        self.meta = pkt.lo
        self._data = pkt.lo + metalen
        self._md = _XDP_MD[mem.endian]
        region = self._map_context(mem, bytearray(self._md.size), writable=False)
        self._ifindex, self._queue = ifindex, queue
        self._sync(mem)
        return region.start, 0

    def _sync(self, mem: AddressSpace) -> None:
        pkt, ctx = self.packet, self.context
        assert pkt is not None and ctx is not None
        mem.set_window(pkt, self.meta, pkt.hi)
        self._md.pack_into(ctx.buf, 0, self._data, pkt.hi, self.meta, self._ifindex, self._queue, 0)

    @property
    def data(self) -> int:
        return self._data

    def packet_bytes(self) -> bytes:
        pkt = self.packet
        assert pkt is not None
        return bytes(pkt.buf[self._data - PACKET_BASE : pkt.hi - PACKET_BASE])

    def result(self) -> tuple[bytes, bytes | None]:
        pkt, ctx = self.packet, self.context
        assert pkt is not None and ctx is not None
        out = bytes(pkt.buf[self.meta - PACKET_BASE : pkt.hi - PACKET_BASE])
        md = self._md.pack(
            self._data - self.meta, pkt.hi - self.meta, 0, self._ifindex, self._queue, 0
        )
        return out, md

    # -- helpers -----------------------------------------------------------------------------
    def adjust_head(self, mem: AddressSpace, delta: int) -> int:
        """``bpf_xdp_adjust_head``: move the data start; 0 or -EINVAL."""
        pkt = self.packet
        assert pkt is not None
        metalen = self._data - self.meta
        new = self._data + delta
        if new < self.frame_end + metalen or new > pkt.hi - ETH_HLEN:
            return -22
        if metalen:
            i = self.meta - PACKET_BASE
            pkt.buf[i + delta : i + delta + metalen] = pkt.buf[i : i + metalen]
        self.meta += delta
        self._data = new
        self._sync(mem)
        return 0

    def adjust_tail(self, mem: AddressSpace, delta: int) -> int:
        """``bpf_xdp_adjust_tail``: move the data end (new bytes are zero); 0 or -EINVAL."""
        pkt = self.packet
        assert pkt is not None
        end = pkt.hi + delta
        if end > self.hard_end or end < self._data + ETH_HLEN:
            return -22
        if delta > 0:
            pkt.buf[pkt.hi - PACKET_BASE : end - PACKET_BASE] = bytes(delta)
        mem.set_window(pkt, pkt.lo, end)
        self._sync(mem)
        return 0

    def adjust_meta(self, mem: AddressSpace, delta: int) -> int:
        """``bpf_xdp_adjust_meta``: move the metadata start; 0 or -EINVAL/-EACCES."""
        meta = self.meta + delta
        metalen = self._data - meta
        if meta < self.frame_end or meta > self._data:
            return -22
        if metalen > XDP_META_MAX or metalen % 4:
            return -13
        self.meta = meta
        self._sync(mem)
        return 0

    def redirect(self, ifindex: int, flags: int) -> int:
        return 4 if not flags else 0  # XDP_REDIRECT, or XDP_ABORTED for unknown flags


# struct __sk_buff field offsets (include/uapi/linux/bpf.h)
SKB_SIZE = 192
SKB_FIELDS = {
    "len": 0,
    "pkt_type": 4,
    "mark": 8,
    "queue_mapping": 12,
    "protocol": 16,
    "vlan_present": 20,
    "vlan_tci": 24,
    "vlan_proto": 28,
    "priority": 32,
    "ingress_ifindex": 36,
    "ifindex": 40,
    "tc_index": 44,
    "cb": 48,
    "hash": 68,
    "tc_classid": 72,
    "data": 76,
    "data_end": 80,
    "napi_id": 84,
    "data_meta": 140,
    "wire_len": 160,
    "gso_segs": 164,
}


@dataclass
class SkbEntry(Entry):
    """r1 = ``struct __sk_buff`` (tc with ``l2``; socket filters without: their data starts
    at the network header). ``ctx`` passed to a run gives the initial ``__sk_buff`` bytes
    (``mark``, ``priority``, ``cb`` …); ``len``, ``protocol`` and the pointers are set here."""

    l2: bool = True
    ifindex: int = 1

    def setup(self, mem: AddressSpace, data: bytes, ctx: bytes | None) -> tuple[int, int]:
        _check_skb_data(data)
        start = 0 if self.l2 else ETH_HLEN
        pkt = self._map_packet(mem, data, start)
        buf = bytearray(bytes(ctx or b"")[:SKB_SIZE].ljust(SKB_SIZE, b"\0"))
        u32 = struct.Struct(mem.endian + "I")

        def put(name: str, value: int) -> None:
            u32.pack_into(buf, SKB_FIELDS[name], value)

        proto, pkt_type = eth_type_trans(data)
        put("len", pkt.hi - pkt.lo)
        put("protocol", int.from_bytes(proto, "little" if mem.endian == "<" else "big"))
        put("pkt_type", pkt_type)
        put("data", pkt.start)
        put("data_end", pkt.end)
        put("data_meta", pkt.start)
        for name in ("ifindex", "ingress_ifindex"):
            if not u32.unpack_from(buf, SKB_FIELDS[name])[0]:
                put(name, self.ifindex)
        if not u32.unpack_from(buf, SKB_FIELDS["wire_len"])[0]:
            put("wire_len", len(data))
        region = self._map_context(mem, buf)
        return region.start, 0

    def packet_bytes(self) -> bytes:
        """The frame after the run; without ``l2`` its Ethernet header reads as zeros, as in
        the kernel's test run (which gives back a zeroed link-layer header)."""
        pkt = self.packet
        assert pkt is not None
        data = bytes(pkt.buf[: pkt.hi - pkt.org])
        return data if self.l2 else bytes(ETH_HLEN) + data[ETH_HLEN:]

    def result(self) -> tuple[bytes, bytes | None]:
        return self.packet_bytes(), bytes(self.context.buf) if self.context else None

    def payload(self) -> tuple[Region, int]:
        """The packet region and the buffer index of ``skb->data`` (for skb_load_bytes)."""
        pkt = self.packet
        assert pkt is not None
        return pkt, pkt.lo - pkt.org

    def redirect(self, ifindex: int, flags: int) -> int:
        return 7 if not flags & ~1 else 2  # TC_ACT_REDIRECT, or TC_ACT_SHOT for bad flags


ETH_P_802_3_MIN = 0x0600


def eth_type_trans(frame: bytes) -> tuple[bytes, int]:
    """``skb->protocol`` (network order) and ``skb->pkt_type`` as the kernel's
    ``eth_type_trans`` sets them for a frame received on the test run's device (loopback:
    address and broadcast address all zeros).

    Frames of ethertype below 0x600 are 802.3 (raw, when the payload starts ``ff ff``) or
    802.2 (net/ethernet/eth.c); a destination other than the device's is PACKET_OTHERHOST (3),
    or PACKET_MULTICAST (2) with the group bit set; the device's own is PACKET_HOST (0).
    """
    proto = frame[12:14]
    if int.from_bytes(proto, "big") < ETH_P_802_3_MIN:
        proto = b"\x00\x01" if frame[14:16] == b"\xff\xff" else b"\x00\x04"
    dst = frame[:6]
    pkt_type = 0 if dst == bytes(6) else 2 if dst[0] & 1 else 3
    return proto, pkt_type


# What BPF_PROG_TEST_RUN requires after the Ethernet header of an skb (net/bpf/test_run.c
# pulls the network header of IPv4 and IPv6 frames and refuses a frame too short for it).
_NET_HEADER = {0x0800: ("IPv4", 20), 0x86DD: ("IPv6", 40)}


def _check_skb_data(data: bytes) -> None:
    """Refuse what the kernel's skb test run refuses (``EINVAL`` there).

    Raises:
        VMError: fewer than 14 bytes, or an IPv4/IPv6 frame cut inside its network header.
    """
    if len(data) < ETH_HLEN:
        raise VMError(f"an skb needs at least {ETH_HLEN} bytes of data (Ethernet header)")
    proto = int.from_bytes(data[12:14], "big")
    need = _NET_HEADER.get(proto)
    if need is not None and len(data) < ETH_HLEN + need[1]:
        name, size = need
        raise VMError(f"an {name} skb needs its {size}-byte header: {len(data)} bytes of data")


_ENTRY_OF_TYPE: dict[ProgType, Callable[[], Entry]] = {
    ProgType.XDP: XdpEntry,
    ProgType.SCHED_CLS: lambda: SkbEntry(l2=True),
    ProgType.SCHED_ACT: lambda: SkbEntry(l2=True),
    ProgType.SOCKET_FILTER: lambda: SkbEntry(l2=False),
    ProgType.CGROUP_SKB: lambda: SkbEntry(l2=False),
    ProgType.LWT_IN: lambda: SkbEntry(l2=False),
    ProgType.LWT_OUT: lambda: SkbEntry(l2=False),
    ProgType.LWT_XMIT: lambda: SkbEntry(l2=False),
}


def entry_for(prog_type: ProgType | None) -> Entry:
    """The entry kind of a program type: the kernel's context for network programs,
    :class:`ContextEntry` for other typed programs, :class:`MemoryEntry` for raw code."""
    if prog_type is None or prog_type == ProgType.UNSPEC:
        return MemoryEntry()
    make = _ENTRY_OF_TYPE.get(ProgType(prog_type))
    return make() if make is not None else ContextEntry()
