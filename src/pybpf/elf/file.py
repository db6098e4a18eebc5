""":class:`ELFFile`: a sans-I/O, lazy reader of ELF64 objects in either byte order.

Only the 64-byte header is parsed when the file is opened. The section header table, names,
symbol tables and relocations are decoded on first use and cached; section contents are
zero-copy slices of the input, bounds-checked when read. Every malformed input raises
:class:`~pybpf.errors.ELFError` naming the section (when known) and the file offset, and no
table is allocated before its extent is checked against the input's size.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from functools import cached_property

from pybpf.elf._layout import (
    EHDR,
    EI_CLASS,
    EI_DATA,
    ELFCLASS64,
    ELFDATA2LSB,
    ELFDATA2MSB,
    ELFMAG,
    EM,
    ET,
    R_BPF,
    REL,
    RELA,
    SHDR,
    SHN,
    SHT,
    SYM,
    WORD,
    ByteOrder,
    Layout,
)
from pybpf.elf._tables import StringTable, read_relocations, read_symbols, where
from pybpf.elf.records import FileView, Relocation, Section, Symbol, new_section
from pybpf.errors import ELFError, Location

__all__ = ["ELFFile"]

_SHT = {m.value: m for m in SHT}
_EM = {m.value: m for m in EM}
_ET = {m.value: m for m in ET}
_R_BPF: dict[int, int] = {m.value: m for m in R_BPF}
_BPF_MACHINES = (EM.BPF, EM.NONE)  # old LLVM wrote EM_NONE; libbpf accepts both
_SYMBOL_TABLES = (SHT.SYMTAB, SHT.DYNSYM)
_RELOC_LAYOUTS: dict[int, Layout] = {SHT.REL: REL, SHT.RELA: RELA}


class ELFFile:
    """A parsed view of one ELF64 object (``bytes``, ``bytearray`` or ``memoryview``).

    Example::

        elf = ELFFile.from_path("prog.bpf.o")
        text = elf.get_section_by_name("xdp")
        for rel in elf.relocations(text):
            print(rel.offset, rel.type.name, rel.symbol.name)

    Args:
        data: the whole object file. It is not copied; keep it unchanged while in use.
        name: the file's name, used in error messages.
        any_machine: accept any ``e_machine`` (to read ``.BTF`` out of a vmlinux or kernel
            module, say). By default only eBPF objects (``EM_BPF``, or ``EM_NONE`` as old
            LLVM wrote) are accepted.

    Raises:
        ELFError: the header is truncated, not ELF, not 64-bit, of an unknown byte order,
            or (by default) not for eBPF. Everything else is checked when first used.
    """

    def __init__(
        self,
        data: bytes | bytearray | memoryview,
        name: str | None = None,
        *,
        any_machine: bool = False,
    ) -> None:
        view = memoryview(data).cast("B").toreadonly()
        self.name = name
        self._view = view
        self._file = FileView(view)
        self.byteorder: ByteOrder = self._byte_order(view)
        self._header: tuple[int, ...] = EHDR.struct(self.byteorder).unpack_from(view)[1:]
        self._check_machine(any_machine)
        self._strtabs: dict[int, StringTable] = {}
        self._symtabs: dict[int, list[Symbol]] = {}
        self._relocs: dict[int, list[Relocation]] = {}  # by target section
        self._rel_entries: dict[int, list[Relocation]] = {}  # by relocation section
        # Bytes of tables decoded so far. Sections of a sound file do not overlap, so their
        # tables add up to less than the file; a crafted file that points many sections at
        # the same bytes would otherwise cost memory quadratic in its size.
        self._decoded = 0

    @classmethod
    def from_path(cls, path: str | os.PathLike[str], *, any_machine: bool = False) -> ELFFile:
        """Read the file at ``path`` and parse it (the one I/O entry point).

        Raises:
            OSError: the file cannot be read.
            ELFError: as for the constructor.
        """
        with open(path, "rb") as f:  # not pathlib: importing it costs more than reading
            data = f.read()
        return cls(data, name=os.fspath(path), any_machine=any_machine)

    def __repr__(self) -> str:
        machine = getattr(self.machine, "name", self.machine)
        return f"<ELFFile {self.name or '(bytes)'} {self.byteorder}-endian {machine}>"

    # -- header --------------------------------------------------------------------------
    def _error(self, reason: str, offset: int | None = None) -> ELFError:
        return ELFError(reason, Location(self.name, offset=offset))

    def _byte_order(self, view: memoryview) -> ByteOrder:
        """Check ``e_ident`` (magic, 64-bit class) and return its byte order."""
        if len(view) < EHDR.size:
            raise self._error(f"truncated ELF header ({len(view)} of {EHDR.size} bytes)", 0)
        ident = bytes(view[:16])
        if ident[:4] != ELFMAG:
            raise self._error(f"not an ELF file (magic {ident[:4].hex()})", 0)
        if ident[EI_CLASS] != ELFCLASS64:
            raise self._error(f"not a 64-bit ELF file (EI_CLASS {ident[EI_CLASS]})", EI_CLASS)
        if ident[EI_DATA] == ELFDATA2LSB:
            return "little"
        if ident[EI_DATA] == ELFDATA2MSB:
            return "big"
        raise self._error(f"unknown byte order (EI_DATA {ident[EI_DATA]})", EI_DATA)

    def _check_machine(self, any_machine: bool) -> None:
        machine = self._header[1]
        if not any_machine and machine not in _BPF_MACHINES:
            known = _EM.get(machine)
            what = f" ({known.name})" if known else ""
            raise self._error(
                f"e_machine {machine}{what} is not eBPF (EM_BPF = 247); "
                "pass any_machine=True to read it anyway",
                EHDR.offset("e_machine"),
            )

    @property
    def type(self) -> ET | int:
        """``e_type``: :attr:`ET.REL` for an eBPF object."""
        return _ET.get(self._header[0], self._header[0])

    @property
    def machine(self) -> EM | int:
        """``e_machine``: :attr:`EM.BPF` (or :attr:`EM.NONE`) for an eBPF object."""
        return _EM.get(self._header[1], self._header[1])

    @property
    def flags(self) -> int:
        """``e_flags`` (0 for eBPF objects)."""
        return self._header[6]

    @property
    def is_bpf(self) -> bool:
        """True when ``e_machine`` says eBPF (``EM_BPF``, or ``EM_NONE`` from old LLVM)."""
        return self._header[1] in _BPF_MACHINES

    # -- sections ------------------------------------------------------------------------
    def _section_rows(self) -> tuple[list[tuple[int, ...]], int]:
        """The raw section header rows and the resolved ``e_shstrndx``."""
        (_, _, _, _, _, shoff, _, _, _, _, shentsize, shnum, shstrndx) = self._header
        if shoff == 0:
            if shnum:
                raise self._error(
                    f"e_shnum is {shnum} but there is no section table (e_shoff 0)",
                    EHDR.offset("e_shnum"),
                )
            return [], 0
        if shentsize != SHDR.size:
            raise self._error(
                f"e_shentsize is {shentsize}, not {SHDR.size}", EHDR.offset("e_shentsize")
            )
        shdr = SHDR.struct(self.byteorder)
        if shoff + SHDR.size > len(self._view):
            raise self._error("section header table starts past the end of the file", shoff)
        first = shdr.unpack_from(self._view, shoff)
        if shnum == 0:  # extended numbering: the count is in section 0's sh_size
            shnum = first[5]
        if shstrndx == SHN.XINDEX:  # ... and the name table's index in its sh_link
            shstrndx = first[6]
        end = shoff + shnum * SHDR.size
        if end > len(self._view):
            raise self._error(
                f"section header table ({shnum} entries) runs past the end of the file", shoff
            )
        if shstrndx >= max(shnum, 1):
            raise self._error(
                f"e_shstrndx {shstrndx} is not a section (of {shnum})", EHDR.offset("e_shstrndx")
            )
        return list(shdr.iter_unpack(self._view[shoff:end])), shstrndx

    @cached_property
    def _sections(self) -> tuple[Section, ...]:
        rows, shstrndx = self._section_rows()
        names = self._section_names(rows, shstrndx)
        file = self._file
        return tuple(
            new_section(names[i], i, _SHT.get(t, t), fl, ad, off, sz, lk, inf, al, es, file)
            for i, (_, t, fl, ad, off, sz, lk, inf, al, es) in enumerate(rows)
        )

    def _section_names(self, rows: list[tuple[int, ...]], shstrndx: int) -> list[str]:
        if shstrndx == SHN.UNDEF:
            return [""] * len(rows)
        (_, kind, _, _, off, size, *_) = rows[shstrndx]
        label = f"section {shstrndx} (section names)"
        sec = Section(label, shstrndx, kind, 0, 0, off, size, 0, 0, 0, 0, self._file)
        return StringTable(bytes(sec.data), sec).names([row[0] for row in rows])

    def num_sections(self) -> int:
        """How many sections the file has (extended numbering resolved; 0 included)."""
        return len(self._sections)

    def iter_sections(self, type: SHT | int | None = None) -> Iterator[Section]:
        """The sections in index order, optionally only those of one ``type``."""
        if type is None:
            return iter(self._sections)
        return (s for s in self._sections if s.type == type)

    def get_section(self, index: int) -> Section:
        """The section at ``index``.

        Raises:
            ELFError: there is no section ``index``.
        """
        sections = self._sections
        if not 0 <= index < len(sections):
            raise self._error(f"no section {index} (the file has {len(sections)})")
        return sections[index]

    def get_section_by_name(self, name: str) -> Section | None:
        """The first section called ``name``, or ``None``."""
        return self._sections_by_name.get(name)

    @cached_property
    def _sections_by_name(self) -> dict[str, Section]:
        found: dict[str, Section] = {}
        for sec in self._sections:
            found.setdefault(sec.name, sec)
        return found

    # -- strings -------------------------------------------------------------------------
    def string_at(self, section: Section | int, offset: int) -> str:
        """The NUL-terminated string at ``offset`` in the string table ``section``.

        Raises:
            ELFError: ``section`` is not a string table, or ``offset`` is outside it or
                starts an unterminated or non-UTF-8 string.
        """
        sec = self._resolve(section)
        return self._string_table(sec.index, sec).at(offset)

    def _string_table(self, index: int, user: Section) -> StringTable:
        table = self._strtabs.get(index)
        if table is None:
            sec = self._linked(user, index, (SHT.STRTAB,), "string table")
            table = self._strtabs[index] = StringTable(bytes(self._table_data(sec)), sec)
        return table

    def _resolve(self, section: Section | int) -> Section:
        return self.get_section(section if isinstance(section, int) else section.index)

    def _linked(self, user: Section, index: int, types: tuple[SHT, ...], what: str) -> Section:
        """Section ``index``, which ``user`` links to and which must be a ``what``."""
        sections = self._sections
        if not 0 <= index < len(sections) or sections[index].type not in types:
            raise ELFError(f"sh_link {index} is not a {what}", where(user))
        return sections[index]

    # -- symbols -------------------------------------------------------------------------
    @cached_property
    def symbols(self) -> list[Symbol]:
        """The ``.symtab`` entries in table order (index 0, the null symbol, included).

        Empty when the file has no ``SHT_SYMTAB`` section.

        Raises:
            ELFError: the table or its string table is out of bounds or malformed.
        """
        symtab = next(self.iter_sections(SHT.SYMTAB), None)
        return [] if symtab is None else self._symbol_table(symtab.index, symtab)

    def iter_symbols(self) -> Iterator[Symbol]:
        """The ``.symtab`` entries in table order."""
        return iter(self.symbols)

    def get_symbol_by_name(self, name: str) -> Symbol | None:
        """The first ``.symtab`` entry called ``name`` (table order), or ``None``."""
        return self._symbols_by_name.get(name)

    @cached_property
    def _symbols_by_name(self) -> dict[str, Symbol]:
        found: dict[str, Symbol] = {}
        for sym in self.symbols:
            found.setdefault(sym.name, sym)
        return found

    def _symbol_table(self, index: int, user: Section) -> list[Symbol]:
        table = self._symtabs.get(index)
        if table is None:
            sec = self._linked(user, index, _SYMBOL_TABLES, "symbol table")
            strings = self._string_table(sec.link, sec)
            data = self._entries(sec, SYM)
            table = read_symbols(data, SYM.struct(self.byteorder), strings, sec, self._xindex)
            self._symtabs[index] = table
        return table

    def _xindex(self, symtab: Section) -> list[int]:
        """The ``SHT_SYMTAB_SHNDX`` words that extend ``symtab``'s ``st_shndx`` fields."""
        for sec in self.iter_sections(SHT.SYMTAB_SHNDX):
            if sec.link == symtab.index:
                data = self._table_data(sec)
                whole = data[: len(data) - len(data) % WORD.size]
                return [word for (word,) in WORD.struct(self.byteorder).iter_unpack(whole)]
        raise ELFError(
            "a symbol uses SHN_XINDEX but no SHT_SYMTAB_SHNDX section extends this table",
            where(symtab),
        )

    # -- relocations ---------------------------------------------------------------------
    def relocations(self, section: Section | int) -> list[Relocation]:
        """The relocations that apply to ``section`` (from every ``SHT_REL``/``SHT_RELA``
        section whose ``sh_info`` is its index), in file order. Cached: do not modify it.

        Raises:
            ELFError: ``section`` does not exist, or a relocation section is malformed (bad
                bounds or entry size, a symbol index outside its symbol table).
        """
        target = self._resolve(section).index
        found = self._relocs.get(target)
        if found is None:
            found = []
            for rsec in self._reloc_sections.get(target, ()):
                found += self.relocation_entries(rsec)
            self._relocs[target] = found
        return found

    def relocation_sections(self, section: Section | int) -> list[Section]:
        """The ``SHT_REL``/``SHT_RELA`` sections that apply to ``section``, in index order."""
        return list(self._reloc_sections.get(self._resolve(section).index, ()))

    def relocation_entries(self, rel_section: Section | int) -> list[Relocation]:
        """The entries of one ``SHT_REL``/``SHT_RELA`` section. Cached: do not modify it.

        Raises:
            ELFError: it is not a relocation section, or it is malformed.
        """
        rsec = self._resolve(rel_section)
        found = self._rel_entries.get(rsec.index)
        if found is None:
            layout = _RELOC_LAYOUTS.get(rsec.type)
            if layout is None:
                raise ELFError("not a SHT_REL or SHT_RELA section", where(rsec))
            symbols = self._symbol_table(rsec.link, rsec)
            found = read_relocations(
                self._entries(rsec, layout),
                layout.struct(self.byteorder),
                rela=layout is RELA,
                symbols=symbols,
                types=_R_BPF if self.is_bpf else {},
                sec=rsec,
            )
            self._rel_entries[rsec.index] = found
        return found

    @cached_property
    def _reloc_sections(self) -> dict[int, list[Section]]:
        by_target: dict[int, list[Section]] = {}
        for sec in self._sections:
            if sec.type in _RELOC_LAYOUTS:
                by_target.setdefault(sec.info, []).append(sec)
        return by_target

    def _table_data(self, sec: Section) -> memoryview:
        """``sec``'s contents, to be decoded into a table (counted against the file's size).

        Raises:
            ELFError: the contents are out of bounds, or the tables decoded so far overlap so
                much that they add up to more than twice the file.
        """
        data = sec.data
        self._decoded += len(data)
        if self._decoded > 2 * len(self._view):
            raise ELFError(
                "tables overlap: decoding this one would read more than twice the file's bytes",
                where(sec),
            )
        return data

    def _entries(self, sec: Section, layout: Layout) -> memoryview:
        """``sec``'s contents, checked to be whole ``layout`` records."""
        if sec.entsize not in (0, layout.size):
            raise ELFError(f"sh_entsize is {sec.entsize}, not {layout.size}", where(sec))
        data = self._table_data(sec)
        if len(data) % layout.size:
            raise ELFError(f"size {len(data):#x} is not a multiple of {layout.size}", where(sec))
        return data
