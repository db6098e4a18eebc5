"""Long differential runs of the VM against the kernel (root and a working bpf(2) needed).

    python scripts/vm_fuzz_kernel.py [--examples 5000] [--seed N] [--fixtures] [--conformance]

* generated programs (``tests/vm/gen.py``): each loaded as an XDP program in the kernel and
  run under BPF_PROG_TEST_RUN, and run in every VM tier; r0 (all 64 bits) must agree;
* ``--fixtures``: every clang fixture program of every test-runnable type, all 86 programs of
  large.el.v4.o and the JIT on far_jump included (``PYBPF_FULL_DIFF=1`` for the pytest run);
* ``--conformance``: the bpf_conformance suite, as in the CI tests.

The first disagreement stops the run and prints the program (uBPF assembly) to reproduce it.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT / "src"), str(ROOT)]

from hypothesis import HealthCheck, given, seed, settings  # noqa: E402
from tests.vm.gen import program  # noqa: E402
from tests.vm.kernel_oracle import (  # noqa: E402
    ETH_PACKET,
    kernel_reason,
    run_kernel,
    run_vm,
    wrap_raw,
)

from pybpf.asm.disasm import disassemble  # noqa: E402
from pybpf.asm.instruction import Instruction, encode  # noqa: E402

TIERS = ("interp", "fast", "jit")


def _check(insns: list[Instruction], counts: dict[str, int]) -> None:
    case = wrap_raw(insns, b"")
    kernel = run_kernel(case.spec, "raw", [(ETH_PACKET, None)])
    if kernel.error:
        counts["refused"] += 1
        return
    for tier in TIERS:
        vm = run_vm(case.spec, "raw", [(ETH_PACKET, None)], tier)  # type: ignore[arg-type]
        if (vm.runs, vm.maps) != (kernel.runs, kernel.maps):
            print(disassemble(encode(insns), syntax="ubpf"))
            raise AssertionError(f"{tier} disagrees with the kernel: {vm!r} != {kernel!r}")
    counts["compared"] += 1


def fuzz(examples: int, seed_value: int | None, max_body: int) -> dict[str, int]:
    counts = {"compared": 0, "refused": 0}
    strategy = program(kernel=True, max_body=max_body)

    @settings(
        max_examples=examples,
        deadline=None,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    @given(strategy)
    def prop(insns: list[Instruction]) -> None:
        _check(insns, counts)

    if seed_value is not None:
        prop = seed(seed_value)(prop)
    prop()
    return counts


def _pytest(selection: str) -> int:
    env = dict(os.environ, PYBPF_FULL_DIFF="1")
    cmd = [sys.executable, "-m", "pytest", "-q", "tests/vm/test_kernel_diff.py", "-k", selection]
    return subprocess.call(cmd, cwd=ROOT, env=env)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--examples", type=int, default=5000, help="0: no generated programs")
    parser.add_argument("--seed", type=int)
    parser.add_argument("--max-body", type=int, default=60, help="body instructions at most")
    parser.add_argument("--fixtures", action="store_true")
    parser.add_argument("--conformance", action="store_true")
    args = parser.parse_args(argv)
    reason = kernel_reason()
    if reason:
        print(f"cannot compare with the kernel: {reason}")
        return 2
    status = 0
    if args.fixtures:
        status |= _pytest("fixture")
    if args.conformance:
        status |= _pytest("conformance")
    if args.examples <= 0:
        return status
    start = time.perf_counter()
    counts = fuzz(args.examples, args.seed, args.max_body)
    took = time.perf_counter() - start
    print(
        f"{counts['compared']} generated programs: kernel == interp == fast == jit "
        f"({counts['refused']} refused by the verifier) in {took:.0f} s"
    )
    return status


if __name__ == "__main__":
    sys.exit(main())
