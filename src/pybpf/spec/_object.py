"""What the loader knows about one object file: its sections sorted by role, symbols, BTF.

The roles follow libbpf's ``bpf_object__elf_collect`` (src/libbpf.c): which sections hold
programs, global data, map definitions, the license and version, BTF; which relocation
sections matter. Everything else (DWARF, string tables, ``.llvm_addrsig``, sections no role
claims) is ignored, as libbpf ignores it.
"""

from __future__ import annotations

import enum
import os
from functools import cached_property

from pybpf.btf._btf import BTF
from pybpf.btf.kinds import Kind
from pybpf.btf.types import Datasec
from pybpf.elf import SHF, SHN, SHT, STB, STT, ELFFile, Section, Symbol
from pybpf.errors import BTFError, ELFError, Location

__all__ = ["ObjectFile", "Role", "object_name"]

SHT_LLVM_ADDRSIG = 0x6FFF4C03
BPF_OBJ_NAME_LEN = 16


class Role(enum.Enum):
    """What a section is to the loader."""

    PROGRAMS = "programs"  # executable: programs (and, in .text, subprograms)
    DATA = "data"  # .data, .data.*
    RODATA = "rodata"  # .rodata, .rodata.*
    BSS = "bss"  # .bss, .bss.* (SHT_NOBITS)
    MAPS = "maps"  # .maps: BTF-defined maps
    LEGACY_MAPS = "legacy_maps"  # maps: struct bpf_map_def records
    STRUCT_OPS = "struct_ops"  # .struct_ops, .struct_ops.link
    ARENA = "arena"  # .addr_space.1: __arena globals
    LICENSE = "license"
    VERSION = "version"


_STRUCT_OPS = (".struct_ops", ".struct_ops.link", "?.struct_ops", "?.struct_ops.link")
_ARENA = ".addr_space.1"
_DATA_ROLES = (Role.DATA, Role.RODATA, Role.BSS)


def object_name(path: str | None) -> str:
    """libbpf's object name: the file's base name up to its first dot, at most 15 bytes."""
    if not path:
        return ""
    base = os.path.basename(path)
    return base.split(".", 1)[0].encode()[: BPF_OBJ_NAME_LEN - 1].decode("utf-8", "ignore")


def _ignored(sec: Section) -> bool:
    """libbpf's ``ignore_elf_section``."""
    name = sec.name
    if sec.type in (SHT.STRTAB, SHT_LLVM_ADDRSIG):
        return True
    if sec.type == SHT.PROGBITS and sec.size == 0 and name == ".text":
        return True
    if name.startswith(".debug_"):
        return True
    if name.startswith(".rel"):
        rest = name[4:]
        return rest.startswith(".debug_") or rest in (".BTF", ".BTF.ext")
    return False


def _is_prefixed(name: str, stem: str) -> bool:
    return name == stem or name.startswith(stem + ".")


