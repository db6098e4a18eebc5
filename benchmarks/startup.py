"""Whole-process start-up: pybpf's commands next to the interpreter and bpftool, same run.

The issue's bar: ``pybpf prog loadall OBJ DIR`` as a whole process no slower than ``bpftool
prog loadall OBJ DIR`` (23.9 ms median when the bar was set). A process pays the
interpreter's start and then every module the command imports; this benchmark shows where
pybpf stands, next to the floors a CPython process cannot go under:

- ``python -S -c pass`` (the bare interpreter), ``python -c pass`` (with ``site``, as the
  ``pybpf`` console script starts), ``python -c "import ctypes, struct"`` (and the modules
  any bpf(2) caller in Python needs: ``ctypes`` is the only way to the system call), and
  ``python -c "import pybpf"``;
- ``pybpf --help``, ``pybpf spec OBJ``, ``pybpf disasm OBJ``, ``pybpf btf dump OBJ`` (next to
  ``bpftool btf dump file OBJ``);
- as root, ``pybpf prog loadall OBJ DIR`` next to ``bpftool prog loadall OBJ DIR`` (a fresh
  directory under /sys/fs/bpf each run, removed after it); where ``prog loadall`` does not
  exist yet, the imports a load needs (``python -c "import pybpf.objects, pybpf.spec.loader,
  pybpf.spec.core"``) stand in for it.

Commands run interleaved (each round runs every command once) so a busy machine slows them
alike; each row is the minimum and the median of R rounds in ms. Modules are compiled to
bytecode first, in a temporary ``PYTHONPYCACHEPREFIX`` (as an installed package is): an
environment with ``PYTHONDONTWRITEBYTECODE`` would otherwise recompile every module of every
run. ``--source`` measures that case instead. ``--importtime CMD`` prints the 25 slowest
modules of one command (``python -X importtime``, minimum self time over the rounds).

    python benchmarks/startup.py [--object OBJ.o] [--runs R] [--source] [--importtime spec]
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
OBJ = ROOT / "tests" / "testdata" / "obj"
BPFFS = Path("/sys/fs/bpf")


def pybpf_command() -> list[str]:
    """How to start the ``pybpf`` console script of this interpreter (or ``-m pybpf``)."""
    script = Path(sys.executable).parent / "pybpf"
    return [str(script)] if script.exists() else [sys.executable, "-m", "pybpf"]


def has_loadall(env: dict[str, str]) -> bool:
    """Whether this pybpf has ``prog loadall`` (another part of the project adds it)."""
    probe = [*pybpf_command(), "prog", "loadall", "--help"]
    return subprocess.run(probe, env=env, capture_output=True, check=False).returncode == 0


class PinDir:
    """A fresh directory under /sys/fs/bpf for each run of a ``loadall``, removed after it."""

    def __init__(self) -> None:
        self.count = 0

    def fresh(self) -> str:
        self.count += 1
        path = BPFFS / f"pybpf_startup_{os.getpid()}_{self.count}"
        return str(path)

    @staticmethod
    def clean(argv: list[str]) -> None:
        for arg in argv:
            if arg.startswith(f"{BPFFS}/pybpf_startup_"):
                shutil.rmtree(arg, ignore_errors=True)


def commands(obj: Path, env: dict[str, str], root: bool) -> dict[str, list[str]]:
    """Label -> argv (``{pin}`` stands for a fresh pin directory)."""
    py, pb = sys.executable, pybpf_command()
    rows = {
        "python -S -c pass (floor)": [py, "-S", "-c", "pass"],
        "python -c pass (floor, site)": [py, "-c", "pass"],
        "python + ctypes, struct (floor)": [py, "-c", "import ctypes, struct"],
        'python -c "import pybpf"': [py, "-c", "import pybpf"],
        "pybpf --help": [*pb, "--help"],
        "pybpf spec OBJ": [*pb, "spec", str(obj)],
        "pybpf disasm OBJ": [*pb, "disasm", str(obj)],
        "pybpf btf dump OBJ": [*pb, "btf", "dump", str(obj)],
    }
    bpftool = shutil.which("bpftool")
    if bpftool:
        rows["bpftool btf dump file OBJ"] = [bpftool, "btf", "dump", "file", str(obj)]
    if root and BPFFS.is_dir():
        if has_loadall(env):
            rows["pybpf prog loadall OBJ DIR"] = [*pb, "prog", "loadall", str(obj), "{pin}"]
        else:
            imports = "import pybpf.objects, pybpf.spec.loader, pybpf.spec.core"
            rows["(no loadall yet) imports of a load"] = [py, "-c", imports]
        if bpftool:
            rows["bpftool prog loadall OBJ DIR"] = [bpftool, "prog", "loadall", str(obj), "{pin}"]
    return rows


def run_once(argv: list[str], env: dict[str, str], pins: PinDir) -> float:
    argv = [pins.fresh() if a == "{pin}" else a for a in argv]
    start = time.perf_counter()
    proc = subprocess.run(
        argv, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, check=False
    )
    elapsed = time.perf_counter() - start
    pins.clean(argv)
    if proc.returncode != 0:
        sys.exit(f"{' '.join(argv)} failed ({proc.returncode}): {proc.stderr.decode()[-500:]}")
    return elapsed


def importtime(argv: list[str], env: dict[str, str], rounds: int) -> None:
    """The slowest modules of one command: minimum self time over ``rounds`` runs."""
    best: dict[str, int] = {}
    pins = PinDir()
    for _ in range(rounds):
        args = [pins.fresh() if a == "{pin}" else a for a in argv]
        if not args[0].endswith("python") and args[0] != sys.executable:
            args = [sys.executable, *args]  # the console script, run by this interpreter
        command = [args[0], "-X", "importtime", *args[1:]]
        proc = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
        pins.clean(args)
        run: Counter[str] = Counter()
        for line in proc.stderr.splitlines():
            m = re.match(r"import time:\s+(\d+) \|\s+\d+ \|\s*(\S+)", line)
            if m:
                run[m.group(2)] += int(m.group(1))
        for name, us in run.items():
            best[name] = min(best.get(name, 1 << 60), us)
    total = sum(best.values()) / 1e3
    print(f"\n-X importtime, {len(best)} modules, sum of minimum self times {total:.1f} ms:")
    for name, us in sorted(best.items(), key=lambda kv: -kv[1])[:25]:
        print(f"  {us / 1e3:6.2f} ms  {name}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--object", type=Path, default=OBJ / "bs_bootstrap.el.v3.o")
    parser.add_argument("--runs", type=int, default=30)
    parser.add_argument("--source", action="store_true", help="no bytecode: compile each run")
    parser.add_argument("--importtime", metavar="LABEL", help="e.g. 'spec', 'loadall', 'help'")
    args = parser.parse_args()
    env = dict(os.environ)
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    with tempfile.TemporaryDirectory(prefix="pybpf-pyc-") as cache:
        if args.source:
            env["PYTHONDONTWRITEBYTECODE"] = "1"
        else:
            env["PYTHONPYCACHEPREFIX"] = cache
        rows = commands(args.object, env, os.geteuid() == 0)
        pins = PinDir()
        for argv in rows.values():  # warm-up: bytecode written, files in the page cache
            run_once(argv, env, pins)
        times: dict[str, list[float]] = {label: [] for label in rows}
        for _ in range(args.runs):
            for label, argv in rows.items():
                times[label].append(run_once(argv, env, pins))
        mode = "from source" if args.source else "bytecode cached"
        print(f"{args.object.name}, {args.runs} interleaved rounds ({mode}); ms")
        print(f"  {'command':40s} {'min':>7s} {'median':>7s}")
        for label, ts in times.items():
            print(f"  {label:40s} {min(ts) * 1e3:7.1f} {statistics.median(ts) * 1e3:7.1f}")
        if args.importtime:
            matches = [lb for lb in rows if args.importtime in lb and not lb.startswith("bpf")]
            if not matches:
                sys.exit(f"no command matches {args.importtime!r}")
            importtime(rows[matches[0]], env, max(5, args.runs // 3))


if __name__ == "__main__":
    main()
