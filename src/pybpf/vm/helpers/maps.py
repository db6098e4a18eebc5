"""Map helpers: lookup/update/delete, push/pop/peek, per-CPU lookup, for-each, tail call.

Each takes the map handle a program loaded with ``lddw`` and pointers to keys and values in
VM memory, and answers as the kernel's helper does (a negative errno on failure).
"""

from __future__ import annotations

import errno

from pybpf.errors import VMError
from pybpf.vm._code import HelperFn
from pybpf.vm.env import MAX_TAIL_CALLS, Env
from pybpf.vm.maps.bloom import BloomFilterMap
from pybpf.vm.maps.prog_array import ProgArrayMap

__all__ = ["MAP_HELPERS"]


def map_lookup_elem(env: Env, m: int, key: int, *_: int) -> int:
    """``void *bpf_map_lookup_elem(map, key)``: the value's address, or NULL."""
    vmap = env.map_at(m)
    return vmap.bpf_lookup(env.mem.read(key, vmap.key_size))


def map_update_elem(env: Env, m: int, key: int, value: int, flags: int, *_: int) -> int:
    """``long bpf_map_update_elem(map, key, value, flags)``."""
    vmap = env.map_at(m)
    kb = env.mem.read(key, vmap.key_size)
    return vmap.bpf_update(kb, env.mem.read(value, vmap.value_size), flags)


def map_delete_elem(env: Env, m: int, key: int, *_: int) -> int:
    """``long bpf_map_delete_elem(map, key)``."""
    vmap = env.map_at(m)
    return vmap.bpf_delete(env.mem.read(key, vmap.key_size))


def map_push_elem(env: Env, m: int, value: int, flags: int, *_: int) -> int:
    """``long bpf_map_push_elem(map, value, flags)`` (queue, stack, bloom filter)."""
    vmap = env.map_at(m)
    return vmap.bpf_push(env.mem.read(value, vmap.value_size), flags)


def _pop(env: Env, m: int, value: int, peek: bool) -> int:
    vmap = env.map_at(m)
    if isinstance(vmap, BloomFilterMap):
        if not peek:
            return -errno.EOPNOTSUPP
        found = vmap.bpf_contains(env.mem.read(value, vmap.value_size))
        return 0 if found else -errno.ENOENT
    got = vmap.bpf_pop(peek)
    if isinstance(got, int):
        return got
    env.mem.write(value, got)
    return 0


def map_pop_elem(env: Env, m: int, value: int, *_: int) -> int:
    """``long bpf_map_pop_elem(map, value)``: the value is copied to ``value``."""
    return _pop(env, m, value, False)


def map_peek_elem(env: Env, m: int, value: int, *_: int) -> int:
    """``long bpf_map_peek_elem(map, value)`` (for a bloom filter: is ``value`` in it)."""
    return _pop(env, m, value, True)


def map_lookup_percpu_elem(env: Env, m: int, key: int, cpu: int, *_: int) -> int:
    """``void *bpf_map_lookup_percpu_elem(map, key, cpu)``."""
    vmap = env.map_at(m)
    if cpu >= env.machine.ncpus:
        return 0
    addr = vmap.bpf_lookup(env.mem.read(key, vmap.key_size))
    if not addr or not getattr(vmap, "percpu", False):
        return addr
    stride: int = vmap.stride  # type: ignore[attr-defined]
    return addr + (cpu - env.machine.cpu) * stride


def for_each_map_elem(env: Env, m: int, callback: int, ctx: int, flags: int, *_: int) -> int:
    """``long bpf_for_each_map_elem(map, callback_fn, callback_ctx, flags)``: calls
    ``callback(map, &key, &value, ctx)`` per element until it returns 1; returns the count."""
    if flags:
        return -errno.EINVAL
    vmap = env.map_at(m)
    scratch = env.mem.map(bytearray(max(vmap.key_size, 1)), "for_each key", writable=False)
    count = 0
    try:
        for key in vmap.bpf_keys():
            value = vmap.bpf_lookup(key)
            if not value:
                continue
            scratch.buf[: len(key)] = key
            count += 1
            if env.call(callback, m, scratch.start, value, ctx, 0) == 1:
                break
    finally:
        env.mem.unmap(scratch)
    return count


def tail_call(env: Env, ctx: int, m: int, index: int, *_: int) -> int:
    """``long bpf_tail_call(ctx, prog_array_map, index)``: on success the target program
    runs with ``ctx`` and its r0 is returned by the calling frame; on failure execution
    continues after the call."""
    vmap = env.map_at(m)
    if not isinstance(vmap, ProgArrayMap):
        raise VMError(f"bpf_tail_call: map {vmap.name!r} is not a prog array")
    target = vmap.program(index & 0xFFFF_FFFF)
    if target is None or env.tail_calls >= MAX_TAIL_CALLS:
        return -errno.ENOENT
    env.tail_calls += 1
    env.retval = target.tail_call(env, ctx)
    env.unwind = True
    return 0


MAP_HELPERS: dict[int, HelperFn] = {
    1: map_lookup_elem,
    2: map_update_elem,
    3: map_delete_elem,
    12: tail_call,
    87: map_push_elem,
    88: map_pop_elem,
    89: map_peek_elem,
    164: for_each_map_elem,
    195: map_lookup_percpu_elem,
}