class ObjectFile:
    """One object being read: the ELF file, the sections by role, the symbols, the BTF.

    Raises:
        ELFError: a malformed ELF file, no symbol table, a ``.BTF`` that is not PROGBITS.
        BTFError: a malformed ``.BTF`` section.
    """

    def __init__(self, data: bytes, path: str | None, name: str | None) -> None:
        self.path = path
        self.source = path or name or "(bytes)"
        self.elf = ELFFile(data, name=self.source)
        self.name = object_name(name if name is not None else path)
        self.byteorder = self.elf.byteorder
        self.roles: dict[int, Role] = {}
        self.reloc_sections: list[Section] = []
        self.btf_section: Section | None = None
        self.ext_section: Section | None = None
        self._collect()

    def error(self, reason: str, sec: Section | None = None, offset: int | None = None) -> ELFError:
        """An :class:`ELFError` about ``sec`` (and a byte offset in the file)."""
        where = self.source if sec is None else f"{self.source}: section {sec.name or sec.index}"
        return ELFError(reason, Location(where, offset=offset))

    # -- sections --------------------------------------------------------------------------
    def _collect(self) -> None:
        symtabs = list(self.elf.iter_sections(SHT.SYMTAB))
        if not symtabs:
            raise self.error("no symbol table (a stripped object?)")
        if len(symtabs) > 1:
            raise self.error("more than one symbol table", symtabs[1])
        for sec in self.elf.iter_sections():
            if sec.index and not _ignored(sec):
                self._classify(sec)

    def _classify(self, sec: Section) -> None:
        name, kind = sec.name, sec.type
        role = _NAMED.get(name)
        if role is not None:
            self.roles[sec.index] = role
        elif name in (".BTF", ".BTF.ext"):
            if kind != SHT.PROGBITS:
                raise self.error(f"{name} is not SHT_PROGBITS", sec, sec.offset)
            if name == ".BTF":
                self.btf_section = sec
            else:
                self.ext_section = sec
        elif kind == SHT.PROGBITS and sec.size > 0:
            self._classify_progbits(sec)
        elif kind == SHT.REL:
            self._classify_rel(sec)
        elif kind == SHT.NOBITS and _is_prefixed(name, ".bss"):
            self.roles[sec.index] = Role.BSS

    def _classify_progbits(self, sec: Section) -> None:
        name = sec.name
        if sec.flags & SHF.EXECINSTR:
            self.roles[sec.index] = Role.PROGRAMS
        elif _is_prefixed(name, ".data"):
            self.roles[sec.index] = Role.DATA
        elif _is_prefixed(name, ".rodata"):
            self.roles[sec.index] = Role.RODATA
        elif name in _STRUCT_OPS:
            self.roles[sec.index] = Role.STRUCT_OPS
        elif name == _ARENA:
            self.roles[sec.index] = Role.ARENA

    def _classify_rel(self, sec: Section) -> None:
        if sec.entsize != 16 or sec.info >= self.elf.num_sections():
            raise self.error(
                f"relocation section with sh_entsize {sec.entsize} for section {sec.info}",
                sec,
                sec.offset,
            )
        target = self.elf.get_section(sec.info)
        if target.flags & SHF.EXECINSTR or sec.name in _REL_KEPT:
            self.reloc_sections.append(sec)

    def sections(self, *roles: Role) -> list[Section]:
        """The sections of these roles, in index order."""
        return [self.elf.get_section(i) for i, r in sorted(self.roles.items()) if r in roles]

    def section_named(self, role: Role) -> Section | None:
        """The first section of a role that only one section can have (license, .maps ...)."""
        found = self.sections(role)
        return found[0] if found else None

    def is_data(self, index: int) -> bool:
        """Whether section ``index`` is global data that becomes a map (non-empty)."""
        if self.roles.get(index) not in _DATA_ROLES:
            return False
        return self.elf.get_section(index).size > 0

    def role(self, index: int) -> Role | None:
        return self.roles.get(index)

    # -- symbols ---------------------------------------------------------------------------
    @cached_property
    def symbols(self) -> list[Symbol]:
        return self.elf.symbols

    @cached_property
    def object_symbols(self) -> dict[str, Symbol]:
        """Global/weak ``STT_OBJECT`` symbols by name: where libbpf looks variables up."""
        found: dict[str, Symbol] = {}
        for sym in self.symbols:
            if sym.type == STT.OBJECT and sym.bind in (STB.GLOBAL, STB.WEAK):
                found.setdefault(sym.name, sym)
        return found

    def section_name(self, index: int) -> str:
        if 0 < index < self.elf.num_sections():
            return self.elf.get_section(index).name
        return f"#{index:#x}"

    def check_symbol_section(self, sym: Symbol, sec: Section) -> None:
        """Refuse a symbol whose section index is neither a section nor ``SHN_UNDEF``."""
        if sym.shndx != SHN.UNDEF and sym.shndx >= self.elf.num_sections():
            raise self.error(
                f"symbol #{sym.index} {sym.name!r} points at section {sym.shndx:#x}, "
                f"which does not exist",
                sec,
            )

    # -- BTF -------------------------------------------------------------------------------
    @cached_property
    def btf(self) -> BTF | None:
        """The object's ``.BTF``, or ``None`` when it has none.

        Raises:
            BTFError: the section is malformed (libbpf would drop BTF it does not need; a
                broken ``.BTF`` is refused here, so errors are not found later).
        """
        sec = self.btf_section
        if sec is None:
            return None
        return BTF(sec.data, name=f"{self.source}:.BTF", pointer_size=8)

    def datasec(self, name: str) -> tuple[int, Datasec] | None:
        """The first ``DATASEC`` called ``name`` and its id, or ``None``."""
        btf = self.btf
        if btf is None:
            return None
        ids = btf.find(name, Kind.DATASEC)
        if not ids:
            return None
        sec = btf[ids[0]]
        if not isinstance(sec, Datasec):  # unreachable: find() checked the kind
            raise BTFError(f"type [{ids[0]}] is not a DATASEC", Location(btf.source))
        return ids[0], sec

    def require_btf(self, what: str) -> BTF:
        """The BTF, or an error saying ``what`` needs it."""
        if self.btf is None:
            raise BTFError(
                f"{what} needs BTF, and the object has no .BTF section", Location(self.source)
            )
        return self.btf


_NAMED = {
    "license": Role.LICENSE,
    "version": Role.VERSION,
    "maps": Role.LEGACY_MAPS,
    ".maps": Role.MAPS,
}
_REL_KEPT = {".rel.maps"} | {".rel" + name for name in _STRUCT_OPS}
