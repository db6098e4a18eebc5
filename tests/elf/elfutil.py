"""Test support for pybpf.elf: a tiny ELF writer, a readelf output parser, and a visitor.

- :func:`build_elf` writes small ELF64 objects section by section (with its own struct
  formats, independent of ``pybpf.elf._layout``) for the cases clang does not produce: RELA
  relocations, extended section numbering, ``SHN_XINDEX`` symbols, other machines.
- :func:`parse_readelf` turns ``readelf -S -s -r --wide`` text (GNU binutils or
  ``llvm-readelf``) into numbers; :func:`dump` renders an :class:`ELFFile` the same way, so
  a test compares values, not spellings.
- :func:`touch_everything` walks every access path of an :class:`ELFFile`, swallowing only
  :class:`ELFError`, for the fuzz tests.
"""

from __future__ import annotations

import re
import struct
import subprocess
from dataclasses import dataclass, field
from typing import Any

from pybpf.elf import SHF, SHN, SHT, STB, STT, STV, ELFFile
from pybpf.errors import ELFError

# -- a tiny ELF writer -------------------------------------------------------------------

_ORDER = {"little": "<", "big": ">"}


@dataclass
class Sec:
    """A section to write; ``link``/``info`` are indexes counting the null section as 0."""

    name: str
    type: int
    data: bytes = b""
    flags: int = 0
    link: int = 0
    info: int = 0
    align: int = 8
    entsize: int = 0
    size: int | None = None  # for SHT_NOBITS


def strtab(names: list[str]) -> tuple[bytes, dict[str, int]]:
    """A string table holding ``names`` and the offset of each."""
    blob, offsets = bytearray(b"\0"), {"": 0}
    for name in names:
        if name not in offsets:
            offsets[name] = len(blob)
            blob += name.encode() + b"\0"
    return bytes(blob), offsets


def symtab(
    syms: list[tuple[str, int, int, int, int, int, int]], byteorder: str = "little"
) -> tuple[bytes, bytes]:
    """(symtab, strtab) for ``(name, value, size, type, bind, other, shndx)`` rows."""
    strings, offsets = strtab([s[0] for s in syms])
    fmt = struct.Struct(_ORDER[byteorder] + "IBBHQQ")
    rows = [fmt.pack(0, 0, 0, 0, 0, 0)]
    rows += [fmt.pack(offsets[n], (b << 4) | t, o, x, v, z) for n, v, z, t, b, o, x in syms]
    return b"".join(rows), strings


def relocs(rows: list[tuple[int, int, int, int]], byteorder: str = "little") -> bytes:
    """SHT_RELA contents for ``(offset, sym, type, addend)`` rows."""
    fmt = struct.Struct(_ORDER[byteorder] + "QQq")
    return b"".join(fmt.pack(o, (s << 32) | t, a) for o, s, t, a in rows)


def rels(rows: list[tuple[int, int, int]], byteorder: str = "little") -> bytes:
    """SHT_REL contents for ``(offset, sym, type)`` rows."""
    fmt = struct.Struct(_ORDER[byteorder] + "QQ")
    return b"".join(fmt.pack(o, (s << 32) | t) for o, s, t in rows)


def build_elf(
    sections: list[Sec],
    *,
    byteorder: str = "little",
    machine: int = 247,
    extended: bool = False,
) -> bytes:
    """An ELF64 relocatable object with ``sections`` after the null one, then ``.shstrtab``.

    ``extended`` writes the section count and the name table's index the way files with
    65280+ sections must: in section 0's ``sh_size``/``sh_link``, with ``e_shnum`` 0 and
    ``e_shstrndx`` ``SHN_XINDEX``.
    """
    order = _ORDER[byteorder]
    shstrndx = len(sections) + 1
    names, offsets = strtab([s.name for s in sections] + [".shstrtab"])
    secs = [*sections, Sec(".shstrtab", SHT.STRTAB, names, align=1)]
    out = bytearray(64)
    placed = []
    for sec in secs:
        out += b"\0" * (-len(out) % 8)
        placed.append(len(out))
        if sec.type != SHT.NOBITS:
            out += sec.data
    out += b"\0" * (-len(out) % 8)
    shoff = len(out)
    shdr = struct.Struct(order + "IIQQQQIIQQ")
    count = len(secs) + 1
    out += shdr.pack(0, 0, 0, 0, 0, count if extended else 0, shstrndx if extended else 0, 0, 0, 0)
    for sec, off in zip(secs, placed, strict=True):
        size = sec.size if sec.size is not None else len(sec.data)
        out += shdr.pack(
            offsets[sec.name], sec.type, sec.flags, 0, off, size, sec.link, sec.info,
            sec.align, sec.entsize,
        )  # fmt: skip
    ident = b"\x7fELF" + bytes([2, 1 if byteorder == "little" else 2, 1]) + bytes(9)
    struct.pack_into(
        order + "16sHHIQQQIHHHHHH", out, 0, ident, 1, machine, 1, 0, 0, shoff, 0, 64, 0, 0,
        64, 0 if extended else count, 0xFFFF if extended else shstrndx,
    )  # fmt: skip
    return bytes(out)


