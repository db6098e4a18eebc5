"""Helpers about time, the CPU, the current task, memory probes, loops and locks.

What the "current task" is (pid, uid, comm), which CPU runs the program, the clocks and the
random source are settings of the :class:`~pybpf.vm.VM`, so tests can pin them.
"""

from __future__ import annotations

import errno

from pybpf.errors import VMError
from pybpf.vm._code import HelperFn
from pybpf.vm.env import Env

__all__ = ["SYSTEM_HELPERS"]

MAX_LOOPS = 1 << 23


def ktime_get_ns(env: Env, *_: int) -> int:
    """``u64 bpf_ktime_get_ns(void)``: the VM's monotonic clock."""
    return env.machine.clock()


def ktime_get_boot_ns(env: Env, *_: int) -> int:
    """``u64 bpf_ktime_get_boot_ns(void)``."""
    return env.machine.boot_clock()


def jiffies64(env: Env, *_: int) -> int:
    """``u64 bpf_jiffies64(void)`` at HZ=250."""
    return env.machine.clock() // 4_000_000


def get_prandom_u32(env: Env, *_: int) -> int:
    """``u32 bpf_get_prandom_u32(void)``: from the VM's (seedable) random source."""
    return env.machine.random.getrandbits(32)


def get_smp_processor_id(env: Env, *_: int) -> int:
    """``u32 bpf_get_smp_processor_id(void)``: the VM's current CPU."""
    return env.machine.cpu


def get_numa_node_id(env: Env, *_: int) -> int:
    """``long bpf_get_numa_node_id(void)``."""
    return 0


def get_current_pid_tgid(env: Env, *_: int) -> int:
    """``u64 bpf_get_current_pid_tgid(void)``: tgid << 32 | pid."""
    task = env.machine.task
    return (task.tgid << 32) | task.pid


def get_current_uid_gid(env: Env, *_: int) -> int:
    """``u64 bpf_get_current_uid_gid(void)``: gid << 32 | uid."""
    task = env.machine.task
    return (task.gid << 32) | task.uid


def get_current_comm(env: Env, buf: int, size: int, *_: int) -> int:
    """``long bpf_get_current_comm(buf, size)``: the task name, NUL-terminated."""
    if size == 0:
        return -errno.EINVAL
    comm = env.machine.task.comm[: size - 1]
    env.mem.write(buf, comm + bytes(size - len(comm)))
    return 0


def probe_read(env: Env, dst: int, size: int, src: int, *_: int) -> int:
    """``long bpf_probe_read_kernel(dst, size, unsafe_ptr)`` (and ``_user``, the legacy
    ``bpf_probe_read``): any VM memory may be read; a bad source zeroes ``dst``."""
    try:
        data = env.mem.read(src, size)
    except VMError:
        env.mem.write(dst, bytes(size))
        return -errno.EFAULT
    env.mem.write(dst, data)
    return 0


def probe_read_str(env: Env, dst: int, size: int, src: int, *_: int) -> int:
    """``long bpf_probe_read_kernel_str(dst, size, unsafe_ptr)``: copies up to ``size - 1``
    bytes and a NUL; returns the length with the NUL."""
    if size == 0:
        return 0
    try:
        text = env.mem.read_cstr(src, size - 1)
    except VMError:
        env.mem.write(dst, bytes(size))
        return -errno.EFAULT
    env.mem.write(dst, text + b"\0")
    return len(text) + 1


def loop(env: Env, nr_loops: int, callback: int, ctx: int, flags: int, *_: int) -> int:
    """``long bpf_loop(nr_loops, callback_fn, callback_ctx, flags)``: calls
    ``callback(i, ctx)`` until it returns 1; returns the number of calls."""
    if flags:
        return -errno.EINVAL
    if nr_loops > MAX_LOOPS:
        return -errno.E2BIG
    for i in range(nr_loops):
        if env.call(callback, i, ctx, 0, 0, 0) == 1:
            return i + 1
    return nr_loops


def spin_lock(env: Env, lock: int, *_: int) -> int:
    """``long bpf_spin_lock(lock)``: one thread runs the VM; the lock word is set to 1."""
    if env.mem.load(lock, 4):
        raise VMError(f"bpf_spin_lock: lock at {lock:#x} is already held (deadlock)")
    env.mem.store(lock, 4, 1)
    return 0


def spin_unlock(env: Env, lock: int, *_: int) -> int:
    """``long bpf_spin_unlock(lock)``."""
    env.mem.store(lock, 4, 0)
    return 0


SYSTEM_HELPERS: dict[int, HelperFn] = {
    4: probe_read,
    5: ktime_get_ns,
    7: get_prandom_u32,
    8: get_smp_processor_id,
    14: get_current_pid_tgid,
    15: get_current_uid_gid,
    16: get_current_comm,
    42: get_numa_node_id,
    45: probe_read_str,
    93: spin_lock,
    94: spin_unlock,
    112: probe_read,
    113: probe_read,
    114: probe_read_str,
    115: probe_read_str,
    118: jiffies64,
    125: ktime_get_boot_ns,
    160: ktime_get_ns,
    181: loop,
    208: ktime_get_boot_ns,
}
