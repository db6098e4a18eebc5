"""pybpf's disassembler and assembler next to llvm-objdump-19 and llvm-mc-19, same input.

A program of N instructions (every row of the opcode table, random operands, jumps within
the program) is written as ``.byte`` lines, assembled by llvm-mc-19 into the ``.text`` of an
ELF object, and then, in the same run:

- disassembly: ``llvm-objdump-19 -d --mattr=+alu32`` on the object (process time, output
  discarded) vs pybpf's decode + format of the same bytes in the same style
  (``disassemble(style="objdump", alu32=True)``, with the ``<.text+0x..>`` jump annotations);
  the two listings are compared line by line first, so both do the same work;
- assembly: llvm-mc-19 on the listing in llvm-objdump's syntax vs ``assemble()`` of it.

Prints instructions per second for each tool, best of R runs, and the ratios. Without the
LLVM tools only pybpf's figures print.

Random operands are the worst case for the listing (it reuses the text of repeated
instructions, and real programs repeat many); so the same figures are printed for the code
of a real object too, ``tests/testdata/obj/large.el.v4.o`` (40,000 instructions of clang
output): pybpf's decode + format of its executable sections next to ``llvm-objdump-19 -d``
of the object (the whole process: it also reads the ELF file).

    python benchmarks/asm.py [--insns N] [--runs R]
"""

from __future__ import annotations

import argparse
import random
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))
REAL = ROOT / "tests" / "testdata" / "obj" / "large.el.v4.o"

from pybpf.asm.assembler import assemble  # noqa: E402
from pybpf.asm.disasm import disassemble  # noqa: E402
from pybpf.asm.instruction import Instruction, encode  # noqa: E402
from pybpf.asm.opcodes import OPS, Field, Kind  # noqa: E402
from pybpf.elf import SHF, ELFFile  # noqa: E402

MC, OBJDUMP = "llvm-mc-19", "llvm-objdump-19"
LINE = re.compile(r"^\s*\d+:\t[0-9a-f ]+\t(.*)$")
# rows llvm-objdump-19 cannot print (LLVM 20 features): left out so both sides match
SKIP = {Kind.GOTOX}


def program(n: int, seed: int = 1) -> list[Instruction]:
    """``n`` valid instructions of every printable row, jumps landing inside the program."""
    rng = random.Random(seed)
    rows = [op for op in OPS if op.kind not in SKIP and op.objdump != "<unknown>"]
    out: list[Instruction] = []
    for _ in range(n):
        op = rng.choice(rows)
        f = {"dst": rng.randrange(11), "src": rng.randrange(11), "off": rng.randrange(-512, 512)}
        f["imm"] = rng.choice((0, 1, -1, rng.randrange(-(1 << 31), 1 << 31)))
        vals = {k: (v if Field[k.upper()] in op.operands else 0) for k, v in f.items()}
        if op.kind is Kind.ADDR_SPACE_CAST:
            vals["imm"] = 1
        if op.key is not None:
            vals[op.key[0]] = op.key[1]
        if op.target_field is not None:
            vals[op.target_field] = rng.randrange(-min(len(out), 20), 20)
        hi = rng.randrange(1 << 31) if op.name == "LD.IMM64" else 0
        out.append(Instruction(op.code, vals["dst"], vals["src"], vals["off"], vals["imm"], hi))
    out += [Instruction(0x95)] * 21  # exits, so every forward jump lands on an instruction
    return _off_lddw_tails(out)


def _off_lddw_tails(insns: list[Instruction]) -> list[Instruction]:
    """Move jumps that land on the second slot of an lddw one slot further."""
    pcs, pc = [], 0
    for insn in insns:
        pcs.append(pc)
        pc += insn.slots
    starts = set(pcs)
    out = []
    for pc, insn in zip(pcs, insns, strict=True):
        target = insn.jump_target(pc)
        op = insn.op
        if target is not None and target not in starts and op and op.target_field:
            rel = getattr(insn, op.target_field) + 1
            insn = insn.with_fields(**{op.target_field: rel})  # noqa: PLW2901
        out.append(insn)
    return out


def best(runs: int, fn: Callable[[], object]) -> float:
    times = []
    for _ in range(runs):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return min(times)


