"""Map access from Python next to the bare system call, measured in the same run.

- lookup: ``m[key]`` on a hash map (u32 key, u64 value) vs the bare ctypes call it wraps —
  the attr prepared once, then ``syscall(__NR_bpf, BPF_MAP_LOOKUP_ELEM, byref(attr), size)``
  in a loop. Bar: at most 1.5x the bare call. Rounds alternate between the two and the best
  round of each counts, so a busy machine slows both alike.
- iteration: ``list(m.items())`` over a 100k-entry hash map, with the default codec (bytes)
  and with int keys and values, vs the bare batch walk (BPF_MAP_LOOKUP_BATCH from ctypes,
  no decoding: the kernel's floor). Bar: 50 ms (the issue measured C's batch walk at 40 ms and
  BCC's ``list(items())`` at 840 ms on this machine).

Needs root (it creates maps). ``--strict`` exits 1 when a bar is missed.

    python benchmarks/maps.py [--rounds R] [--calls N] [--entries E] [--strict]
"""

from __future__ import annotations

import argparse
import ctypes
import os
import sys
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))

from pybpf._uapi import Cmd  # noqa: E402
from pybpf.objects import HashMap, Map, RawCodec  # noqa: E402
from pybpf.spec import MapSpec, MapType  # noqa: E402
from pybpf.sys import MapBatchAttr, MapElemAttr  # noqa: E402
from pybpf.sys.backend import _NR_BPF  # noqa: E402

LOOKUP_BAR = 1.5
ITEMS_BAR_MS = 50.0
C_BATCH_MS, BCC_ITEMS_MS = 40.0, 840.0  # the figures for this machine


def best_per_call(blocks: list[Callable[[], None]], rounds: int, calls: int) -> list[float]:
    """Seconds per call of each block: the best of ``rounds`` interleaved rounds."""
    best = [float("inf")] * len(blocks)
    for _ in range(rounds):
        for i, block in enumerate(blocks):
            t = time.perf_counter()
            block()
            best[i] = min(best[i], (time.perf_counter() - t) / calls)
    return best


def lookups(rounds: int, calls: int) -> tuple[float, float, float]:
    """(bare, ours with bytes keys, ours with int keys and values) in seconds per lookup."""
    m = Map.create(MapSpec("bench_lookup", MapType.HASH, 4, 8, 1024))
    assert isinstance(m, HashMap)
    m[1] = 2
    syscall = ctypes.CDLL(None, use_errno=True).syscall
    nr = _NR_BPF[os.uname().machine]
    key, value = ctypes.create_string_buffer(b"\x01\0\0\0", 4), ctypes.create_string_buffer(8)
    attr = MapElemAttr(map_fd=m.fileno(), key=ctypes.addressof(key))
    attr.value = ctypes.addressof(value)
    ref, size, cmd = ctypes.byref(attr), ctypes.sizeof(attr), int(Cmd.MAP_LOOKUP_ELEM)
    twin = m.clone()
    twin.codec = RawCodec(4, 8, int_keys=True, int_values=True)
    raw_key = (1).to_bytes(4, sys.byteorder)

    def bare() -> None:
        for _ in range(calls):
            syscall(nr, cmd, ref, size)

    def ours() -> None:
        for _ in range(calls):
            m[raw_key]

    def ours_int() -> None:
        for _ in range(calls):
            twin[1]

    assert syscall(nr, cmd, ref, size) == 0 and m[raw_key] == twin[1].to_bytes(8, "little")
    result = best_per_call([bare, ours, ours_int], rounds, calls)
    twin.close()
    m.close()
    return result[0], result[1], result[2]


def bare_batch_walk(fd: int, entries: int) -> None:
    """Every entry through BPF_MAP_LOOKUP_BATCH from ctypes, nothing decoded."""
    syscall = ctypes.CDLL(None, use_errno=True).syscall
    nr = _NR_BPF[os.uname().machine]
    keys, values = (
        ctypes.create_string_buffer(4 * entries),
        ctypes.create_string_buffer(8 * entries),
    )
    token = ctypes.create_string_buffer(8)
    attr = MapBatchAttr(map_fd=fd, count=entries, out_batch=ctypes.addressof(token))
    attr.keys, attr.values = ctypes.addressof(keys), ctypes.addressof(values)
    syscall(nr, int(Cmd.MAP_LOOKUP_BATCH), ctypes.byref(attr), ctypes.sizeof(attr))
    assert attr.count == entries, attr.count


def iteration(rounds: int, entries: int) -> tuple[float, float, float]:
    """(bare batch walk, items() with bytes, items() with ints) in seconds."""
    m = Map.create(MapSpec("bench_items", MapType.HASH, 4, 8, entries))
    assert isinstance(m, HashMap)
    m.update_batch(range(entries), range(entries))
    twin = m.clone()
    twin.codec = RawCodec(4, 8, int_keys=True, int_values=True)

    def check(items: list[tuple[object, object]]) -> None:
        assert len(items) == entries

    blocks = [
        lambda: bare_batch_walk(m.fileno(), entries),
        lambda: check(list(m.items())),
        lambda: check(list(twin.items())),
    ]
    result = best_per_call(blocks, rounds, 1)
    twin.close()
    m.close()
    return result[0], result[1], result[2]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=15)
    parser.add_argument("--calls", type=int, default=20000)
    parser.add_argument("--entries", type=int, default=100_000)
    parser.add_argument("--strict", action="store_true", help="exit 1 when a bar is missed")
    args = parser.parse_args()
    if os.geteuid() != 0:
        print("maps benchmark skipped: needs root (bpf(2) requires CAP_BPF/CAP_SYS_ADMIN)")
        return 0
    bare, ours, ours_int = lookups(args.rounds, args.calls)
    print(f"lookup, bare ctypes syscall:        {bare * 1e6:6.2f} us")
    print(
        f"lookup, m[bytes] -> bytes:          {ours * 1e6:6.2f} us  {ours / bare:4.2f}x  (bar 1.5x)"
    )
    print(f"lookup, m[int] -> int:              {ours_int * 1e6:6.2f} us  {ours_int / bare:4.2f}x")
    walk, items, items_int = iteration(args.rounds, args.entries)
    print(f"{args.entries} entries, bare batch walk:  {walk * 1e3:6.1f} ms  (kernel floor)")
    print(f"list(m.items()), bytes:             {items * 1e3:6.1f} ms  (bar {ITEMS_BAR_MS:.0f} ms)")
    print(f"list(m.items()), ints:              {items_int * 1e3:6.1f} ms")
    print(
        f"reference (issue, this machine): C batch {C_BATCH_MS:.0f} ms, BCC {BCC_ITEMS_MS:.0f} ms"
    )
    missed = ours / bare > LOOKUP_BAR or max(items, items_int) * 1e3 > ITEMS_BAR_MS
    print("bars:", "MISSED" if missed else "met")
    return 1 if missed and args.strict else 0


if __name__ == "__main__":
    sys.exit(main())
