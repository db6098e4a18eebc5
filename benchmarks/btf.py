"""vmlinux BTF "ready for CO-RE lookups": pybpf cold and warm, next to anchors from the same run.

"Ready for CO-RE lookups" = from the file's path to: the ids of every STRUCT named
``task_struct`` found, and its members decoded (what a CO-RE candidate search needs).

- **pybpf cold**: ``BTF.from_path(path)`` + ``find("task_struct", Kind.STRUCT)`` + members,
  nothing cached (a fresh BTF object each run, no index cache).
- **pybpf cold, writing the cache**: the same with ``cache=True`` and an empty cache
  directory (what the first process after a boot pays).
- **pybpf warm**: ``cache=True`` with the index cache filled (a later process); and with
  the hashed name index in the cache too (once a process built it: lookups then skip the
  search of the string section).
- **pybpf hot**: the lookup on a BTF already open in this process.
- **naive full decode**: a straightforward pure-Python reader written here: every record
  unpacked with ``struct`` into a dict with its name, members and values.
- **naive index**: the same loop, keeping only each record's offset and a name -> ids dict.
- **libbpf**: ``btf__parse(path, NULL)`` of the system's libbpf.so.1 through ctypes (parsing
  only: its lookups are O(n) scans in C), when installed.

Each figure is the minimum and the median of R runs in ms (the machine is shared: the minimum
is the figure to compare). Also printed: the raw and C dumps and the re-encoding of vmlinux.

    python benchmarks/btf.py [--runs R] [--file /sys/kernel/btf/vmlinux]
"""

from __future__ import annotations

import argparse
import ctypes
import ctypes.util
import os
import statistics
import struct
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))

from pybpf.btf import BTF, Kind, cache, format_c, format_raw  # noqa: E402

NAME = "task_struct"
# Kind -> (fixed extra bytes, bytes per vlen item), for the naive readers.
EXTRA = {1: (4, 0), 3: (12, 0), 4: (0, 12), 5: (0, 12), 6: (0, 8), 13: (0, 8), 14: (4, 0)}
EXTRA.update({15: (0, 12), 17: (4, 0), 19: (0, 12)})


def timed(fn: Callable[[], object], runs: int) -> tuple[float, float]:
    """(min, median) wall time in ms over ``runs`` calls."""
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        fn()
        times.append((time.perf_counter() - start) * 1e3)
    return min(times), statistics.median(times)


def ready(path: str, *, cache: bool = False) -> int:
    btf = BTF.from_path(path, cache=cache)
    (task,) = btf.find(NAME, Kind.STRUCT)
    return len(btf[task].members)  # type: ignore[attr-defined]


def naive_full_decode(path: str) -> int:
    """Every type as a dict: the simplest correct pure-Python reader."""
    data = Path(path).read_bytes()
    _, _, _, hdr_len, type_off, type_len, str_off, _ = struct.unpack_from("<HBBIIIII", data)
    strs = hdr_len + str_off

    def name(off: int) -> str:
        return data[strs + off : data.index(b"\0", strs + off)].decode()

    types: list[dict[str, object]] = []
    at, end = hdr_len + type_off, hdr_len + type_off + type_len
    while at < end:
        name_off, info, size = struct.unpack_from("<III", data, at)
        kind, vlen = (info >> 24) & 0x1F, info & 0xFFFF
        fixed, per = EXTRA.get(kind, (0, 0))
        items = []
        for i in range(vlen if per else 0):
            fields = struct.unpack_from(f"<{per // 4}I", data, at + 12 + fixed + i * per)
            items.append((name(fields[0]) if kind != 15 else "", fields))
        types.append({"name": name(name_off), "kind": kind, "size": size, "items": items})
        at += 12 + fixed + per * vlen
    (task,) = [t for t in types if t["name"] == NAME and t["kind"] == Kind.STRUCT]
    return len(task["items"])  # type: ignore[arg-type]