def synthetic(byteorder: str, *, machine: int = 247, extended: bool = False) -> bytes:
    """.text, .data, .symtab (with an SHN_XINDEX symbol), .strtab, .symtab_shndx,
    .rela.text and .bss (NOBITS)."""
    syms, strings = symtab(
        [("f", 0, 16, STT.FUNC, STB.LOCAL, 0, 1), ("", 0, 0, STT.SECTION, STB.LOCAL, 0, 1),
         ("d", 8, 8, STT.OBJECT, STB.GLOBAL, STV.HIDDEN, SHN.XINDEX),
         ("abs", 5, 0, STT.NOTYPE, STB.GLOBAL, 0, SHN.ABS)],
        byteorder,
    )  # fmt: skip
    order = "<" if byteorder == "little" else ">"
    shndx = struct.pack(order + "5I", 0, 0, 0, 2, 0)
    rela = relocs([(8, 1, 1, -4), (16, 3, 10, 0x100), (24, 0, 2, 7)], byteorder)
    return build_elf(
        [Sec(".text", SHT.PROGBITS, bytes(32), flags=SHF.ALLOC | SHF.EXECINSTR),
         Sec(".data", SHT.PROGBITS, bytes(16), flags=SHF.ALLOC | SHF.WRITE),
         Sec(".symtab", SHT.SYMTAB, syms, link=4, info=3, entsize=24),
         Sec(".strtab", SHT.STRTAB, strings, align=1),
         Sec(".symtab_shndx", SHT.SYMTAB_SHNDX, shndx, link=3, entsize=4, align=4),
         Sec(".rela.text", SHT.RELA, rela, link=3, info=1, entsize=24, flags=SHF.INFO_LINK),
         Sec(".bss", SHT.NOBITS, flags=SHF.ALLOC | SHF.WRITE, size=4096)],
        byteorder=byteorder, machine=machine, extended=extended,
    )  # fmt: skip


# -- readelf output -> numbers -----------------------------------------------------------

_FLAG_BITS = {
    "W": 0x1, "A": 0x2, "X": 0x4, "M": 0x10, "S": 0x20, "I": 0x40, "L": 0x80, "O": 0x100,
    "G": 0x200, "T": 0x400, "C": 0x800, "E": 0x80000000,
}  # fmt: skip
KNOWN_FLAGS = sum(_FLAG_BITS.values())
_SHT_SPELLINGS = {m.name: int(m) for m in SHT} | {
    "SYMTAB SECTION INDICES": 18,  # binutils
    "VERDEF": 0x6FFFFFFD,
    "VERNEED": 0x6FFFFFFE,
    "VERSYM": 0x6FFFFFFF,
    "GNU_HASH": 0x6FFFFFF6,
}
_STT_SPELLINGS = {m.name: int(m) for m in STT} | {"IFUNC": 10}
_STB_SPELLINGS = {"LOCAL": 0, "GLOBAL": 1, "WEAK": 2, "UNIQUE": 10}
_STV_SPELLINGS = {"DEFAULT": 0, "INTERNAL": 1, "HIDDEN": 2, "PROTECTED": 3}
_NDX_SPELLINGS = {"UND": 0, "ABS": 0xFFF1, "COM": 0xFFF2}

