"""pyelftools vs pybpf.elf on a ~650 KB eBPF object: the measurement behind the ELF decision.

Each reader, from bytes already in memory: open, iterate every section header (with its name),
read every symbol of .symtab (with its name), read every relocation of every SHT_REL/RELA
section (with its symbol resolved). Also timed: the part a spec loader needs (sections,
symbols, and the relocations of executable sections only). Prints the median of N runs in ms.

    python benchmarks/elf.py [object.o] [--runs N]

Without an argument it uses the project's large fixture, tests/testdata/obj/large*.o (a
~650 KB object with 50 CO-RE relocations; ``make -C tests/testdata`` rebuilds it).
"""

from __future__ import annotations

import argparse
import io
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))

from pybpf.elf import SHF, SHT, ELFFile  # noqa: E402


def default_object() -> Path:
    built = sorted((ROOT / "tests" / "testdata" / "obj").glob("large*.o"))
    if not built:
        sys.exit("no tests/testdata/obj/large*.o: build the fixtures or name an object")
    return built[0]


def pybpf_all(data: bytes) -> int:
    elf = ELFFile(data)
    sections = list(elf.iter_sections())
    names = [s.name for s in sections]
    symbols = [s.name for s in elf.symbols]
    relocs = 0
    for sec in sections:
        if sec.type in (SHT.REL, SHT.RELA):
            relocs += sum(1 for r in elf.relocation_entries(sec) if r.symbol is not None)
    return len(names) + len(symbols) + relocs


def pybpf_spec_part(data: bytes) -> int:
    elf = ELFFile(data)
    symbols = elf.symbols
    relocs = 0
    for sec in elf.iter_sections():
        if sec.flags & SHF.EXECINSTR:
            relocs += len(elf.relocations(sec))
    return len(symbols) + relocs


def pyelftools_all(data: bytes) -> int:
    from elftools.elf.elffile import ELFFile as PyELFFile
    from elftools.elf.relocation import RelocationSection

    elf = PyELFFile(io.BytesIO(data))
    sections = list(elf.iter_sections())
    names = [s.name for s in sections]
    symtab = elf.get_section_by_name(".symtab")
    symbols = [s.name for s in symtab.iter_symbols()]
    tables = {elf.get_section_by_name(".symtab")["sh_offset"]: list(symtab.iter_symbols())}
    relocs = 0
    for sec in sections:
        if isinstance(sec, RelocationSection):
            # Resolve through a list per symbol table (get_symbol() would re-parse each).
            linked = sections[sec["sh_link"]]
            table = tables.get(linked["sh_offset"]) or list(linked.iter_symbols())
            for rel in sec.iter_relocations():
                relocs += table[rel["r_info_sym"]] is not None
    return len(names) + len(symbols) + relocs


def pyelftools_spec_part(data: bytes) -> int:
    from elftools.elf.elffile import ELFFile as PyELFFile
    from elftools.elf.relocation import RelocationSection

    elf = PyELFFile(io.BytesIO(data))
    symtab = elf.get_section_by_name(".symtab")
    symbols = list(symtab.iter_symbols())
    sections = list(elf.iter_sections())
    relocs = 0
    for sec in sections:
        if not isinstance(sec, RelocationSection):
            continue
        if sections[sec["sh_info"]]["sh_flags"] & SHF.EXECINSTR:
            for rel in sec.iter_relocations():
                relocs += symbols[rel["r_info_sym"]] is not None
    return len(symbols) + relocs


def median_ms(fn: Callable[[bytes], int], data: bytes, runs: int) -> tuple[float, int]:
    result = fn(data)  # warm up (imports, caches)
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        fn(data)
        times.append(time.perf_counter() - start)
    return statistics.median(times) * 1e3, result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("object", nargs="?", type=Path, default=default_object())
    parser.add_argument("--runs", type=int, default=21)
    args = parser.parse_args()
    data = args.object.read_bytes()
    elf = ELFFile(data)
    n_rel = sum(len(elf.relocation_entries(s)) for s in elf.iter_sections(SHT.REL))
    print(
        f"{args.object.name}: {len(data) / 1024:.0f} KiB, {elf.num_sections()} sections, "
        f"{len(elf.symbols)} symbols, {n_rel} relocations; median of {args.runs} runs"
    )
    try:
        import elftools
    except ImportError:
        elftools = None
        print("pyelftools is not installed: measuring pybpf.elf only")
    for label, ours, theirs in (
        ("open + sections + symbols + all relocations", pybpf_all, pyelftools_all),
        ("spec part (symbols + executable sections' relocations)", pybpf_spec_part,
         pyelftools_spec_part),
    ):  # fmt: skip
        mine, count = median_ms(ours, data, args.runs)
        line = f"{label}:\n  pybpf.elf  {mine:8.2f} ms"
        if elftools is not None:
            other, other_count = median_ms(theirs, data, max(3, args.runs // 4))
            assert other_count == count, (other_count, count)
            line += f"\n  pyelftools {other:8.2f} ms  ({elftools.__version__})"
            line += f"\n  ratio      {other / mine:8.1f}x"
        print(line)


if __name__ == "__main__":
    main()
