"""VM tiers against the kernel's JIT on ../shared/bench/vm: ns per run, side by side.

Each program of the bench directory runs in every VM tier (interpreter, fast tier, JIT) over
the bench packet, and, when this process may load BPF programs, in the kernel as an XDP
program (``prolog_kernel.asm`` + the body) under ``BPF_PROG_TEST_RUN`` with ``repeat``, in
the same run. Figures are the minimum over ``--rounds`` of the mean ns per run. The JIT is
timed through its batch entry point (``test_run(repeat=N)``: one native call for N runs),
the kernel the same way. Also printed: JIT compile time (cold: the code cache off, minimum
and median of ``--compiles`` compiles, the machine being noisy; and from the cache), ns per
executed instruction for the Python tiers, and the cold compile time of two 100-instruction
programs (straight and branchy) split into IR generation, LLVM passes (with parsing the IR)
and code generation.

    python benchmarks/vm.py [--rounds 3] [--compiles 15] [--tiers interp,fast,jit]
                            [--only NAME ...]
"""

from __future__ import annotations

import argparse
import ctypes
import ctypes.util
import errno
import os
import platform
import statistics
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))

from pybpf.asm.assembler import assemble  # noqa: E402
from pybpf.asm.conformance import parse_test  # noqa: E402
from pybpf.asm.instruction import Instruction, encode  # noqa: E402
from pybpf.errors import BPFError  # noqa: E402
from pybpf.vm import VM  # noqa: E402

BENCH = ROOT.parent / "shared" / "bench" / "vm"
PROGRAMS = ("empty", "parse_pkt", "sum_bytes", "fnv1a", "xorshift", "primes")
EXECUTED = {  # instructions executed per run (bench README)
    "empty": 3,
    "parse_pkt": 55,
    "sum_bytes": 15005,
    "fnv1a": 11270,
    "xorshift": 260006,
    "primes": 18467,
}
README_KERNEL_NS = {
    "empty": 27,
    "parse_pkt": 30,
    "sum_bytes": 1030,
    "fnv1a": 1320,
    "xorshift": 38000,
    "primes": 4680,
}


@dataclass
class Bench:
    name: str
    insns: list[Instruction]
    kernel_insns: list[Instruction]
    mem: bytes
    expected: int


def load(name: str) -> Bench:
    test = parse_test((BENCH / f"{name}.data").read_text(), source=f"{name}.data")
    mem = test.mem or (BENCH / "pkt.bin").read_bytes()
    insns = test.instructions()
    prolog = (BENCH / "asm" / "prolog_kernel.asm").read_text()
    body = (BENCH / "asm" / f"{name}.asm").read_text()
    kernel = assemble(prolog + "\n" + body, "ubpf")
    return Bench(name, insns, kernel, mem, test.result or 0)


# -- the kernel side: a minimal bpf(2) through ctypes ---------------------------------------------

_NR_BPF = {"x86_64": 321, "aarch64": 280}.get(platform.machine())
BPF_PROG_LOAD, BPF_PROG_TEST_RUN, BPF_PROG_TYPE_XDP = 5, 10, 6


def _bpf(cmd: int, attr: ctypes.Array[ctypes.c_char]) -> int:
    libc = ctypes.CDLL(ctypes.util.find_library("c"), use_errno=True)
    ret: int = libc.syscall(_NR_BPF, cmd, attr, len(attr))
    if ret < 0:
        err = ctypes.get_errno()
        raise OSError(err, os.strerror(err))
    return ret


