"""Packet helpers: checksums, XDP head/tail/meta adjustment, skb byte access, redirects.

They act on the packet of the run's entry (:mod:`pybpf.vm.context`): an
:class:`~pybpf.vm.context.XdpEntry` for the ``xdp_*`` helpers, an
:class:`~pybpf.vm.context.SkbEntry` for the ``skb_*`` ones.
"""

from __future__ import annotations

import errno

from pybpf._util import s32
from pybpf.errors import VMError
from pybpf.vm._code import HelperFn
from pybpf.vm.context import SkbEntry, XdpEntry
from pybpf.vm.env import Env
from pybpf.vm.memory import Buffer

__all__ = ["NET_HELPERS", "csum_partial"]

M32 = 0xFFFF_FFFF


def csum_partial(data: bytes, seed: int) -> int:
    """The 32-bit one's complement sum of ``data`` (little-endian 32-bit words, as x86's
    ``csum_partial`` loads them) added to ``seed``."""
    total = seed & M32
    for i in range(0, len(data) - len(data) % 4, 4):
        total += int.from_bytes(data[i : i + 4], "little")
    tail = data[len(data) - len(data) % 4 :]
    if tail:
        total += int.from_bytes(tail, "little")
    while total >> 32:
        total = (total & M32) + (total >> 32)
    return total


def csum_diff(env: Env, frm: int, from_size: int, to: int, to_size: int, seed: int) -> int:  # noqa: PLR0917 - registers r1-r5 are positional (the helper ABI)
    """``s64 bpf_csum_diff(from, from_size, to, to_size, seed)``: the checksum of ``to``
    minus that of ``from``, plus ``seed`` (sizes are multiples of 4)."""
    if from_size % 4 or to_size % 4 or from_size + to_size > 512:
        return -errno.EINVAL
    old = env.mem.read(frm, from_size) if from_size else b""
    new = env.mem.read(to, to_size) if to_size else b""
    inverted = bytes(b ^ 0xFF for b in old)
    return csum_partial(inverted + new, seed)


def _xdp(env: Env) -> XdpEntry:
    if not isinstance(env.entry, XdpEntry):
        raise VMError("this helper needs an XDP context")
    return env.entry


def _skb(env: Env) -> SkbEntry:
    if not isinstance(env.entry, SkbEntry):
        raise VMError("this helper needs an __sk_buff context")
    return env.entry


def xdp_adjust_head(env: Env, ctx: int, delta: int, *_: int) -> int:
    """``long bpf_xdp_adjust_head(xdp_md, delta)``."""
    return _xdp(env).adjust_head(env.mem, s32(delta))


def xdp_adjust_tail(env: Env, ctx: int, delta: int, *_: int) -> int:
    """``long bpf_xdp_adjust_tail(xdp_md, delta)``."""
    return _xdp(env).adjust_tail(env.mem, s32(delta))


def xdp_adjust_meta(env: Env, ctx: int, delta: int, *_: int) -> int:
    """``long bpf_xdp_adjust_meta(xdp_md, delta)``."""
    return _xdp(env).adjust_meta(env.mem, s32(delta))


def xdp_get_buff_len(env: Env, ctx: int, *_: int) -> int:
    """``u64 bpf_xdp_get_buff_len(xdp_md)``."""
    entry = _xdp(env)
    return entry.data_end - entry.data


def _packet_span(env: Env, offset: int, length: int) -> tuple[Buffer, int] | None:
    """The packet buffer and the index of ``offset`` bytes after the data start."""
    entry = env.entry
    pkt = entry.packet
    if pkt is None:
        return None
    start = entry.data - pkt.org
    end = entry.data_end - pkt.org
    if offset < 0 or start + offset + length > end:
        return None
    return pkt.buf, start + offset


def load_bytes(env: Env, ctx: int, offset: int, to: int, length: int, *_: int) -> int:
    """``long bpf_skb_load_bytes(skb, offset, to, len)`` / ``bpf_xdp_load_bytes``."""
    span = _packet_span(env, s32(offset), length)
    if span is None:
        env.mem.write(to, bytes(length))
        return -errno.EFAULT
    buf, at = span
    env.mem.write(to, bytes(buf[at : at + length]))
    return 0


def store_bytes(env: Env, ctx: int, offset: int, frm: int, length: int, flags: int) -> int:  # noqa: PLR0917 - registers r1-r5 are positional (the helper ABI)
    """``long bpf_skb_store_bytes(skb, offset, from, len, flags)`` / ``bpf_xdp_store_bytes``."""
    span = _packet_span(env, s32(offset), length)
    if span is None:
        return -errno.EFAULT
    buf, at = span
    buf[at : at + length] = env.mem.read(frm, length)
    return 0


def redirect(env: Env, ifindex: int, flags: int, *_: int) -> int:
    """``long bpf_redirect(ifindex, flags)``: XDP_REDIRECT or TC_ACT_REDIRECT; the target is
    recorded on the VM (``vm.redirects``)."""
    env.machine.redirects.append((ifindex & M32, flags))
    return env.entry.redirect(ifindex, flags)


def redirect_map(env: Env, m: int, key: int, flags: int, *_: int) -> int:
    """``long bpf_redirect_map(map, key, flags)``: XDP_REDIRECT when ``key`` is in the map,
    else the action in the low bits of ``flags``."""
    vmap = env.map_at(m)
    kb = (key & M32).to_bytes(vmap.key_size or 4, "little")
    if vmap.bpf_lookup(kb):
        env.machine.redirects.append((key & M32, flags))
        return 4
    return flags & 0x3


NET_HELPERS: dict[int, HelperFn] = {
    23: redirect,
    26: load_bytes,
    9: store_bytes,
    28: csum_diff,
    44: xdp_adjust_head,
    51: redirect_map,
    54: xdp_adjust_meta,
    65: xdp_adjust_tail,
    188: xdp_get_buff_len,
    189: load_bytes,
    190: store_bytes,
}