_SECTION_RE = re.compile(
    r"^\s*\[\s*(\d+)\]\s(.*?)\s*(SYMTAB SECTION INDICES|\S+)\s+([0-9a-f]{16})\s+([0-9a-f]+)"
    r"\s+([0-9a-f]+)\s+([0-9a-f]+)\s+([A-Za-z]*)\s+(\d+)\s+(\d+)\s+(\d+)$"
)
_SYMBOL_RE = re.compile(r"^\s*(\d+):\s+([0-9a-f]+)\s+(\S+)\s+(\S+)\s+(\S+)\s+(\S+)\s+(\S+)\s?(.*)$")
_RELOC_RE = re.compile(
    r"^([0-9a-f]{16})\s+([0-9a-f]{16})\s+(\S+)"
    r"(?:\s+([0-9a-f]{16})\s(.*?)(?:\s([+-])\s([0-9a-f]+))?|\s+([0-9a-f]+))?\s*$"
)


@dataclass
class Dump:
    """What ``readelf -S -s -r`` shows, as numbers (names as text)."""

    sections: list[tuple[Any, ...]] = field(default_factory=list)
    symbols: dict[str, list[tuple[Any, ...]]] = field(default_factory=dict)
    relocations: dict[str, list[tuple[Any, ...]]] = field(default_factory=dict)


def run_readelf(tool: str, path: str) -> str:
    """``tool -S -s -r --wide path`` as text."""
    args = [tool, "-S", "-s", "-r", "--wide", path]
    return subprocess.run(args, capture_output=True, text=True, check=True).stdout


def parse_readelf(text: str) -> Dump:
    """Parse ``readelf -S -s -r --wide`` output (GNU or LLVM) into a :class:`Dump`."""
    out = Dump()
    rows: list[tuple[Any, ...]] = []
    parse_row = None
    for line in text.splitlines():
        if m := re.match(r"Symbol table '(.*)' contains", line):
            rows, parse_row = out.symbols.setdefault(m[1], []), _symbol_row
        elif m := re.match(r"Relocation section '(.*)' at offset", line):
            rows, parse_row = out.relocations.setdefault(m[1], []), _reloc_row
        elif m := _SECTION_RE.match(line):
            out.sections.append(_section_row(m))
        elif parse_row is not None and (row := parse_row(line)) is not None:
            rows.append(row)
    return out


def _section_row(m: re.Match[str]) -> tuple[Any, ...]:
    idx, name, typ, addr, off, size, es, flags, lk, inf, al = m.groups()
    loos = typ.startswith("LOOS+")  # binutils spells LLVM's types as offsets from SHT_LOOS
    kind = 0x60000000 + int(typ[5:], 16) if loos else _SHT_SPELLINGS[typ]
    bits = sum(_FLAG_BITS.get(ch, 0) for ch in flags)
    return (
        int(idx), name, kind, int(addr, 16), int(off, 16), int(size, 16), int(es, 16), bits,
        int(lk), int(inf), int(al),
    )  # fmt: skip


def _symbol_row(line: str) -> tuple[Any, ...] | None:
    m = _SYMBOL_RE.match(line)
    if m is None:
        return None
    num, value, size, typ, bind, vis, ndx, name = m.groups()
    shndx = _NDX_SPELLINGS[ndx] if ndx in _NDX_SPELLINGS else int(ndx)
    return (
        int(num), int(value, 16), int(size, 0), _STT_SPELLINGS[typ], _STB_SPELLINGS[bind],
        _STV_SPELLINGS[vis], shndx, name.strip(),
    )  # fmt: skip


def _reloc_row(line: str) -> tuple[Any, ...] | None:
    m = _RELOC_RE.match(line)
    if m is None:
        return None
    off, info, kind, value, name, sign, addend, bare = m.groups()
    if bare is not None:  # no symbol: the addend alone
        addend = bare
    signed = 0 if addend is None else int(addend, 16) * (-1 if sign == "-" else 1)
    return (
        int(off, 16), int(info, 16), kind, None if value is None else int(value, 16),
        (name or "").strip(), signed,
    )  # fmt: skip


# -- pybpf.elf -> the same numbers -------------------------------------------------------


def display_name(elf: ELFFile, sym: Any) -> str:
    """The name readelf shows for ``sym``: a section symbol shows its section's name."""
    if sym.type == STT.SECTION and not sym.name and 0 < sym.shndx < elf.num_sections():
        return str(elf.get_section(sym.shndx).name)
    return str(sym.name)


