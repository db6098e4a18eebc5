"""An eBPF object parsed and linked into specs: pybpf's loader next to libbpf's
``bpf_object__open`` measured in the same run.

    python benchmarks/spec.py [object.o] [--runs N]

Without an argument it uses the project's large fixture, tests/testdata/obj/large*.o (a
~650 KB object: 112 programs, 40,000 instructions, 50 CO-RE relocations).

pybpf: ``load_collection_spec(bytes)``, everything eager that a load needs before the
kernel: sections, symbols, BTF, maps, globals, externs, relocations read, every program
linked with its subprograms (their instructions, func_info, line_info and CO-RE records are
computed on first read; that cost is printed separately). libbpf: ``bpf_object__open_mem``
(libbpf.so.1 through ctypes; it parses and collects relocations; it links at load time).
The figures are the median and the minimum of N runs, in milliseconds, on bytes already in
memory; the machine may be busy, the minimum is the steadier figure.
"""

from __future__ import annotations

import argparse
import ctypes
import gc
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))

from pybpf.spec.loader import load_collection_spec  # noqa: E402


def default_object() -> Path:
    built = sorted((ROOT / "tests" / "testdata" / "obj").glob("large*.o"))
    if not built:
        sys.exit("no tests/testdata/obj/large*.o: build the fixtures or name an object")
    return built[0]


def timed(fn: Callable[[], object], runs: int) -> tuple[float, float]:
    """(median, minimum) of ``runs`` calls, in ms, after one warm-up call."""
    fn()
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times) * 1e3, min(times) * 1e3


def libbpf_open(data: bytes) -> Callable[[], object] | None:
    """A call of ``bpf_object__open_mem`` + ``bpf_object__close``, or ``None`` without libbpf."""
    try:
        lib = ctypes.CDLL("libbpf.so.1")
    except OSError:
        return None
    printer = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.c_int, ctypes.c_char_p, ctypes.c_void_p)
    quiet = printer(lambda level, fmt, args: 0)
    lib.libbpf_set_print.argtypes = [printer]
    lib.libbpf_set_print(quiet)
    lib.bpf_object__open_mem.restype = ctypes.c_void_p
    lib.bpf_object__open_mem.argtypes = [ctypes.c_char_p, ctypes.c_size_t, ctypes.c_void_p]
    lib.bpf_object__close.argtypes = [ctypes.c_void_p]
    lib.libbpf_get_error.argtypes = [ctypes.c_void_p]
    lib.libbpf_get_error.restype = ctypes.c_long
    buf = ctypes.create_string_buffer(data, len(data))

    def run() -> object:
        obj = lib.bpf_object__open_mem(buf, len(data), None)
        if not obj or lib.libbpf_get_error(obj):
            raise RuntimeError("libbpf refused the object")
        lib.bpf_object__close(obj)
        return quiet  # keeps the callback alive

    return run


def lazy_costs(data: bytes) -> tuple[float, float, float]:
    """ms to read, once, every program's instructions, then line_info, then CO-RE records."""
    spec = load_collection_spec(data)
    out = []
    for field in ("instructions", "line_info", "core_relos"):
        start = time.perf_counter()
        for prog in spec.programs.values():
            getattr(prog, field)
        out.append((time.perf_counter() - start) * 1e3)
    return out[0], out[1], out[2]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("object", nargs="?", type=Path, default=default_object())
    parser.add_argument("--runs", type=int, default=101)
    args = parser.parse_args()
    data = args.object.read_bytes()
    spec = load_collection_spec(data)
    insns = sum(p.insn_count for p in spec.programs.values())
    relos = sum(len(p.core_relos) for p in spec.programs.values())
    print(
        f"{args.object.name}: {len(data) / 1024:.0f} KiB, {len(spec.programs)} programs "
        f"({insns} instruction slots linked, {relos} CO-RE records), {len(spec.maps)} maps; "
        f"median / min of {args.runs} runs"
    )
    gc.collect()
    med, low = timed(lambda: load_collection_spec(data), args.runs)
    print(f"  pybpf load_collection_spec (parse + link):  {med:7.2f} / {low:6.2f} ms")
    run = libbpf_open(data)
    if run is None:
        print("  libbpf bpf_object__open_mem:                 (libbpf.so.1 not found)")
    else:
        med, low = timed(run, args.runs)
        print(f"  libbpf bpf_object__open_mem (parse):         {med:7.2f} / {low:6.2f} ms")
    first, lines, core = lazy_costs(data)
    print(
        f"  on first read: all instructions {first:.0f} ms, all line_info {lines:.1f} ms, "
        f"all CO-RE records {core:.2f} ms"
    )


if __name__ == "__main__":
    main()