def naive_index(path: str) -> int:
    """Offsets and a name -> ids dict in one straightforward loop; decode the one type."""
    data = Path(path).read_bytes()
    _, _, _, hdr_len, type_off, type_len, str_off, _ = struct.unpack_from("<HBBIIIII", data)
    strs = hdr_len + str_off
    offsets: list[int] = []
    by_name: dict[int, list[int]] = {}
    at, end = hdr_len + type_off, hdr_len + type_off + type_len
    while at < end:
        name_off, info = struct.unpack_from("<II", data, at)
        by_name.setdefault(name_off, []).append(len(offsets) + 1)
        offsets.append(at)
        fixed, per = EXTRA.get((info >> 24) & 0x1F, (0, 0))
        at += 12 + fixed + per * (info & 0xFFFF)
    off = data.index(b"\0" + NAME.encode() + b"\0", strs) + 1 - strs
    (task,) = [i for i in by_name[off] if (data[offsets[i - 1] + 7] & 0x1F) == Kind.STRUCT]
    _, info, _ = struct.unpack_from("<III", data, offsets[task - 1])
    return info & 0xFFFF


def libbpf_parse() -> Callable[[str], None] | None:
    try:
        lib = ctypes.CDLL(ctypes.util.find_library("bpf") or "libbpf.so.1")
    except OSError:
        return None
    lib.btf__parse.restype = ctypes.c_void_p
    lib.btf__parse.argtypes = [ctypes.c_char_p, ctypes.c_void_p]
    lib.btf__free.argtypes = [ctypes.c_void_p]

    def parse(path: str) -> None:
        btf = lib.btf__parse(path.encode(), None)
        if not btf:
            raise RuntimeError("libbpf could not parse the file")
        lib.btf__free(btf)

    return parse


def row(label: str, figures: tuple[float, float], note: str = "") -> None:
    print(f"  {label:<44} {figures[0]:9.2f} {figures[1]:9.2f}  {note}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--file", default="/sys/kernel/btf/vmlinux")
    args = parser.parse_args()
    path, runs = args.file, args.runs
    if not os.path.exists(path):
        print(f"{path} not found: nothing to measure (kernel without BTF?)")
        return 0
    btf = BTF.from_path(path)
    print(f"{path}: {len(btf) - 1} types, {os.path.getsize(path)} bytes; {runs} runs each")
    print(f"  {'':<44} {'min ms':>9} {'median':>9}")

    with tempfile.TemporaryDirectory() as tmp:
        os.environ["PYBPF_CACHE_DIR"] = tmp
        row("pybpf cold (no cache)", timed(lambda: ready(path), runs), "target <= 30")

        def cold_writing() -> None:
            for entry in Path(tmp).glob("*.idx"):
                entry.unlink()
            ready(path, cache=True)

        row("pybpf cold, writing the cache", timed(cold_writing, runs))
        ready(path, cache=True)
        row("pybpf warm (index cache filled)", timed(lambda: ready(path, cache=True), runs), "<= 5")
        data = Path(path).read_bytes()
        row("  building the hashed name index (once)", timed(lambda: BTF(data).index_names(), 3))
        cache.load_cached(data, name=path, index_names=True)
        row(
            "pybpf warm (cache with hashed name index)",
            timed(lambda: ready(path, cache=True), runs),
        )
        lookups = ("sk_buff", "file", "inode", "mm_struct", "cgroup", "net_device", "sock")

        def seven(cached: bool) -> None:
            btf = BTF.from_path(path, cache=cached)
            for name in lookups:
                btf.find_flavors(name, Kind.STRUCT)

        row(
            f"pybpf open + {len(lookups)} CO-RE candidate searches, cold",
            timed(lambda: seven(False), 5),
        )
        row(
            f"pybpf open + {len(lookups)} CO-RE candidate searches, warm",
            timed(lambda: seven(True), runs),
        )
    hot = BTF.from_path(path)
    hot.find(NAME, Kind.STRUCT)

    def lookup() -> None:
        (task,) = hot.find(NAME, Kind.STRUCT)
        hot[task]

    row("pybpf hot (lookup on an open BTF)", timed(lookup, runs))

    print("anchors")
    row("naive full decode (pure Python)", timed(lambda: naive_full_decode(path), 3))
    row("naive index (pure Python)", timed(lambda: naive_index(path), 5))
    parse = libbpf_parse()
    if parse is None:
        print("  libbpf.so.1 not installed: no libbpf anchor")
    else:
        row("libbpf btf__parse (ctypes)", timed(lambda: parse(path), runs))

    print("whole-file work (not part of the target)")
    row("format_raw (bpftool btf dump file)", timed(lambda: format_raw(BTF.from_path(path)), 1))
    row("format_c (... format c)", timed(lambda: format_c(BTF.from_path(path)), 1))
    row("decode everything + encode", timed(lambda: BTF.from_path(path).encode(), 1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