def kernel_load(insns: list[Instruction], log_level: int = 0) -> int:
    """The fd of an XDP program made of ``insns`` (see include/uapi/linux/bpf.h); the
    verifier log is asked for only to explain a refusal."""
    code = encode(insns)
    buf = ctypes.create_string_buffer(code)
    lic = ctypes.create_string_buffer(b"GPL")
    log = ctypes.create_string_buffer(1 << 20 if log_level else 1)
    attr = ctypes.create_string_buffer(128)
    fields = {0: (BPF_PROG_TYPE_XDP, 4), 4: (len(code) // 8, 4), 8: (ctypes.addressof(buf), 8)}
    fields |= {16: (ctypes.addressof(lic), 8), 24: (log_level, 4)}
    if log_level:
        fields |= {28: (len(log), 4), 32: (ctypes.addressof(log), 8)}
    for off, (value, size) in fields.items():
        attr[off : off + size] = value.to_bytes(size, "little")
    try:
        return _bpf(BPF_PROG_LOAD, attr)
    except OSError as exc:
        if not log_level and exc.errno not in (errno.EPERM, errno.EACCES):
            return kernel_load(insns, 1)
        text = log.value.decode(errors="replace").strip().splitlines()[-3:]
        raise OSError(exc.errno, f"{exc.strerror}: {' / '.join(text)}") from exc


def kernel_test_run(fd: int, data: bytes, repeat: int) -> tuple[int, int]:
    """``BPF_PROG_TEST_RUN``: (retval, mean ns per run)."""
    din = ctypes.create_string_buffer(data)
    dout = ctypes.create_string_buffer(len(data) + 512)
    attr = ctypes.create_string_buffer(128)
    fields = {0: (fd, 4), 8: (len(data), 4), 12: (len(dout), 4), 16: (ctypes.addressof(din), 8)}
    fields |= {24: (ctypes.addressof(dout), 8), 32: (repeat, 4)}
    for off, (value, size) in fields.items():
        attr[off : off + size] = value.to_bytes(size, "little")
    _bpf(BPF_PROG_TEST_RUN, attr)
    retval = int.from_bytes(attr[4:8], "little")
    duration = int.from_bytes(attr[36:40], "little")
    return retval, duration


def kernel_ns(bench: Bench, rounds: int) -> tuple[float | None, str]:
    if _NR_BPF is None:
        return None, "no bpf(2) number for this machine"
    try:
        fd = kernel_load(bench.kernel_insns)
    except OSError as exc:
        reason = "needs root" if exc.errno in (errno.EPERM, errno.EACCES) else str(exc)
        return None, reason
    try:
        repeat = _repeat(bench.name)
        best = None
        for _ in range(rounds):
            retval, ns = kernel_test_run(fd, bench.mem, repeat)
            best = ns if best is None else min(best, ns)
        ok = retval == bench.expected & 0xFFFF_FFFF
        return float(best or 0), "" if ok else f"kernel r0 {retval:#x} != {bench.expected:#x}"
    finally:
        os.close(fd)


# -- the VM side ----------------------------------------------------------------------------------


def _repeat(name: str) -> int:
    return max(10, min(200_000, 20_000_000 // EXECUTED[name]))


def vm_ns(bench: Bench, tier: str, rounds: int) -> tuple[float, str]:
    """(mean ns per run, problem or "")."""
    vm = VM(tier=tier)  # type: ignore[arg-type]
    prog = vm.load(bench.insns)
    problem = ""
    got = prog.run(bench.mem)
    if got != bench.expected:
        problem = f"r0 {got:#x} != {bench.expected:#x}"
    budget = 2.0 if tier == "jit" else 0.5  # seconds per round, roughly
    per_run_guess = {"interp": 300.0, "fast": 60.0}.get(tier, 1.0) * EXECUTED[bench.name]
    repeat = _repeat(bench.name) if tier == "jit" else max(1, int(budget * 1e9 / per_run_guess))
    best = min(prog.test_run(bench.mem, repeat=repeat).duration for _ in range(rounds))
    return float(best), problem


@contextmanager
def _jit_cache(setting: str) -> Iterator[None]:
    """The JIT's code cache set to ``setting`` (``0``: off, else a directory) meanwhile."""
    saved = os.environ.get("PYBPF_JIT_CACHE")
    os.environ["PYBPF_JIT_CACHE"] = setting
    try:
        yield
    finally:
        if saved is None:
            del os.environ["PYBPF_JIT_CACHE"]
        else:
            os.environ["PYBPF_JIT_CACHE"] = saved


@dataclass
class Compiles:
    """Cold compile times (ms) of one program, and the time from the code cache."""

    total: list[float]
    ir: list[float]
    passes: list[float]
    codegen: list[float]
    cached: float

    def cold(self) -> str:
        return f"{min(self.total):.1f}/{statistics.median(self.total):.1f}"


def compile_times(insns: list[Instruction], runs: int) -> Compiles:
    """Time ``runs`` cold compiles of ``insns`` (loading into a new VM included), then one
    from a code cache of its own."""
    from pybpf.vm._jit_runtime import CompileStats

    rows: list[tuple[float, CompileStats]] = []
    with _jit_cache("0"):
        for _ in range(runs):
            vm = VM(tier="jit")
            start = time.perf_counter()
            runner = vm.load(insns).runner()
            rows.append(((time.perf_counter() - start) * 1e3, runner.stats))  # type: ignore[attr-defined]
    with tempfile.TemporaryDirectory() as cache, _jit_cache(cache):
        VM(tier="jit").load(insns).runner()
        start = time.perf_counter()
        VM(tier="jit").load(insns).runner()
        cached = (time.perf_counter() - start) * 1e3
    return Compiles(
        [t for t, _ in rows],
        [s.ir_ms for _, s in rows],
        [s.optimize_ms for _, s in rows],
        [s.codegen_ms for _, s in rows],
        cached,
    )


def program_100() -> list[Instruction]:
    """A 100-instruction program: a hash of the first 24 packet bytes (no branch of its
    own: the packet is not checked by the program, so every access is checked by the VM)."""
    lines = ["mov %r0, 0", "mov %r2, %r1", "add %r2, 32"]
    for k in range(24):
        lines += [
            f"ldxb %r3, [%r1+{k}]",
            "add %r0, %r3",
            "mul %r0, 31",
            f"jeq %r3, {k}, +0",
        ]
    lines += ["exit"]
    return assemble("\n".join(lines), "ubpf")


def program_100_branchy() -> list[Instruction]:
    """A 100-instruction program with a branch every eight instructions: bounds checks by
    the program, stack stores, one exit (the shape of tests/vm/test_jit.py's)."""
    lines = ["add %r2, %r1", "mov %r0, 0"]
    i = 0
    while len(lines) < 99:
        lines += [
            "mov %r3, %r1",
            f"add %r3, {i % 8 + 8}",
            "jgt %r3, %r2, out",
            f"ldxb %r4, [%r1+{i % 8}]",
            "add %r0, %r4",
            f"stxdw [%r10-{8 * (i % 8 + 1)}], %r0",
            "lsh %r0, 3",
            "xor %r0, %r4",
        ]
        i += 1
    return assemble("\n".join([*lines[:99], "out:", "exit"]), "ubpf")


def compile_report(runs: int) -> list[str]:
    """The JIT's cold compile time of 100-instruction programs, split into IR generation,
    LLVM passes (with parsing the IR) and code generation: min/median ms of ``runs``."""
    out = []
    for label, insns in (("straight", program_100()), ("branchy", program_100_branchy())):
        c = compile_times(insns, runs)

        def mm(xs: list[float]) -> str:
            return f"{min(xs):.1f}/{statistics.median(xs):.1f}"

        slots = sum(i.slots for i in insns)
        out.append(
            f"JIT compile, {slots}-instruction program ({label}), min/median of {runs} cold: "
            f"{c.cold()} ms (IR {mm(c.ir)}, passes {mm(c.passes)}, codegen {mm(c.codegen)}); "
            f"cached {c.cached:.1f} ms"
        )
    return out


def _fmt_ns(ns: float | None) -> str:
    if ns is None:
        return "-"
    if ns >= 1e6:
        return f"{ns / 1e6:.2f} ms"
    if ns >= 1e3:
        return f"{ns / 1e3:.2f} µs"
    return f"{ns:.0f} ns"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--compiles", type=int, default=15, help="cold JIT compiles per program")
    parser.add_argument("--tiers", default="interp,fast,jit")
    parser.add_argument("--only", nargs="*", default=list(PROGRAMS))
    args = parser.parse_args(argv)
    if not BENCH.is_dir():
        sys.exit(f"bench programs not found at {BENCH}")
    tiers = args.tiers.split(",")
    if "jit" in tiers:  # LLVM's one-time setup is not any program's compile time
        VM(tier="jit").load(assemble("mov %r0, 0\nexit", "ubpf")).runner()
    head = f"{'program':10} {'kernel JIT':>11} {'(README)':>9}"
    for tier in tiers:
        head += f" {tier:>11}"
    head += f" {'jit/kernel':>10} {'compile ms min/med/cached':>26}"
    head += f"  {'interp ns/i':>11} {'fast ns/i':>9}"
    print(head)
    for name in args.only:
        print(_row(load(name), tiers, args.rounds, args.compiles), flush=True)
    if "jit" in tiers:
        print("\n".join(compile_report(args.compiles)))
    return 0


def _row(bench: Bench, tiers: list[str], rounds: int, compiles: int) -> str:
    name = bench.name
    kns, kproblem = kernel_ns(bench, rounds)
    row = f"{name:10} {_fmt_ns(kns):>11} {_fmt_ns(README_KERNEL_NS[name]):>9}"
    per_insn: dict[str, float] = {}
    notes = [kproblem] if kproblem else []
    jit_ns: float | None = None
    for tier in tiers:
        try:
            ns, problem = vm_ns(bench, tier, rounds)
        except BPFError as exc:
            row += f" {'error':>11}"
            notes.append(f"{tier}: {exc}")
            continue
        row += f" {_fmt_ns(ns):>11}"
        per_insn[tier] = ns / EXECUTED[name]
        if problem:
            notes.append(f"{tier}: {problem}")
        if tier == "jit":
            jit_ns = ns
    ratio = f"{jit_ns / kns:.2f}" if jit_ns is not None and kns else "-"
    cms_text = "-"
    if "jit" in tiers:
        c = compile_times(bench.insns, compiles)
        cms_text = f"{c.cold()}/{c.cached:.1f}"
    interp = f"{per_insn['interp']:.0f}" if "interp" in per_insn else "-"
    fast = f"{per_insn['fast']:.0f}" if "fast" in per_insn else "-"
    row += f" {ratio:>10} {cms_text:>26}  {interp:>11} {fast:>9}"
    return row + (f"   ! {'; '.join(notes)}" if notes else "")


if __name__ == "__main__":
    sys.exit(main())
