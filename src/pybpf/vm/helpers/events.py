"""Helpers that send data to user space: ring buffer and perf event output."""

from __future__ import annotations

import errno

from pybpf.errors import VMError
from pybpf.vm._code import HelperFn
from pybpf.vm.env import Env
from pybpf.vm.maps.perf import PerfEventArrayMap
from pybpf.vm.maps.ringbuf import RingBufMap

__all__ = ["EVENT_HELPERS"]


def _ringbuf(env: Env, m: int) -> RingBufMap:
    vmap = env.map_at(m)
    if not isinstance(vmap, RingBufMap):
        raise VMError(f"map {vmap.name!r} is not a ring buffer")
    return vmap


def ringbuf_output(env: Env, m: int, data: int, size: int, flags: int, *_: int) -> int:
    """``long bpf_ringbuf_output(ringbuf, data, size, flags)``."""
    return _ringbuf(env, m).bpf_output(env.mem.read(data, size), flags)


def ringbuf_reserve(env: Env, m: int, size: int, flags: int, *_: int) -> int:
    """``void *bpf_ringbuf_reserve(ringbuf, size, flags)``: NULL when there is no room."""
    if flags:
        return 0
    return _ringbuf(env, m).bpf_reserve(size)


def _owner(env: Env, addr: int) -> RingBufMap:
    for vmap in env.machine.maps_by_index:
        if isinstance(vmap, RingBufMap) and vmap.owns(addr):
            return vmap
    raise VMError(f"{addr:#x} is not a reserved ring buffer record")


def ringbuf_submit(env: Env, data: int, flags: int, *_: int) -> int:
    """``void bpf_ringbuf_submit(data, flags)``."""
    _owner(env, data).bpf_finish(data, False, flags)
    return 0


def ringbuf_discard(env: Env, data: int, flags: int, *_: int) -> int:
    """``void bpf_ringbuf_discard(data, flags)``."""
    _owner(env, data).bpf_finish(data, True, flags)
    return 0


def ringbuf_query(env: Env, m: int, flags: int, *_: int) -> int:
    """``u64 bpf_ringbuf_query(ringbuf, flags)``."""
    return _ringbuf(env, m).bpf_query(flags)


def perf_event_output(env: Env, ctx: int, m: int, flags: int, data: int, size: int, *_: int) -> int:  # noqa: PLR0917 - registers r1-r5 are positional (the helper ABI)
    """``long bpf_perf_event_output(ctx, map, flags, data, size)``."""
    vmap = env.map_at(m)
    if not isinstance(vmap, PerfEventArrayMap):
        return -errno.EINVAL
    return vmap.bpf_output(flags, env.mem.read(data, size))


EVENT_HELPERS: dict[int, HelperFn] = {
    25: perf_event_output,
    130: ringbuf_output,
    131: ringbuf_reserve,
    132: ringbuf_submit,
    133: ringbuf_discard,
    134: ringbuf_query,
}
