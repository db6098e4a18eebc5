"""Coverage-guided fuzzing of pybpf.elf with atheris (a script for long runs, not run in CI).

Every input goes through every accessor of ELFFile (header, sections and their data, names,
string tables, symbols, relocations, lookups). ELFError is the expected answer to bad input;
any other exception, a hang or runaway memory is a finding.

    pip install atheris
    python fuzz/fuzz_elf.py -max_len=65536 -rss_limit_mb=1024 -timeout=5 \
        fuzz/corpus_elf tests/testdata/elf

Seed it with real objects (tests/testdata/elf/*.o, tests/testdata/obj/*.o).
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import TypeVar

import atheris

with atheris.instrument_imports():
    from pybpf.elf import SHT, ELFFile, Section
    from pybpf.errors import ELFError


def _touch(elf: ELFFile) -> None:
    repr(elf)
    _ = (elf.byteorder, elf.machine, elf.type, elf.flags, elf.is_bpf)
    count = elf.num_sections()
    for sec in elf.iter_sections():
        _touch_section(elf, sec)
    _guard(lambda: elf.get_section(-1))
    _guard(lambda: elf.get_section(count))
    for sym in _guard(lambda: elf.symbols) or []:
        elf.get_symbol_by_name(sym.name)


def _touch_section(elf: ELFFile, sec: Section) -> None:
    _guard(lambda: bytes(sec.data))
    _guard(lambda: elf.get_section_by_name(sec.name))
    _guard(lambda: elf.relocations(sec))
    _guard(lambda: elf.relocation_sections(sec))
    if sec.type in (SHT.REL, SHT.RELA):
        _guard(lambda: elf.relocation_entries(sec))
    if sec.type == SHT.STRTAB and sec.size:
        _guard(lambda: elf.string_at(sec, sec.size - 1))


_T = TypeVar("_T")


def _guard(call: Callable[[], _T]) -> _T | None:
    """Run ``call``; ELFError is a correct answer, so keep going with the next accessor."""
    try:
        return call()
    except ELFError:
        return None


def test_one_input(data: bytes) -> None:
    try:
        elf = ELFFile(data, name="fuzz.o")
        _touch(elf)
    except ELFError:
        pass


def main() -> None:
    atheris.Setup(sys.argv, test_one_input)
    atheris.Fuzz()


if __name__ == "__main__":
    main()