def annotate(target: int) -> str:
    at = (target * 8) % (1 << 64)
    return f".text+{at:#x}" if at else ".text"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--insns", type=int, default=150_000)
    ap.add_argument("--runs", type=int, default=3)
    args = ap.parse_args()
    insns = program(args.insns)
    data = encode(insns)
    n = len(insns)

    def ours_disasm() -> str:
        return disassemble(
            data, style="objdump", alu32=True, labels=False, target_annotation=annotate
        )

    listing = ours_disasm()
    t_ours = best(args.runs, ours_disasm)
    print(f"{n} instructions ({len(data)} bytes)")
    print(f"pybpf decode+format      {n / t_ours:12,.0f} insn/s")
    asm_text = listing.replace("<unknown>", "")
    asm_text = re.sub(r" <[^<>]*>$", "", asm_text, flags=re.M)
    t_asm = best(args.runs, lambda: assemble(asm_text, "llvm"))
    print(f"pybpf assemble           {n / t_asm:12,.0f} insn/s")
    if shutil.which(MC) is None or shutil.which(OBJDUMP) is None:
        print(f"{MC}/{OBJDUMP} not installed: LLVM figures skipped (apt-get install llvm-19)")
        real_object(args.runs)
        return
    with tempfile.TemporaryDirectory() as tmp:
        compare_llvm(
            Path(tmp),
            data=data,
            listing=listing,
            asm_text=asm_text,
            n=n,
            t_ours=t_ours,
            t_asm=t_asm,
            runs=args.runs,
        )
    real_object(args.runs)


def real_object(runs: int) -> None:
    """Decode + format of a real object's code, next to llvm-objdump-19 on the object."""
    if not REAL.exists():
        return
    elf = ELFFile.from_path(REAL)
    code = b"".join(bytes(s.data) for s in elf.iter_sections() if s.flags & SHF.EXECINSTR)
    n = len(code) // 8
    t_ours = best(runs, lambda: disassemble(code, style="objdump", labels=False, strict=False))
    print(f"{REAL.name}: {n} instructions of clang output")
    print(f"pybpf decode+format      {n / t_ours:12,.0f} insn/s")
    if shutil.which(OBJDUMP) is None:
        return
    dump = [OBJDUMP, "-d", str(REAL)]
    t_llvm = best(runs, lambda: subprocess.run(dump, check=True, stdout=subprocess.DEVNULL))
    print(f"{OBJDUMP} -d         {n / t_llvm:12,.0f} insn/s")
    print(f"ratio pybpf/llvm-objdump {t_llvm / t_ours:12.2f}")


def compare_llvm(
    tmp: Path,
    *,
    data: bytes,
    listing: str,
    asm_text: str,
    n: int,
    t_ours: float,
    t_asm: float,
    runs: int,
) -> None:
    src, obj = tmp / "big.s", tmp / "big.o"
    lines = (".byte " + ",".join(map(str, data[i : i + 8])) for i in range(0, len(data), 8))
    src.write_text("\t.text\n" + "\n".join(lines) + "\n")
    subprocess.run(
        [MC, "-triple", "bpfel", "-mcpu=v4", "-filetype=obj", str(src), "-o", str(obj)], check=True
    )
    dump = [OBJDUMP, "-d", "--mattr=+alu32", str(obj)]
    theirs = subprocess.run(dump, check=True, capture_output=True, text=True).stdout
    got = [m.group(1) for m in map(LINE.match, theirs.splitlines()) if m]
    mine = [line.strip() for line in listing.splitlines()]
    same = sum(a == b for a, b in zip(got, mine, strict=False))
    print(f"listings agree on {same}/{len(mine)} lines")
    t_llvm = best(runs, lambda: subprocess.run(dump, check=True, stdout=subprocess.DEVNULL))
    print(f"{OBJDUMP} -d         {n / t_llvm:12,.0f} insn/s")
    print(f"ratio pybpf/llvm-objdump {t_llvm / t_ours:12.2f}")
    text = tmp / "listing.s"
    text.write_text(asm_text)
    mc = [MC, "-triple", "bpfel", "-mcpu=v4", "-filetype=obj", str(text), "-o", str(tmp / "l.o")]
    t_mc = best(runs, lambda: subprocess.run(mc, check=True))
    print(f"{MC}              {n / t_mc:12,.0f} insn/s")
    print(f"ratio pybpf/llvm-mc      {t_mc / t_asm:12.2f}")


if __name__ == "__main__":
    main()