def dump(elf: ELFFile) -> Dump:
    """Render ``elf`` as :func:`parse_readelf` reads readelf (relocation types by number)."""
    out = Dump()
    for s in elf.iter_sections():
        out.sections.append(
            (s.index, s.name, int(s.type), s.addr, s.offset, s.size, s.entsize,
             s.flags & KNOWN_FLAGS, s.link, s.info, s.addralign)
        )  # fmt: skip
    for sec in elf.iter_sections(SHT.SYMTAB):
        out.symbols[sec.name] = [
            (sym.index, sym.value, sym.size, int(sym.type), int(sym.bind), int(sym.visibility),
             int(sym.shndx), display_name(elf, sym))
            for sym in elf.symbols
        ]  # fmt: skip
    for sec in elf.iter_sections():
        if sec.type in (SHT.REL, SHT.RELA):
            out.relocations[sec.name] = [
                (r.offset, (r.sym_index << 32) | int(r.type), getattr(r.type, "name", None),
                 r.symbol.value, display_name(elf, r.symbol), r.addend, r.sym_index)
                for r in elf.relocation_entries(sec)
            ]  # fmt: skip
    return out


def compare(ours: Dump, theirs: Dump, *, llvm: bool) -> None:
    """Assert that ``ours`` (from :func:`dump`) shows what readelf showed in ``theirs``.

    ``llvm``: the text came from llvm-readelf, which spells relocation types as LLVM does
    (and as :class:`R_BPF` members are named), so the spellings are compared too.
    """
    assert [_masked(r) for r in theirs.sections] == ours.sections
    assert theirs.symbols == ours.symbols
    assert theirs.relocations.keys() == ours.relocations.keys()
    for name, rows in theirs.relocations.items():
        mine = ours.relocations[name]
        assert len(rows) == len(mine), name
        for (off, info, kind, value, sym, addend), row in zip(rows, mine, strict=True):
            assert (off, info, addend) == (row[0], row[1], row[5]), (name, off)
            if row[6]:  # readelf leaves value and name blank for symbol 0
                assert (value, sym) == (row[3], row[4]), (name, off)
            if llvm and row[2] is not None:
                assert kind == row[2], (name, off)


def _masked(row: tuple[Any, ...]) -> tuple[Any, ...]:
    return (*row[:7], row[7] & KNOWN_FLAGS, *row[8:])


# -- every access path, for fuzzing ------------------------------------------------------


def touch_everything(data: bytes) -> int:
    """Open ``data`` and use every accessor; swallow only ELFError. Returns how many worked."""
    try:
        elf = ELFFile(data, name="fuzz.o")
    except ELFError:
        return 0
    ok = 0
    for probe in (_header, _sections, _symbols, _relocations, _lookups):
        try:
            probe(elf)
            ok += 1
        except ELFError:
            pass
    return ok


def _header(elf: ELFFile) -> None:
    repr(elf)
    assert elf.byteorder in ("little", "big")
    int(elf.machine), int(elf.type), int(elf.flags)
    elf.num_sections()


def _sections(elf: ELFFile) -> None:
    for sec in elf.iter_sections():
        try:
            assert len(bytes(sec.data)) == (0 if sec.type == SHT.NOBITS else sec.size)
            if sec.type == SHT.STRTAB and sec.size:
                elf.string_at(sec, sec.size - 1)
                elf.string_at(sec, 1)
        except ELFError:
            pass


def _symbols(elf: ELFFile) -> None:
    for sym in elf.iter_symbols():
        assert elf.get_symbol_by_name(sym.name) is not None


def _relocations(elf: ELFFile) -> None:
    for sec in elf.iter_sections():
        try:
            for rel in elf.relocations(sec):
                assert rel.symbol.index == rel.sym_index
            elf.relocation_sections(sec)
            if sec.type in (SHT.REL, SHT.RELA):
                elf.relocation_entries(sec)
        except ELFError:
            pass


def _lookups(elf: ELFFile) -> None:
    for sec in elf.iter_sections():
        assert elf.get_section_by_name(sec.name) is not None
    for bad in (-1, elf.num_sections()):
        try:
            elf.get_section(bad)
            raise AssertionError(f"get_section({bad}) did not raise")
        except ELFError:
            pass
